package rewind_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/rewind"
)

// benchDashboard is a wall of four charts over one metric, each window an
// hour: every sample stored is inside every window at the moment shown.
func benchDashboard() charts.Dashboard {
	h := charts.Duration(time.Hour)
	d := charts.Dashboard{ID: "bench", Charts: []charts.Chart{
		{ID: "by-route", Metric: "req", X: "route", Series: "status", Agg: charts.Sum, Window: h, Type: charts.Stacked},
		{ID: "top-hosts", Metric: "req", X: "host", Agg: charts.Max, Window: h, Top: 10, Sort: charts.SortValue},
		{ID: "timeline", Metric: "req", X: charts.TimeAxis, Bucket: charts.Duration(time.Minute), Window: h, Series: "status", Agg: charts.Count},
		{ID: "avg-route", Metric: "req", X: "route", Agg: charts.Avg, Window: h},
	}}
	if err := d.Check(); err != nil {
		panic(err)
	}
	return d
}

// fillLog stores n samples spread over the last 50 minutes in messages of
// 5,000, through a board fed from the log that takes a checkpoint after
// the message at `checkpointAt` of the way (0: none). It returns the
// moment after the last message.
func fillLog(b *testing.B, j *journal.Journal, d charts.Dashboard, n int, checkpointAt float64) time.Time {
	b.Helper()
	ctx := context.Background()
	board := charts.NewBoard(charts.Config{}, &capture{})
	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = board.Run(bctx) })
	defer func() { cancel(); wg.Wait() }()
	if err := board.SetDashboards(ctx, []charts.Dashboard{d}); err != nil {
		b.Fatal(err)
	}
	wg.Go(func() { _ = j.Follow(bctx, board, journal.FollowConfig{}) })

	rng := rand.New(rand.NewPCG(uint64(n), 7))
	routes := make([]string, 50)
	for i := range routes {
		routes[i] = fmt.Sprintf("/route/%d", i)
	}
	start := time.Now().Add(-50 * time.Minute)
	const per = 5000
	msgs := (n + per - 1) / per
	cpMsg := int(float64(msgs) * checkpointAt)
	for m := range msgs {
		batch := make([]ingest.Sample, 0, per)
		for i := 0; i < per && m*per+i < n; i++ {
			k := m*per + i
			batch = append(batch, ingest.Sample{Metric: "req", Field: "value", Value: float64(rng.IntN(100)),
				Time: start.Add(time.Duration(k) * 50 * time.Minute / time.Duration(n)),
				Tags: []ingest.Tag{{Key: "host", Value: fmt.Sprintf("h%d", rng.IntN(200))}, {Key: "route", Value: routes[rng.IntN(len(routes))]}, {Key: "status", Value: []string{"200", "404", "500"}[rng.IntN(3)]}}})
		}
		if err := j.Accept(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if checkpointAt > 0 && m == cpMsg {
			for board.Stats().Applied < uint64((m+1)*per) {
				time.Sleep(time.Millisecond)
			}
			cp, err := board.Checkpoint(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := j.PutCheckpoint(ctx, cp); err != nil {
				b.Fatal(err)
			}
		}
	}
	time.Sleep(5 * time.Millisecond)
	return time.Now()
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMoment is the time to show a moment of a four-chart dashboard
// whose windows hold n samples: from a checkpoint taken 95% of the way
// (a short replay), and without one (the whole window replayed).
func BenchmarkMoment(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		for _, withCP := range []bool{true, false} {
			name := fmt.Sprintf("samples=%d/checkpoint=%v", n, withCP)
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				j, err := journal.Open(ctx, journal.Config{MaxBytes: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				d := benchDashboard()
				cpAt := 0.0
				if withCP {
					cpAt = 0.95
				}
				at := fillLog(b, j, d, n, cpAt)
				cfg := rewind.Config{Log: j, Replay: j}
				if withCP {
					cfg.Checkpoints = j
				}
				rw := rewind.New(cfg)
				set := rewind.Set{Key: d.ID, Charts: d.Charts}
				b.ReportAllocs()
				cpu0 := cpuTime(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					m, err := rw.Moment(ctx, set, at.Add(-time.Duration(i)*time.Nanosecond))
					if err != nil {
						b.Fatal(err)
					}
					if f, _ := m.Frame("by-route"); len(f.Categories) == 0 {
						b.Fatal("an empty frame")
					}
				}
				b.StopTimer()
				// The process's CPU (the embedded NATS server's included)
				// per moment: wall-clock time on a shared machine says
				// little; this says what a rewind costs.
				b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkMomentFiltered is a moment of eight charts of one metric, each
// filtered to one route (a dashboard per service or tenant), the whole
// window replayed: the cost of routing samples to views.
func BenchmarkMomentFiltered(b *testing.B) {
	h := charts.Duration(time.Hour)
	d := charts.Dashboard{ID: "filtered"}
	for i := range 8 {
		d.Charts = append(d.Charts, charts.Chart{ID: fmt.Sprintf("route-%d", i), Metric: "req", X: "status", Agg: charts.Sum, Window: h,
			Where: map[string]string{"route": fmt.Sprintf("/route/%d", i)}})
	}
	if err := d.Check(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	j, err := journal.Open(ctx, journal.Config{MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	at := fillLog(b, j, d, 100_000, 0)
	rw := rewind.New(rewind.Config{Log: j, Replay: j})
	set := rewind.Set{Key: d.ID, Charts: d.Charts}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rw.Moment(ctx, set, at.Add(-time.Duration(i)*time.Nanosecond)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
