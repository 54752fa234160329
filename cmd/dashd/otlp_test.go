package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// otelSender is the OpenTelemetry Go SDK with its OTLP/HTTP exporter
// pointed at s, read by hand (a ManualReader) so that the test says when
// an export happens.
type otelSender struct {
	t        *testing.T
	reader   *sdkmetric.ManualReader
	exporter *otlpmetrichttp.Exporter
	meter    metric.Meter
}

func newOTelSender(t *testing.T, s *server, token string) *otelSender {
	t.Helper()
	ctx := context.Background()
	opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(s.Addr()), otlpmetrichttp.WithInsecure(),
		otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false})}
	if token != "" {
		opts = append(opts, otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	exp, err := otlpmetrichttp.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "h1"))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	t.Cleanup(func() { mp.Shutdown(ctx); exp.Shutdown(ctx) })
	return &otelSender{t: t, reader: reader, exporter: exp, meter: mp.Meter("dashd-test")}
}

// export collects what the instruments hold and exports it with the SDK's
// exporter, as a PeriodicReader would on its tick.
func (o *otelSender) export() error {
	o.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		o.t.Fatal(err)
	}
	return o.exporter.Export(context.Background(), &rm)
}

// The OpenTelemetry Go SDK's exporter pushes a counter, a gauge and a
// histogram (cumulative, protobuf, gzip) through the token policy, and a
// plain client pushes OTLP JSON; a viewer sees increases, values and
// per-bucket counts.
func TestOTLPReachesTheCharts(t *testing.T) {
	t.Parallel()
	window := charts.Duration(5 * time.Minute)
	s := startServer(t, func(f *config.File) {
		f.Auth.IngestTokens = []string{"s3cret"}
		f.Dashboards = []charts.Dashboard{{ID: "otel", Charts: []charts.Chart{
			{ID: "requests", Metric: "http.server.requests", X: "route", Series: "service.name", Agg: charts.Sum, Window: window},
			{ID: "temp", Metric: "room.temp", X: "room", Agg: charts.Last, Window: window},
			{ID: "latency", Metric: "latency_bucket", X: "le", Agg: charts.Sum, Window: window},
			{ID: "jobs", Metric: "jobs", X: "queue", Agg: charts.Sum, Window: window},
		}}}
	})
	v := dial(t, s, "dashboard=otel")

	if err := newOTelSender(t, s, "").export(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("an export without the token: %v, want a 401", err)
	}

	o := newOTelSender(t, s, "s3cret")
	requests, err := o.meter.Int64Counter("http.server.requests")
	if err != nil {
		t.Fatal(err)
	}
	temp, _ := o.meter.Float64Gauge("room.temp")
	latency, _ := o.meter.Float64Histogram("latency", metric.WithExplicitBucketBoundaries(0.1, 0.5, 1))
	ctx := context.Background()
	route := func(r string) metric.MeasurementOption { return metric.WithAttributes(attribute.String("route", r)) }
	requests.Add(ctx, 3, route("/a"))
	requests.Add(ctx, 2, route("/b"))
	temp.Record(ctx, 21.5, metric.WithAttributes(attribute.String("room", "kitchen")))
	for _, x := range []float64{0.05, 0.3, 0.3, 2} {
		latency.Record(ctx, x)
	}
	if err := o.export(); err != nil {
		t.Fatal(err)
	}
	// The SDK sends running totals: the second export's totals are 7 and
	// 2, of which 4 and 0 are new; the histogram's 0.7 falls in le=1.
	requests.Add(ctx, 4, route("/a"))
	latency.Record(ctx, 0.7)
	temp.Record(ctx, 22, metric.WithAttributes(attribute.String("room", "kitchen")))
	if err := o.export(); err != nil {
		t.Fatal(err)
	}
	is := func(want float64) func(*float64) bool { return func(x *float64) bool { return x != nil && *x == want } }
	latest := v.untilAll(map[string]func(frame) bool{
		"requests": func(f frame) bool { return is(7)(f.value("/a", "checkout")) && is(2)(f.value("/b", "checkout")) },
		"temp":     func(f frame) bool { return is(22)(f.value("kitchen", "room.temp")) },
		"latency": func(f frame) bool {
			return len(f.Categories) == 4 && len(f.Series) == 1 && is(1)(f.Series[0].Data[2])
		},
	})
	f := latest["latency"]
	if want := []string{"0.1", "0.5", "1", "+Inf"}; !slices.Equal(f.Categories, want) {
		t.Fatalf("latency buckets %q, want %q", f.Categories, want)
	}
	var got []float64
	for _, x := range f.Series[0].Data {
		got = append(got, *x)
	}
	if want := []float64{1, 2, 1, 1}; !slices.Equal(got, want) {
		t.Fatalf("latency per bucket %v, want %v (each bucket's own count, summed over both exports)", got, want)
	}

	// OTLP JSON, gzip, a delta sum: the exporter speaks protobuf only.
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "worker")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("jobs")
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sum.SetIsMonotonic(true)
	for _, q := range []string{"mail", "mail", "pdf"} {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetIntValue(5)
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		dp.Attributes().PutStr("queue", q)
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	req := mustRequest(t, http.MethodPost, s.url+"/v1/metrics", gz.String(), "Content-Type", "application/json", "Content-Encoding", "gzip", "Authorization", "Bearer s3cret")
	code, answer := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("OTLP JSON answered %d %s", code, answer)
	}
	resp := pmetricotlp.NewExportResponse()
	if err := resp.UnmarshalJSON([]byte(answer)); err != nil || resp.PartialSuccess().RejectedDataPoints() != 0 {
		t.Fatalf("answer %q (%v), want an ExportMetricsServiceResponse without rejections", answer, err)
	}
	v.untilAll(map[string]func(frame) bool{"jobs": func(f frame) bool { return is(10)(f.value("mail", "jobs")) && is(5)(f.value("pdf", "jobs")) }})

	// The unauthorized export is counted as an OTLP refusal, the taken
	// samples as OTLP samples: 2×2 increases (3, 2; 4, 0), 2 gauge values, 2×6
	// histogram samples (count, 4 buckets, sum), 3 delta points.
	_, metrics := do(t, mustRequest(t, http.MethodGet, s.url+"/metrics", ""))
	for _, want := range []string{`dashd_ingest_samples_accepted_total{format="otlp"} 21`, `dashd_ingest_requests_refused_total{format="otlp",reason="unauthorized"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, `format="otlp"`))
		}
	}
}

// untilAll reads messages until the newest frame of every chart named in
// want satisfies it (frames of several charts come interleaved), and
// returns those frames.
func (v *viewer) untilAll(want map[string]func(frame) bool) map[string]frame {
	v.t.Helper()
	latest := map[string]frame{}
	for range 400 {
		for _, f := range v.next() {
			latest[f.Chart] = f
		}
		done := true
		for chart, ok := range want {
			if f, seen := latest[chart]; !seen || !ok(f) {
				done = false
			}
		}
		if done {
			return latest
		}
	}
	v.t.Fatalf("the charts never showed what was expected; last frames: %+v", latest)
	return nil
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
