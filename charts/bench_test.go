package charts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// benchDashboard is what the benchmarks apply to: three charts reading the
// metric every sample has (so each sample is folded three times), one of
// them windowed and one on a time axis, as a real dashboard would be.
var benchDashboard = charts.Dashboard{ID: "bench", Charts: []charts.Chart{
	{ID: "by-route", Type: charts.Stacked, Metric: "http_requests", X: "route", Series: "status", Window: charts.Duration(5 * time.Minute)},
	{ID: "by-host", Type: charts.Grouped, Metric: "http_requests", X: "host", Agg: charts.Avg},
	{ID: "over-time", Type: charts.Stacked, Metric: "http_requests", X: charts.TimeAxis, Bucket: charts.Duration(10 * time.Second), Window: charts.Duration(10 * time.Minute), Series: "status"},
}}

// benchBodies makes n request bodies of 1,000 samples in one format.
func benchBodies(format string, n int) [][]byte {
	now := time.Now()
	bodies := make([][]byte, n)
	for i := range bodies {
		var b strings.Builder
		if format == "json" {
			b.WriteString(`{"samples":[`)
		}
		for j := range 1000 {
			route := fmt.Sprintf("/r%d", (i*7+j)%40)
			host := fmt.Sprintf("h%d", j%12)
			status := []string{"200", "200", "200", "404", "500"}[j%5]
			ts := now.Add(-time.Duration(1000-j) * time.Millisecond)
			switch format {
			case "json":
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"metric":"http_requests","tags":{"host":%q,"route":%q,"status":%q},"value":%d,"time":%d}`, host, route, status, j%9+1, ts.UnixNano())
			case "lp":
				fmt.Fprintf(&b, "http_requests,host=%s,route=%s,status=%s value=%d %d\n", host, route, status, j%9+1, ts.UnixNano())
			}
		}
		if format == "json" {
			b.WriteString(`]}`)
		}
		bodies[i] = []byte(b.String())
	}
	return bodies
}

// runBenchBoard runs a board with benchDashboard until b ends, and returns
// it with the context it runs under.
func runBenchBoard(b *testing.B) (*charts.Board, context.Context) {
	board := charts.NewBoard(charts.Config{MaxFPS: 10, QueueLen: 64}, discard{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- board.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	if err := board.SetDashboards(context.Background(), []charts.Dashboard{benchDashboard}); err != nil {
		b.Fatal(err)
	}
	return board, ctx
}

// BenchmarkDecodeAndApply measures decode plus apply through a running
// board: the path of an ingest request after its body is read. Run with
// -cpu 1 for the one-core figure; the board's goroutine and the decoder
// then share that core.
func BenchmarkDecodeAndApply(b *testing.B) {
	for _, format := range []string{"lp", "json"} {
		b.Run(format, func(b *testing.B) {
			bodies := benchBodies(format, 64)
			board, ctx := runBenchBoard(b)
			opt := ingest.DecodeOptions{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body := bodies[i%len(bodies)]
				var batch []ingest.Sample
				var err error
				if format == "lp" {
					batch, err = ingest.DecodeLineProtocol(body, time.Nanosecond, opt)
				} else {
					batch, err = ingest.DecodeJSON(body, opt)
				}
				if err != nil {
					b.Fatal(err)
				}
				for {
					err = board.Accept(ctx, batch)
					if err == nil {
						break
					}
					if _, overloaded := err.(*ingest.OverloadError); !overloaded {
						b.Fatal(err)
					}
				}
			}
			// Wait until the board has applied everything accepted.
			want := uint64(b.N) * 1000
			for board.Stats().Applied < want {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

type discard struct{}

func (discard) Publish(string, []byte) {}
func (discard) Flush()                 {}

// BenchmarkFrame measures building and encoding one chart's frame: 50
// categories × 10 series over a 20-slot sliding window.
func BenchmarkFrame(b *testing.B) {
	c := charts.Chart{ID: "c", Metric: "m", X: "k", Series: "s", Type: charts.Stacked, Window: charts.Duration(time.Minute)}
	c.Normalize()
	v := charts.NewView(c, charts.Limits{})
	now := time.Now()
	for i := range 50 * 10 * 20 {
		s := ingest.Sample{Metric: "m", Field: "value", Value: float64(i % 97), Time: now.Add(-time.Duration(i%60) * time.Second),
			Tags: []ingest.Tag{{Key: "k", Value: fmt.Sprintf("cat%02d", i%50)}, {Key: "s", Value: fmt.Sprintf("s%d", i/50%10)}}}
		v.Add(&s, now)
	}
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := v.Frame(now)
		buf = f.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkApply measures the board's apply alone: batches decoded before
// the clock starts, accepted by a running board that folds each sample
// into the three charts of benchDashboard.
func BenchmarkApply(b *testing.B) {
	bodies := benchBodies("lp", 64)
	batches := make([][]ingest.Sample, len(bodies))
	for i, body := range bodies {
		var err error
		if batches[i], err = ingest.DecodeLineProtocol(body, time.Nanosecond, ingest.DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	board, ctx := runBenchBoard(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for board.Accept(ctx, batches[i%len(batches)]) != nil {
		}
	}
	want := uint64(b.N) * 1000
	for board.Stats().Applied < want {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "samples/s")
}
