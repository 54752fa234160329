package ingest_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// BenchmarkCumulativeApply is the table's cost per running total (a
// steady state: 100,000 series, each point one later than its previous),
// and its memory per series at the cap, measured from the heap:
//
//	go test -run '^$' -bench BenchmarkCumulativeApply ./ingest/
func BenchmarkCumulativeApply(b *testing.B) {
	const series = ingest.DefaultCumulativeSeries
	start := time.Now().Add(-time.Hour)
	runs := make([]ingest.Running, series)
	batch := make([]ingest.Sample, 1000)
	fill := func(c *ingest.Cumulative, round int, at time.Time) {
		for i := 0; i < series; i += len(batch) {
			for k := range batch {
				runs[i+k] = ingest.Running{Series: uint64(i + k), Start: start}
				batch[k] = ingest.Sample{Metric: "c", Field: "value", Value: float64(round), Time: at, Running: &runs[i+k]}
			}
			c.Apply(batch, at)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := ingest.NewCumulative(ingest.CumulativeConfig{})
	at := time.Now()
	fill(c, 0, at)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSeries := float64(after.HeapAlloc-before.HeapAlloc) / series
	b.ReportAllocs()
	b.ResetTimer()
	round := 1
	for b.Loop() {
		at = at.Add(time.Second)
		fill(c, round, at)
		round++
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/series, "ns/point")
	b.ReportMetric(perSeries, "B/series") // after ResetTimer, which drops reported metrics
	runtime.KeepAlive(c)
}
