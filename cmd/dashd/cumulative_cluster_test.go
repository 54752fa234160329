package main

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// startCumulativeNode runs a dashd on the NATS cluster at url with one
// chart of an OTLP counter's increases.
func startCumulativeNode(t *testing.T, url string, edit ...func(*config.File)) (*server, func()) {
	t.Helper()
	return startStoppable(t, func(f *config.File) {
		for _, e := range edit {
			e(f)
		}
		f.NATS.URL = url
		f.NATS.Replicas = 3
		f.Dashboards = []charts.Dashboard{{ID: "otel", Charts: []charts.Chart{
			{ID: "requests", Metric: "http.server.requests", X: "route", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
		}}}
	})
}

// exportTo exports what reader holds with a fresh OTLP/HTTP exporter of the
// SDK pointed at s: one sender whose pushes a load balancer spreads.
func exportTo(t *testing.T, reader *sdkmetric.ManualReader, s *server) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(s.Addr()), otlpmetrichttp.WithInsecure(),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, &rm); err != nil {
		t.Fatal(err)
	}
}

// An OpenTelemetry SDK whose exports alternate between two dashd nodes of
// one cluster: each node sees only every other running total, yet both
// show the sender's true increases, because they are counted where the
// log is read. A node started later from the shutdown checkpoint of
// another, and one started from the log, show the same; and a rewind to a
// moment shows what the live chart showed then.
func TestClusterCumulativeAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := startNATSCluster(t, 3)
	url := ns[0].ClientURL() + "," + ns[1].ClientURL() + "," + ns[2].ClientURL()
	a, stopA := startCumulativeNode(t, url)
	b, _ := startCumulativeNode(t, url)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	requests, err := mp.Meter("dashd-test").Int64Counter("http.server.requests")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	route := metric.WithAttributes(attribute.String("route", "/a"))
	total := 0.0
	push := func(n int64, to *server) {
		t.Helper()
		requests.Add(ctx, n, route)
		total += float64(n)
		exportTo(t, reader, to)
	}
	shows := func(want float64) func(frame) bool {
		return func(f frame) bool { v := f.value("/a", "http.server.requests"); return v != nil && *v == want }
	}
	agree := func(want float64, nodes ...*server) {
		t.Helper()
		f := converge(t, nodes, "requests", 20*time.Second, shows(want))
		t.Logf("%v nodes show %s", len(nodes), chartData(f))
	}

	// The running totals 3, 7, 8, 10 reach a, b, a, b. Per node, each
	// would look like a first point of a sender started a moment ago
	// (counted whole): 3+7+8+10 = 28.
	for i, n := range []int64{3, 4, 1, 2} {
		push(n, []*server{a, b}[i%2])
	}
	agree(total, a, b)
	if total != 10 {
		t.Fatalf("test bug: total %v", total)
	}

	// a stops (a clean stop: its last checkpoint is taken then); b takes
	// one more push after it, so a node started from that checkpoint must
	// know the running total from before it to count this one.
	stopA()
	push(5, b)
	agree(total, b)
	moment := time.Now()
	time.Sleep(20 * time.Millisecond)
	c, _ := startCumulativeNode(t, url)                                                      // from a's shutdown checkpoint
	d, _ := startCumulativeNode(t, url, func(f *config.File) { f.Checkpoints.Interval = 0 }) // from the log
	agree(total, b, c, d)

	// A rewind to the moment shows what the live chart showed then, on
	// every node, after more pushes.
	push(6, c)
	agree(total, b, c, d)
	for _, n := range []*server{b, c, d} {
		f := frameAt(t, n, "requests", moment)
		if v := f.value("/a", "http.server.requests"); v == nil || *v != 15 {
			t.Fatalf("the frame at the moment on %s shows %s, the live one showed /a = 15", n.url, chartData(f.frame))
		}
	}
}
