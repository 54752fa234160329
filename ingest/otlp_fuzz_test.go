package ingest_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/dashd/dashd/ingest"
)

// FuzzOTLP feeds DecodeOTLP protobuf (enc odd) and JSON (enc even) bodies,
// seeded with requests of every metric type, and passes what it decodes
// through a Cumulative table twice (the second time as a retry). Neither
// may panic; a refusal is a *DecodeError with 1..20 problems; every sample,
// increases included, keeps the Sample contract; rejected points are
// counted at least as often as they are explained.
func FuzzOTLP(f *testing.F) {
	at := now.Add(-time.Second)
	seeds := []pmetric.Metrics{
		counterReq(5, at),
		otlpReq(func(ms pmetric.MetricSlice) {
			h := ms.AppendEmpty()
			h.SetName("lat")
			hist := h.SetEmptyHistogram()
			hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			hp := hist.DataPoints().AppendEmpty()
			hp.SetTimestamp(ts(at))
			hp.SetStartTimestamp(ts(at.Add(-time.Minute)))
			hp.ExplicitBounds().FromRaw([]float64{0.1, 1})
			hp.BucketCounts().FromRaw([]uint64{1, 2, 3})
			hp.SetCount(6)
			hp.SetSum(4.5)
			e := ms.AppendEmpty()
			e.SetName("exp")
			ep := e.SetEmptyExponentialHistogram()
			ep.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
			p := ep.DataPoints().AppendEmpty()
			p.SetScale(3)
			p.Positive().SetOffset(-4)
			p.Positive().BucketCounts().FromRaw([]uint64{1, 0, 2})
			p.Negative().BucketCounts().FromRaw([]uint64{1})
			s := ms.AppendEmpty()
			s.SetName("rpc")
			sp := s.SetEmptySummary().DataPoints().AppendEmpty()
			sp.SetCount(3)
			q := sp.QuantileValues().AppendEmpty()
			q.SetQuantile(0.5)
			q.SetValue(1)
			sp.Attributes().PutStr("method", "get")
			sp.Attributes().PutInt("code", 200)
			sp.Attributes().PutEmptySlice("list").AppendEmpty().SetStr("x")
		}),
	}
	for _, md := range seeds {
		f.Add(encode(f, md, ingest.OTLPProtobuf), uint8(1))
		f.Add(encode(f, md, ingest.OTLPJSON), uint8(0))
	}
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"asDouble":"NaN"}]}}]}]}]}`), uint8(0))
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00}, uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, enc uint8) {
		e := ingest.OTLPJSON
		if enc%2 == 1 {
			e = ingest.OTLPProtobuf
		}
		b, err := ingest.DecodeOTLP(body, e, ingest.DecodeOptions{Now: now})
		if err != nil {
			var de *ingest.DecodeError
			if !errors.As(err, &de) || len(de.Problems) == 0 || len(de.Problems) > 20 || b != nil {
				t.Fatalf("error %v (%T) is not a *DecodeError with 1..20 problems, or came with a batch", err, err)
			}
			return
		}
		checkInvariants(t, b.Samples)
		if b.Rejected < len(b.Problems) || len(b.Problems) > 20 || (b.Rejected > 0 && len(b.Problems) == 0) {
			t.Fatalf("%d rejected, %d problems", b.Rejected, len(b.Problems))
		}
		c := ingest.NewCumulative(ingest.CumulativeConfig{MaxSeries: 8})
		for range 2 {
			got := c.Apply(ingest.RunningSamples(nil, b.Cumulative), now)
			checkInvariants(t, got)
			for _, s := range got {
				if math.IsInf(s.Value, 0) {
					t.Fatalf("increase %v", s.Value)
				}
			}
		}
		if c.Len() > 8 {
			t.Fatalf("%d series in a table of 8", c.Len())
		}
	})
}
