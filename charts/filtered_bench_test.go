package charts_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// tenantChart is the one chart every tenant sees through its own filter.
var tenantChart = charts.Dashboard{ID: "saas", Charts: []charts.Chart{
	{ID: "usage", Type: charts.Stacked, Metric: "usage", X: "host", Series: "status", Window: charts.Duration(5 * time.Minute)},
}}

// tenantBatches are batches of 1,000 samples spread over tenants
// tenants, 5 hosts × 2 statuses each: each tenant's own hosts (5,000 in
// all, so the chart itself folds all but 500 into Other), or with shared
// the same 5 hosts for every tenant (the chart's cells are each the sum
// of every tenant's).
func tenantBatches(tenants, n int, shared ...bool) [][]ingest.Sample {
	now := time.Now()
	out := make([][]ingest.Sample, n)
	for i := range out {
		batch := make([]ingest.Sample, 1000)
		for j := range batch {
			k := i*1000 + j
			tn := k % tenants
			host := fmt.Sprintf("t%04d-h%d", tn, k/tenants%5)
			if len(shared) > 0 && shared[0] {
				host = fmt.Sprintf("h%d", k/tenants%5)
			}
			batch[j] = ingest.Sample{Metric: "usage", Field: "value", Value: float64(k%9 + 1), Time: now,
				Tags: []ingest.Tag{{Key: "host", Value: host}, {Key: "status", Value: []string{"ok", "err"}[k%2]}, {Key: "tenant", Value: fmt.Sprintf("t%04d", tn)}}}
		}
		out[i] = batch
	}
	return out
}

// countingPub counts what the board publishes, by topic, per flush.
type countingPub struct {
	mu      sync.Mutex
	tick    map[string]int
	maxSame int // the most frames of one topic in one flush
	flushes int
	frames  int
}

func (p *countingPub) Publish(topic string, msg []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tick == nil {
		p.tick = map[string]int{}
	}
	p.tick[topic]++
	p.maxSame = max(p.maxSame, p.tick[topic])
	p.frames++
}

func (p *countingPub) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.tick)
	p.flushes++
}

func runTenantBoard(b *testing.B, pub charts.Publisher) (*charts.Board, context.Context) {
	board := charts.NewBoard(charts.Config{MaxFPS: 10, QueueLen: 64, MaxFilteredViews: 100_000}, pub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- board.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	if err := board.SetDashboards(ctx, []charts.Dashboard{tenantChart}); err != nil {
		b.Fatal(err)
	}
	return board, ctx
}

// BenchmarkTenantIngest is the board's apply rate for one chart with no
// filtered view and with one per tenant (1,000 tenants, each watched by 5
// viewers: 5 Acquires of the same filter share one view). Every sample
// then goes into the chart and into its tenant's view. Two shapes of
// data (tenantBatches): hosts=own and hosts=shared. With -count N the
// runs with and without views alternate, so that both see the same load;
// samples/cpu-s is per CPU-second of the whole process (getrusage), less
// moved by other processes than samples/s.
func BenchmarkTenantIngest(b *testing.B) {
	const tenants = 1000
	for _, shape := range []string{"own", "shared"} {
		batches := tenantBatches(tenants, 64, shape == "shared")
		for _, filtered := range []int{0, tenants} {
			b.Run(fmt.Sprintf("hosts=%s/views=%d", shape, filtered), func(b *testing.B) { benchTenantIngest(b, batches, filtered) })
		}
	}
}

func benchTenantIngest(b *testing.B, batches [][]ingest.Sample, filtered int) {
	{
		{
			pub := &countingPub{}
			board, ctx := runTenantBoard(b, pub)
			for i := range filtered {
				for range 5 {
					_, release, err := board.Acquire(ctx, "usage", map[string]string{"tenant": fmt.Sprintf("t%04d", i)})
					if err != nil {
						b.Fatal(err)
					}
					defer release()
				}
			}
			if n, _ := board.FilteredViews(ctx); n != filtered {
				b.Fatalf("%d filtered views, want %d", n, filtered)
			}
			start := board.Stats().Applied
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for board.Accept(ctx, batches[i%len(batches)]) != nil {
				}
			}
			want := start + uint64(b.N)*1000
			for board.Stats().Applied < want {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(b.N*1000)/(cpuTime(b)-cpu0).Seconds(), "samples/cpu-s")
			pub.mu.Lock()
			defer pub.mu.Unlock()
			if pub.maxSame > 1 {
				b.Fatalf("a topic got %d frames in one flush", pub.maxSame)
			}
			if pub.flushes > 0 {
				b.ReportMetric(float64(pub.frames)/float64(pub.flushes), "frames/flush")
			}
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFilteredViewMemory is the heap one filtered view holds: made,
// filled with its tenant's 5 hosts × 2 statuses, frame built.
func BenchmarkFilteredViewMemory(b *testing.B) {
	const tenants = 1000
	batches := tenantBatches(tenants, 10)
	for range b.N {
		pub := &countingPub{}
		board, ctx := runTenantBoard(b, pub)
		for _, batch := range batches {
			for board.Accept(ctx, batch) != nil {
			}
		}
		if _, err := board.Frame(ctx, "usage"); err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range tenants {
			if _, err := board.FrameWhere(ctx, "usage", map[string]string{"tenant": fmt.Sprintf("t%04d", i)}); err != nil {
				b.Fatal(err)
			}
		}
		// Without History the views start empty: fill them live.
		for _, batch := range batches {
			for board.Accept(ctx, batch) != nil {
			}
		}
		for i := range tenants {
			if _, err := board.FrameWhere(ctx, "usage", map[string]string{"tenant": fmt.Sprintf("t%04d", i)}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/tenants, "bytes/view")
		runtime.KeepAlive(board)
	}
}
