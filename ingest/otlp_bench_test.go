package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// otlpBenchDashboard is charts' benchDashboard (charts/bench_test.go):
// three charts reading http_requests, one windowed, one on a time axis.
var otlpBenchDashboard = charts.Dashboard{ID: "bench", Charts: []charts.Chart{
	{ID: "by-route", Type: charts.Stacked, Metric: "http_requests", X: "route", Series: "status", Window: charts.Duration(5 * time.Minute)},
	{ID: "by-host", Type: charts.Grouped, Metric: "http_requests", X: "host", Agg: charts.Avg},
	{ID: "over-time", Type: charts.Stacked, Metric: "http_requests", X: charts.TimeAxis, Bucket: charts.Duration(10 * time.Second), Window: charts.Duration(10 * time.Minute), Series: "status"},
}}

// otlpBenchBodies makes n protobuf requests of 1,000 data points of
// http_requests as an SDK exports them: one resource, 1,000 series
// (route × host × status), request k at second k with rising totals.
func otlpBenchBodies(b testing.TB, n int, temporality pmetric.AggregationTemporality) [][]byte {
	t0 := time.Now().Add(-time.Duration(n+1) * time.Second)
	start := t0.Add(-time.Minute) // fresh: a first point counts whole
	bodies := make([][]byte, n)
	for k := range bodies {
		md := otlpReq(func(ms pmetric.MetricSlice) {
			m := ms.AppendEmpty()
			m.SetName("http_requests")
			sum := m.SetEmptySum()
			sum.SetAggregationTemporality(temporality)
			sum.SetIsMonotonic(true)
			dps := sum.DataPoints()
			dps.EnsureCapacity(1000)
			for j := range 1000 {
				dp := dps.AppendEmpty()
				dp.SetStartTimestamp(ts(start))
				dp.SetTimestamp(ts(t0.Add(time.Duration(k) * time.Second)))
				v := int64(j%9 + 1)
				if temporality == pmetric.AggregationTemporalityCumulative {
					v *= int64(k + 1)
				}
				dp.SetIntValue(v)
				a := dp.Attributes()
				a.PutStr("route", fmt.Sprintf("/r%d", j%40))
				a.PutStr("host", fmt.Sprintf("h%d", j/40))
				a.PutStr("status", []string{"200", "200", "200", "404", "500"}[j%5])
			}
		})
		bodies[k] = encode(b, md, ingest.OTLPProtobuf)
	}
	return bodies
}

// withPooling runs bench twice: pooling=off, and pooling=on with pdata's
// pdata.useProtoPooling gate on (process-wide; turned off again after).
// In pdata v1.71.0 the gate saves nothing for metrics: deleting a Metric
// drops its Gauge, Sum, … (deleteMetric_Sum sets v.Sum = nil) without
// deleting it, so no data point, attribute or value ever returns to a
// pool, and allocations stay at 14 a point (docs/BENCHMARKS.md).
func withPooling(b *testing.B, bench func(b *testing.B)) {
	b.Run("pooling=off", bench)
	b.Run("pooling=on", func(b *testing.B) {
		if err := featuregate.GlobalRegistry().Set("pdata.useProtoPooling", true); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { featuregate.GlobalRegistry().Set("pdata.useProtoPooling", false) })
		bench(b)
	})
}

// BenchmarkOTLPDecodeAndApply measures what an OTLP request costs after
// its body is read: DecodeOTLP (pdata's protobuf decoding and the
// mapping), the cumulative table (cumulative: a fresh table every 64
// requests, so each series is inserted once per cycle and then updated),
// and the board's apply, through a running board with the three charts of
// charts' BenchmarkDecodeAndApply. Run with -cpu 1 for the one-core figure.
func BenchmarkOTLPDecodeAndApply(b *testing.B) {
	for _, tc := range []struct {
		name string
		temp pmetric.AggregationTemporality
	}{{"cumulative", pmetric.AggregationTemporalityCumulative}, {"delta", pmetric.AggregationTemporalityDelta}} {
		b.Run(tc.name, func(b *testing.B) {
			bodies := otlpBenchBodies(b, 64, tc.temp)
			board := charts.NewBoard(charts.Config{MaxFPS: 10, QueueLen: 64}, discardPublisher{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- board.Run(ctx) }()
			b.Cleanup(func() { cancel(); <-done })
			if err := board.SetDashboards(context.Background(), []charts.Dashboard{otlpBenchDashboard}); err != nil {
				b.Fatal(err)
			}
			opt := ingest.DecodeOptions{}
			var cum *ingest.Cumulative
			var samples uint64
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				if i%len(bodies) == 0 {
					cum = ingest.NewCumulative(ingest.CumulativeConfig{})
				}
				opt.Now = time.Now()
				batch, err := ingest.DecodeOTLP(bodies[i%len(bodies)], ingest.OTLPProtobuf, opt)
				if err != nil {
					b.Fatal(err)
				}
				out := batch.Samples
				if len(batch.Cumulative) > 0 {
					// What the handler stores, then what the log's reader
					// makes of it.
					out = cum.Apply(ingest.RunningSamples(out, batch.Cumulative), opt.Now)
				}
				if len(out) != 1000 {
					b.Fatalf("%d samples from 1,000 points", len(out))
				}
				samples += uint64(len(out))
				for {
					err = board.Accept(ctx, out)
					if err == nil {
						break
					}
					if _, overloaded := err.(*ingest.OverloadError); !overloaded {
						b.Fatal(err)
					}
				}
			}
			for board.Stats().Applied < samples {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "points/s")
			reportPointsPerCPU(b, cpu, 1000)
		})
	}
}

// BenchmarkDecodeOTLP is the decoding alone (no table, no board), and
// under it pdata's UnmarshalProto alone: the floor of any mapping.
func BenchmarkDecodeOTLP(b *testing.B) {
	bodies := otlpBenchBodies(b, 8, pmetric.AggregationTemporalityDelta)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			if _, err := ingest.DecodeOTLP(bodies[i%len(bodies)], ingest.OTLPProtobuf, ingest.DecodeOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "points/s")
		reportPointsPerCPU(b, cpu, 1000)
	})
	b.Run("pdata-only", func(b *testing.B) {
		withPooling(b, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				req := pmetricotlp.NewExportRequest()
				if err := req.UnmarshalProto(bodies[i%len(bodies)]); err != nil {
					b.Fatal(err)
				}
				pmetric.NewMetrics().MoveTo(req.Metrics()) // back to the pools, as DecodeOTLP does
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "points/s")
			reportPointsPerCPU(b, cpu, 1000)
		})
	})
}

// reportPointsPerCPU reports data points per CPU-second of the process
// since start (see cpuTime).
func reportPointsPerCPU(b *testing.B, start time.Duration, perOp int) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(perOp)*float64(b.N)/used.Seconds(), "points/cpu-s")
	}
}

type discardPublisher struct{}

func (discardPublisher) Publish(string, []byte) {}
func (discardPublisher) Flush()                 {}
