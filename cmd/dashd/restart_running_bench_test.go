package main

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// BenchmarkRestartRunning measures what running totals in the log cost a
// restart from a checkpoint: the time from New to /readyz answering 200
// for a dashd on disk whose log holds 1 M ordinary samples and `running`
// OTLP running totals (10,000 series, requests of 1,000 points), all
// stored within the lookback, started from the checkpoint a clean stop
// wrote, with one message of 1,000 samples after it. Such a start replays
// that message, after it has warmed the follower's table with every running total of the lookback before the
// checkpoint (the choice of a warm-up read over a table in the
// checkpoint); running=0 is the same start without them.
//
//	go test -run '^$' -bench BenchmarkRestartRunning -benchtime 3x -timeout 30m ./cmd/dashd/
func BenchmarkRestartRunning(b *testing.B) {
	for _, running := range []int{0, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("running=%s", label(running)), func(b *testing.B) {
			dir := b.TempDir()
			j, err := journal.Open(context.Background(), journal.Config{Dir: dir, MaxBytes: restartBytes})
			if err != nil {
				b.Fatal(err)
			}
			fillLog(b, j, 1_000_000, 0)
			start := time.Now().Add(-time.Hour)
			for i := 0; i < running/1000; i++ {
				batch := make([]ingest.Sample, 1000)
				runs := make([]ingest.Running, 1000)
				for k := range batch {
					s := (i*1000 + k) % 10_000
					runs[k] = ingest.Running{Series: uint64(s), Start: start}
					batch[k] = ingest.Sample{Metric: "http.server.requests", Field: "value",
						Tags:  []ingest.Tag{{Key: "route", Value: "/r/" + strconv.Itoa(s)}, {Key: "service.name", Value: "svc"}},
						Value: float64(i), Time: time.Now(), Running: &runs[k]}
				}
				if err := j.Accept(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
			_, _, stop := startTimed(b, dir, time.Hour, true) // its clean stop writes the checkpoint
			stop()
			// One message after the checkpoint: ready then waits for the
			// follower to deliver it, which it does once its table is warm.
			if j, err = journal.Open(context.Background(), journal.Config{Dir: dir, MaxBytes: restartBytes}); err != nil {
				b.Fatal(err)
			}
			if err := j.Accept(context.Background(), restartSamples(1000, 1<<20, time.Now())); err != nil {
				b.Fatal(err)
			}
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				_, took, stop := startTimed(b, dir, time.Hour, false) // no checkpoint at its stop
				total += took
				stop()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
			b.ReportMetric(0, "ns/op")
		})
	}
}
