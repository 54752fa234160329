package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/dashd/dashd/ingest"
)

// otlpReq builds a request of one resource (service.name=svc) and one
// scope; add fills its metrics.
func otlpReq(add func(ms pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	rm.Resource().Attributes().PutStr("host.name", "h1") // not a tag
	add(rm.ScopeMetrics().AppendEmpty().Metrics())
	return md
}

func ts(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

func encode(t testing.TB, md pmetric.Metrics, enc ingest.OTLPEncoding) []byte {
	t.Helper()
	req := pmetricotlp.NewExportRequestFromMetrics(md)
	var b []byte
	var err error
	if enc == ingest.OTLPJSON {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleStrings writes samples as "metric{k=v,…} value" for comparison.
func sampleStrings(ss []ingest.Sample) []string {
	var out []string
	for _, s := range ss {
		var kv []string
		for _, t := range s.Tags {
			kv = append(kv, t.Key+"="+t.Value)
		}
		out = append(out, fmt.Sprintf("%s{%s} %g", s.Metric, strings.Join(kv, ","), s.Value))
	}
	return out
}

func wantStrings(t *testing.T, got []ingest.Sample, want ...string) {
	t.Helper()
	g := sampleStrings(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("samples:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeOTLPMapsEveryType(t *testing.T) {
	t.Parallel()
	at := now.Add(-time.Second)
	md := otlpReq(func(ms pmetric.MetricSlice) {
		g := ms.AppendEmpty()
		g.SetName("temp")
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetDoubleValue(21.5)
		dp.SetTimestamp(ts(at))
		dp.Attributes().PutStr("room", "a")
		dp.Attributes().PutInt("floor", 2)

		d := ms.AppendEmpty()
		d.SetName("req")
		sum := d.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		sum.SetIsMonotonic(true)
		dp = sum.DataPoints().AppendEmpty()
		dp.SetIntValue(7)
		dp.SetTimestamp(ts(at))

		u := ms.AppendEmpty()
		u.SetName("queue")
		sum = u.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp = sum.DataPoints().AppendEmpty() // not monotonic: a gauge
		dp.SetIntValue(-3)
		dp.SetTimestamp(ts(at))

		c := ms.AppendEmpty()
		c.SetName("bytes")
		sum = c.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.SetIsMonotonic(true)
		dp = sum.DataPoints().AppendEmpty()
		dp.SetDoubleValue(100)
		dp.SetTimestamp(ts(at))
		dp.SetStartTimestamp(ts(at.Add(-time.Minute)))

		h := ms.AppendEmpty()
		h.SetName("lat")
		hist := h.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		hp := hist.DataPoints().AppendEmpty()
		hp.SetTimestamp(ts(at))
		hp.ExplicitBounds().FromRaw([]float64{0.1, 1e-7, 5}[0:1])
		hp.ExplicitBounds().Append(0.5, 2.5)
		hp.BucketCounts().FromRaw([]uint64{1, 2, 3, 4})
		hp.SetCount(10)
		hp.SetSum(12.5)

		e := ms.AppendEmpty()
		e.SetName("exp")
		eh := e.SetEmptyExponentialHistogram()
		eh.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		ep := eh.DataPoints().AppendEmpty()
		ep.SetTimestamp(ts(at))
		ep.SetScale(0) // base 2
		ep.SetZeroCount(1)
		ep.Positive().SetOffset(1) // (2,4] and (4,8]
		ep.Positive().BucketCounts().FromRaw([]uint64{2, 3})
		ep.Negative().SetOffset(0) // (-2,-1]
		ep.Negative().BucketCounts().FromRaw([]uint64{4})
		ep.SetCount(10)

		s := ms.AppendEmpty()
		s.SetName("rpc")
		sp := s.SetEmptySummary().DataPoints().AppendEmpty()
		sp.SetTimestamp(ts(at))
		sp.SetCount(4)
		sp.SetSum(2)
		q := sp.QuantileValues().AppendEmpty()
		q.SetQuantile(0.99)
		q.SetValue(0.8)
	})
	for _, enc := range []ingest.OTLPEncoding{ingest.OTLPProtobuf, ingest.OTLPJSON} {
		b, err := ingest.DecodeOTLP(encode(t, md, enc), enc, opts())
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, b.Samples)
		if b.Rejected != 0 {
			t.Fatalf("rejected %d: %v", b.Rejected, b.Problems)
		}
		wantStrings(t, b.Samples,
			"temp{floor=2,room=a,service.name=svc} 21.5",
			"req{service.name=svc} 7",
			"queue{service.name=svc} -3",
			"lat_count{service.name=svc} 10",
			"lat_bucket{le=0.1,service.name=svc} 1",
			"lat_bucket{le=0.5,service.name=svc} 2",
			"lat_bucket{le=2.5,service.name=svc} 3",
			"lat_bucket{le=+Inf,service.name=svc} 4",
			"lat_sum{service.name=svc} 12.5",
			"exp_count{service.name=svc} 10",
			"exp_bucket{le=-1,service.name=svc} 4",
			"exp_bucket{le=0,service.name=svc} 1",
			"exp_bucket{le=4,service.name=svc} 2",
			"exp_bucket{le=8,service.name=svc} 3",
			"rpc{quantile=0.99,service.name=svc} 0.8",
		)
		var cum []ingest.Sample
		for _, p := range b.Cumulative {
			cum = append(cum, p.Sample)
		}
		wantStrings(t, cum, "bytes{service.name=svc} 100", "rpc_count{service.name=svc} 4", "rpc_sum{service.name=svc} 2")
		if !b.Samples[0].Time.Equal(at) {
			t.Fatalf("time %v, want %v", b.Samples[0].Time, at)
		}
	}
}

func TestDecodeOTLPRejectsPointsAndLocatesThem(t *testing.T) {
	t.Parallel()
	md := otlpReq(func(ms pmetric.MetricSlice) {
		g := ms.AppendEmpty()
		g.SetName("temp")
		dps := g.SetEmptyGauge().DataPoints()
		dps.AppendEmpty().SetDoubleValue(1)
		dps.AppendEmpty().SetDoubleValue(math.NaN())
		old := dps.AppendEmpty()
		old.SetDoubleValue(2)
		old.SetTimestamp(ts(now.Add(-48 * time.Hour)))
		bad := ms.AppendEmpty()
		bad.SetName("bad/name")
		bad.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
		u := ms.AppendEmpty()
		u.SetName("u")
		u.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1) // temporality unspecified
	})
	b, err := ingest.DecodeOTLP(encode(t, md, ingest.OTLPProtobuf), ingest.OTLPProtobuf, opts())
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, b.Samples, "temp{service.name=svc} 1")
	if b.Rejected != 4 || len(b.Problems) != 4 {
		t.Fatalf("rejected %d, problems %v", b.Rejected, b.Problems)
	}
	for i, want := range []struct {
		index int
		msg   string
	}{
		{1, `resource_metrics[0].scope_metrics[0].metrics[0] "temp".data_points[1]: value is NaN`},
		{2, `resource_metrics[0].scope_metrics[0].metrics[0] "temp".data_points[2]: time 2026-02-27T12:00:00Z is older than the maximum age of 24h0m0s`},
		{3, `resource_metrics[0].scope_metrics[0].metrics[1] "bad/name".data_points[0]: metric name "bad/name": character '/'`},
		{4, `resource_metrics[0].scope_metrics[0].metrics[2] "u".data_points[0]: aggregation_temporality is unspecified`},
	} {
		p := b.Problems[i]
		if p.Index != want.index || !strings.HasPrefix(p.Message, want.msg) {
			t.Errorf("problem %d = %d %q, want %d %q…", i, p.Index, p.Message, want.index, want.msg)
		}
	}
}

func TestDecodeOTLPRefusesMalformedAndTooMany(t *testing.T) {
	t.Parallel()
	if _, err := ingest.DecodeOTLP([]byte{0x0a, 0xff}, ingest.OTLPProtobuf, opts()); err == nil || !strings.Contains(err.Error(), "not an OTLP ExportMetricsServiceRequest in protobuf") {
		t.Fatalf("truncated protobuf: %v", err)
	}
	if _, err := ingest.DecodeOTLP([]byte(`{"resourceMetrics":[`), ingest.OTLPJSON, opts()); err == nil || !strings.Contains(err.Error(), "in JSON") {
		t.Fatalf("truncated JSON: %v", err)
	}
	md := otlpReq(func(ms pmetric.MetricSlice) {
		h := ms.AppendEmpty()
		h.SetName("lat")
		hist := h.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		for range 3 {
			hp := hist.DataPoints().AppendEmpty()
			hp.ExplicitBounds().FromRaw([]float64{1, 2})
			hp.BucketCounts().FromRaw([]uint64{1, 1, 1})
		}
	})
	opt := opts()
	opt.Limits.MaxSamples = 10 // 3 points × 4 samples
	_, err := ingest.DecodeOTLP(encode(t, md, ingest.OTLPProtobuf), ingest.OTLPProtobuf, opt)
	var de *ingest.DecodeError
	if !errorsAs(err, &de) || !de.TooLarge {
		t.Fatalf("too many samples: %v", err)
	}
}

func errorsAs(err error, de **ingest.DecodeError) bool {
	e, ok := err.(*ingest.DecodeError)
	*de = e
	return ok
}

// increases turns the running totals a sink took into increases, as the
// log's reader does, each batch a message stored at now.
func increases(sk *sink) []ingest.Sample {
	c := ingest.NewCumulative(ingest.CumulativeConfig{})
	sk.mu.Lock()
	defer sk.mu.Unlock()
	var out []ingest.Sample
	for _, b := range sk.batches {
		out = append(out, c.Apply(slices.Clone(b), now)...)
	}
	return out
}

// otlpServer serves OTLPHandler on a real socket.
func otlpServer(t *testing.T, sk *sink) string {
	t.Helper()
	clock := now
	srv := httptest.NewServer(ingest.OTLPHandler(sk, ingest.HandlerConfig{Clock: func() time.Time { return clock }}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/metrics"
}

func post(t *testing.T, url, ct string, body []byte, gz bool) (*http.Response, []byte) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(body)
		w.Close()
		body = b.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp, rb
}

func counterReq(v int64, at time.Time) pmetric.Metrics {
	return otlpReq(func(ms pmetric.MetricSlice) {
		c := ms.AppendEmpty()
		c.SetName("requests")
		sum := c.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.SetIsMonotonic(true)
		dp := sum.DataPoints().AppendEmpty()
		dp.SetIntValue(v)
		dp.SetTimestamp(ts(at))
		dp.SetStartTimestamp(ts(now.Add(-time.Minute)))
		g := ms.AppendEmpty()
		g.SetName("temp")
		gp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		gp.SetDoubleValue(math.Inf(1)) // rejected: partial success
		gp.SetTimestamp(ts(at))
	})
}

func TestOTLPHandlerAnswersAsTheSpecSays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		enc  ingest.OTLPEncoding
		ct   string
		gz   bool
	}{{"protobuf", ingest.OTLPProtobuf, "application/x-protobuf", false}, {"json gzip", ingest.OTLPJSON, "application/json", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sk := &sink{}
			url := otlpServer(t, sk)
			resp, body := post(t, url, tc.ct, encode(t, counterReq(5, now.Add(-2*time.Second)), tc.enc), tc.gz)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ct {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			er := pmetricotlp.NewExportResponse()
			if tc.enc == ingest.OTLPJSON {
				if err := er.UnmarshalJSON(body); err != nil {
					t.Fatal(err)
				}
			} else if err := er.UnmarshalProto(body); err != nil {
				t.Fatal(err)
			}
			ps := er.PartialSuccess()
			if ps.RejectedDataPoints() != 1 || !strings.Contains(ps.ErrorMessage(), `metrics[1] "temp".data_points[0]: value is infinite`) {
				t.Fatalf("partial success %d %q", ps.RejectedDataPoints(), ps.ErrorMessage())
			}
			post(t, url, tc.ct, encode(t, counterReq(9, now.Add(-time.Second)), tc.enc), tc.gz)
			wantStrings(t, increases(sk), "requests{service.name=svc} 5", "requests{service.name=svc} 4")
		})
	}
}

func TestOTLPHandlerRefusals(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	url := otlpServer(t, sk)
	resp, body := post(t, url, "text/plain", []byte("x"), false)
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(body), "application/x-protobuf or application/json") {
		t.Fatalf("text/plain: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, url, "application/x-protobuf", []byte{0x0a, 0xff}, false)
	var st spb.Status
	if resp.StatusCode != http.StatusBadRequest || proto.Unmarshal(body, &st) != nil || st.Code != 3 || !strings.Contains(st.Message, "not an OTLP ExportMetricsServiceRequest") {
		t.Fatalf("malformed protobuf: %d %v %q", resp.StatusCode, st.Code, st.Message)
	}
	resp, body = post(t, url, "application/json", []byte(`{"resourceMetrics":`), false)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":3`) {
		t.Fatalf("malformed JSON: %d %s", resp.StatusCode, body)
	}
	if len(sk.samples()) != 0 {
		t.Fatal("a refused request reached the sink")
	}
}

func TestOTLPHandlerRefusedRequestThenItsRetry(t *testing.T) {
	t.Parallel()
	fail := true
	sk := &sink{AcceptFunc: func(context.Context, []ingest.Sample) error {
		if fail {
			return &ingest.OverloadError{Unavailable: true, RetryAfter: 2 * time.Second}
		}
		return nil
	}}
	url := otlpServer(t, sk)
	body := encode(t, counterReq(5, now.Add(-time.Second)), ingest.OTLPProtobuf)
	resp, _ := post(t, url, "application/x-protobuf", body, false)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("%d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fail = false
	post(t, url, "application/x-protobuf", body, false) // the retry
	for _, s := range sk.samples() {
		if s.Running == nil || s.Running.Start.IsZero() || s.Running.Series == 0 {
			t.Fatalf("the running total reached the sink without its mark: %+v", s)
		}
	}
	wantStrings(t, sk.samples(), "requests{service.name=svc} 5")
	wantStrings(t, increases(sk), "requests{service.name=svc} 5")
}

// expReq is a cumulative exponential histogram point at scale with the
// given positive buckets from offset 0, started an hour before now.
func expReq(scale int32, at time.Time, counts ...uint64) pmetric.Metrics {
	return otlpReq(func(ms pmetric.MetricSlice) {
		e := ms.AppendEmpty()
		e.SetName("exp")
		eh := e.SetEmptyExponentialHistogram()
		eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		p := eh.DataPoints().AppendEmpty()
		p.SetStartTimestamp(ts(now.Add(-time.Hour)))
		p.SetTimestamp(ts(at))
		p.SetScale(scale)
		p.Positive().BucketCounts().FromRaw(counts)
		var total uint64
		for _, c := range counts {
			total += c
		}
		p.SetCount(total)
	})
}

func TestCumulativeExponentialHistogramAcrossAChangeOfScale(t *testing.T) {
	t.Parallel()
	c := ingest.NewCumulative(ingest.CumulativeConfig{})
	apply := func(md pmetric.Metrics) []string {
		b, err := ingest.DecodeOTLP(encode(t, md, ingest.OTLPProtobuf), ingest.OTLPProtobuf, opts())
		if err != nil {
			t.Fatal(err)
		}
		return sampleStrings(c.Apply(ingest.RunningSamples(nil, b.Cumulative), now))
	}
	if got := apply(expReq(1, now.Add(-3*time.Second), 4, 4)); len(got) != 0 {
		t.Fatalf("an old stream's first point gave %q, want only a baseline", got)
	}
	// A bucket that grew and one that is new (0 until now) at the same scale.
	got := apply(expReq(1, now.Add(-2*time.Second), 4, 6, 1))
	want := []string{"exp_count{service.name=svc} 3", "exp_bucket{le=0,service.name=svc} 0",
		"exp_bucket{le=1.4142135623730951,service.name=svc} 0", "exp_bucket{le=2,service.name=svc} 2", "exp_bucket{le=2.8284271247461903,service.name=svc} 1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("same scale:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Down to scale 0: every bucket is a new series; none may count its
	// whole total (that would count the stream's history again).
	if got := apply(expReq(0, now.Add(-time.Second), 10, 1)); len(got) != 0 {
		t.Fatalf("after a change of scale: %q, want baselines only", got)
	}
}

func TestOTLPHandlerIdempotencyKeyAndTooLarge(t *testing.T) {
	t.Parallel()
	var keys []string
	sk := &sink{AcceptFunc: func(ctx context.Context, _ []ingest.Sample) error {
		keys = append(keys, ingest.IdempotencyKey(ctx))
		return nil
	}}
	srv := httptest.NewServer(ingest.OTLPHandler(sk, ingest.HandlerConfig{Clock: func() time.Time { return now }, Limits: ingest.Limits{MaxSamples: 1}}))
	t.Cleanup(srv.Close)
	body := encode(t, otlpReq(func(ms pmetric.MetricSlice) {
		g := ms.AppendEmpty()
		g.SetName("g")
		g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	}), ingest.OTLPProtobuf)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/metrics", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Idempotency-Key", "k-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(keys) != 1 || keys[0] != "k-1" {
		t.Fatalf("%d, keys %q", resp.StatusCode, keys)
	}

	two := encode(t, otlpReq(func(ms pmetric.MetricSlice) {
		g := ms.AppendEmpty()
		g.SetName("g")
		g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
		g.Gauge().DataPoints().AppendEmpty().SetDoubleValue(2)
	}), ingest.OTLPProtobuf)
	resp, rb := post(t, srv.URL+"/v1/metrics", "application/x-protobuf", two, false)
	var st spb.Status
	if resp.StatusCode != http.StatusRequestEntityTooLarge || proto.Unmarshal(rb, &st) != nil || !strings.Contains(st.Message, "more than 1 samples") {
		t.Fatalf("two samples over a limit of one: %d %q", resp.StatusCode, st.Message)
	}
	if len(keys) != 1 {
		t.Fatal("a refused request reached the sink")
	}
}

// A body whose decoding would take far more memory than its size (empty
// attributes: 2 bytes on the wire, about 200 bytes decoded) is refused
// before pdata decodes it; typical bodies, at about 6 times, pass.
func TestDecodeOTLPBoundsMemoryBeforeDecoding(t *testing.T) {
	// Not parallel: it reads the process's allocation counter, which
	// tests running beside it move (seen once in CI: 5.4 MB).
	var dp []byte
	for range 100_000 {
		dp = protowire.AppendTag(dp, 7, protowire.BytesType) // NumberDataPoint.attributes
		dp = protowire.AppendVarint(dp, 0)
	}
	wrap := func(field protowire.Number, inner []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, field, protowire.BytesType), inner)
	}
	metric := append(wrap(1, []byte("g")), wrap(5, wrap(1, dp))...) // name, gauge{data_points}
	body := wrap(1, wrap(2, wrap(2, metric)))                       // request{resource_metrics{scope_metrics{metrics}}}
	jsonBody := []byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"asInt":"1","attributes":[` +
		strings.Repeat(`{},`, 100_000) + `{}]}]}}]}]}]}`)
	opt := opts()
	opt.Limits.MaxBodyBytes = 256 << 10
	for name, tc := range map[string]struct {
		body []byte
		enc  ingest.OTLPEncoding
	}{"protobuf": {body, ingest.OTLPProtobuf}, "json": {jsonBody, ingest.OTLPJSON}} {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := ingest.DecodeOTLP(tc.body, tc.enc, opt)
		runtime.ReadMemStats(&m1)
		var de *ingest.DecodeError
		if !errorsAs(err, &de) || !de.TooLarge || !strings.Contains(err.Error(), "would take about") {
			t.Fatalf("%s: %d bytes of empty attributes: %v, want a TooLarge refusal", name, len(tc.body), err)
		}
		if m1.TotalAlloc-m0.TotalAlloc > 4<<20 {
			t.Errorf("%s: refusing took %d bytes", name, m1.TotalAlloc-m0.TotalAlloc)
		}
	}
	typical := encode(t, counterReq(5, now), ingest.OTLPProtobuf)
	for _, b := range otlpBenchBodies(t, 1, pmetric.AggregationTemporalityDelta) {
		typical = b
	}
	opt.Limits.MaxBodyBytes = int64(len(typical))
	if _, err := ingest.DecodeOTLP(typical, ingest.OTLPProtobuf, opt); err != nil {
		t.Fatalf("a typical body of %d bytes with the body limit at its size: %v", len(typical), err)
	}
}
