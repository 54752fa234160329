package journal_test

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWarmRunning measures what starting a reader of the log costs
// once running totals are in it: a ReplayRange of the last message alone,
// which first warms its table with every running total stored in the
// lookback before it (here, all of them: the log is filled in seconds).
// The log holds `running` running totals (OTLP counters of 1,000 series,
// requests of 1,000 points) and as many ordinary samples, which the warm-up
// skips by subject. "before" is the same read on a log holding only the
// ordinary samples (what a start cost before running totals were kept in
// the log). It reports s/start, running totals warmed per second of wall
// time and per CPU-second of the process.
//
//	go test -run '^$' -bench BenchmarkWarmRunning -benchtime 5x ./journal/
func BenchmarkWarmRunning(b *testing.B) {
	for _, running := range []int{100_000, 1_000_000} {
		for _, withRunning := range []bool{false, true} {
			name := fmt.Sprintf("running=%d/before", running)
			if withRunning {
				name = fmt.Sprintf("running=%d/after", running)
			}
			b.Run(name, func(b *testing.B) {
				j := open(b, journal.Config{MaxBytes: 4 << 30})
				ctx := context.Background()
				start := time.Now().Add(-time.Hour)
				var last charts.Position
				for i := 0; i < running/1000; i++ {
					if withRunning {
						batch := make([]ingest.Sample, 1000)
						runs := make([]ingest.Running, 1000)
						for k := range batch {
							runs[k] = ingest.Running{Series: uint64(k), Start: start}
							batch[k] = ingest.Sample{Metric: "http.server.requests", Field: "value",
								Tags:  []ingest.Tag{tag("route", "/r/"+strconv.Itoa(k)), tag("service.name", "svc")},
								Value: float64(i * 10), Time: time.Now(), Running: &runs[k]}
						}
						accept(b, j, batch)
					}
					accept(b, j, benchBatch(1000, i, time.Now()))
				}
				_, last, err := j.Bounds(ctx)
				if err != nil {
					b.Fatal(err)
				}
				_ = last
				b.ResetTimer()
				cpu0 := cpuTime(b)
				for b.Loop() {
					n := 0
					err := j.ReplayRange(ctx, last.Seq-1, last.Seq, func(batch []ingest.Sample, _ charts.Position) error {
						n += len(batch)
						return nil
					})
					if err != nil || n != 1000 {
						b.Fatalf("%v, %d samples", err, n)
					}
				}
				cpu := cpuTime(b) - cpu0
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
				if withRunning {
					b.ReportMetric(float64(running)*float64(b.N)/b.Elapsed().Seconds(), "warmed/s")
					b.ReportMetric(float64(running)*float64(b.N)/cpu.Seconds(), "warmed/cpu-s")
				}
			})
		}
	}
}
