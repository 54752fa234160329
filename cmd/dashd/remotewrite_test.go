package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/prometheus/prompb"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// bearer adds the token as Prometheus's remote_write `authorization:
// credentials` does.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// remoteWriter is client_golang's remote-write client pointed at s, with
// the token (none if empty) and no retries, so that a refusal shows at once.
func remoteWriter(t *testing.T, s *server, token string) *remote.API {
	t.Helper()
	var rt http.RoundTripper = http.DefaultTransport
	if token != "" {
		rt = bearer{token: token, next: rt}
	}
	api, err := remote.NewAPI(s.url, remote.WithAPIHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: 10 * time.Millisecond, Max: 10 * time.Millisecond, MaxRetries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func rwLabels(kv ...string) []prompb.Label {
	var ls []prompb.Label
	for i := 0; i < len(kv); i += 2 {
		ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

// A Prometheus-compatible sender pushes counters, gauges and a classic
// histogram with remote write 1.0 and 2.0, through the token policy, and a
// viewer sees them in the charts.
func TestRemoteWriteReachesTheCharts(t *testing.T) {
	t.Parallel()
	window := charts.Duration(5 * time.Minute)
	s := startServer(t, func(f *config.File) {
		f.Auth.IngestTokens = []string{"rw-s3cret"}
		f.Dashboards = []charts.Dashboard{{ID: "prom", Title: "From Prometheus", Charts: []charts.Chart{
			{ID: "requests", Type: charts.Stacked, Metric: "http_requests_total", X: "route", Series: "status", Agg: charts.Last, Window: window},
			{ID: "temperature", Type: charts.Grouped, Metric: "temperature_celsius", X: "room", Agg: charts.Last, Window: window},
			{ID: "latency", Type: charts.Grouped, Metric: "rpc_duration_seconds_bucket", X: "le", Agg: charts.Last, Window: window},
			{ID: "latency-bars", Type: charts.Grouped, Metric: "rpc_duration_seconds_bucket", X: "le", Agg: charts.Last, Window: window, Histogram: charts.HistogramCumulative},
		}}}
	})
	v := dial(t, s, "dashboard=prom")
	v.next()
	ctx := context.Background()
	ms := time.Now().Add(-time.Second).UnixMilli()

	// Without the token: 401, which the client does not retry.
	_, err := remoteWriter(t, s, "").Write(ctx, remote.WriteV1MessageType, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: rwLabels("__name__", "http_requests_total", "route", "/x", "status", "200"), Samples: []prompb.Sample{{Value: 99, Timestamp: ms}}},
	}})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a write without the token: %v, want a 401", err)
	}

	// 1.0: counters and a classic histogram as Prometheus 3 sends them (le
	// written as a float).
	w := remoteWriter(t, s, "rw-s3cret")
	v1 := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: rwLabels("__name__", "http_requests_total", "job", "api", "route", "/a", "status", "200"), Samples: []prompb.Sample{{Value: 10, Timestamp: ms - 1000}, {Value: 12, Timestamp: ms}}},
		{Labels: rwLabels("__name__", "http_requests_total", "job", "api", "route", "/a", "status", "500"), Samples: []prompb.Sample{{Value: 3, Timestamp: ms}}},
		{Labels: rwLabels("__name__", "http_requests_total", "job", "api", "route", "/b", "status", "200"), Samples: []prompb.Sample{{Value: 7, Timestamp: ms}}},
	}}
	for _, b := range []struct {
		le string
		n  float64
	}{{"0.1", 4}, {"0.5", 9}, {"1.0", 11}, {"+Inf", 12}} {
		v1.Timeseries = append(v1.Timeseries, prompb.TimeSeries{Labels: rwLabels("__name__", "rpc_duration_seconds_bucket", "le", b.le), Samples: []prompb.Sample{{Value: b.n, Timestamp: ms}}})
	}
	v1.Timeseries = append(v1.Timeseries,
		prompb.TimeSeries{Labels: rwLabels("__name__", "rpc_duration_seconds_sum"), Samples: []prompb.Sample{{Value: 3.2, Timestamp: ms}}},
		prompb.TimeSeries{Labels: rwLabels("__name__", "rpc_duration_seconds_count"), Samples: []prompb.Sample{{Value: 12, Timestamp: ms}}})
	if _, err := w.Write(ctx, remote.WriteV1MessageType, v1); err != nil {
		t.Fatalf("remote write 1.0: %v", err)
	}

	// 2.0: gauges; the client checks the written-samples headers itself.
	v2 := &writev2.Request{Symbols: []string{"", "__name__", "temperature_celsius", "room", "kitchen", "attic"}, Timeseries: []*writev2.TimeSeries{
		{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []*writev2.Sample{{Value: 21.5, Timestamp: ms}}},
		{LabelsRefs: []uint32{1, 2, 3, 5}, Samples: []*writev2.Sample{{Value: 17, Timestamp: ms}}},
	}}
	stats, err := w.Write(ctx, remote.WriteV2MessageType, v2)
	if err != nil {
		t.Fatalf("remote write 2.0: %v", err)
	}
	if stats.Samples != 2 {
		t.Errorf("2.0: %d samples written, want 2", stats.Samples)
	}

	got := untilAll(v, map[string]func(frame) bool{
		"requests":     func(f frame) bool { return len(f.Categories) == 2 },
		"latency":      func(f frame) bool { return len(f.Categories) == 4 },
		"latency-bars": func(f frame) bool { return len(f.Categories) == 4 },
		"temperature":  func(f frame) bool { return len(f.Categories) == 2 },
	})
	f := got["requests"]
	for _, c := range []struct {
		route, status string
		want          float64
	}{{"/a", "200", 12}, {"/a", "500", 3}, {"/b", "200", 7}} {
		if x := f.value(c.route, c.status); x == nil || *x != c.want {
			t.Errorf("requests %s %s = %v, want %v (frame %+v)", c.route, c.status, x, c.want, f)
		}
	}
	if x := f.value("/x", "200"); x != nil {
		t.Errorf("the refused write reached the chart: /x = %v", *x)
	}
	f = got["latency"]
	for le, want := range map[string]float64{"0.1": 4, "0.5": 9, "1": 11, "+Inf": 12} {
		if x := f.value(le, "rpc_duration_seconds_bucket"); x == nil || *x != want {
			t.Errorf("latency le=%s = %v, want %v (frame %+v)", le, x, want, f)
		}
	}
	// As a histogram chart: bounds in numeric order, each bar its bucket's
	// own count, as for Prometheus text.
	f = got["latency-bars"]
	if want := []string{"0.1", "0.5", "1", "+Inf"}; !slices.Equal(f.Categories, want) {
		t.Errorf("latency-bars categories %q, want %q", f.Categories, want)
	}
	for le, want := range map[string]float64{"0.1": 4, "0.5": 5, "1": 2, "+Inf": 1} {
		if x := f.value(le, "rpc_duration_seconds_bucket"); x == nil || *x != want {
			t.Errorf("latency-bars le=%s = %v, want %v (frame %+v)", le, x, want, f)
		}
	}
	f = got["temperature"]
	for room, want := range map[string]float64{"kitchen": 21.5, "attic": 17} {
		if x := f.value(room, "temperature_celsius"); x == nil || *x != want {
			t.Errorf("temperature %s = %v, want %v (frame %+v)", room, x, want, f)
		}
	}

	// Bad data is a 400 the client does not retry, naming the series and
	// the label; nothing of it is stored.
	_, err = w.Write(ctx, remote.WriteV1MessageType, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: rwLabels("__name__", "temperature_celsius", "room", "cellar"), Samples: []prompb.Sample{{Value: 9, Timestamp: ms}}},
		{Labels: rwLabels("__name__", "temperature_celsius", "bad/label", "x"), Samples: []prompb.Sample{{Value: 9, Timestamp: ms}}},
	}})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), `series 1 (temperature_celsius): label name \"bad/label\"`) {
		t.Errorf("a bad label: %v, want a 400 naming series 1 and the label", err)
	}
	var rerr interface{ RetryAfter() time.Duration }
	if errors.As(err, &rerr) {
		t.Errorf("the client would retry a 400: %v", err)
	}
}

// untilAll reads messages until a frame of each chart satisfies its test,
// and returns those frames (frames of different charts come in any order).
func untilAll(v *viewer, want map[string]func(frame) bool) map[string]frame {
	v.t.Helper()
	got := map[string]frame{}
	for range 200 {
		for _, f := range v.next() {
			if ok := want[f.Chart]; ok != nil && ok(f) {
				got[f.Chart] = f
			}
		}
		if len(got) == len(want) {
			return got
		}
	}
	v.t.Fatalf("frames of only %d of the charts %v in 200 messages", len(got), want)
	return nil
}

// The remote-write route is served only with an ingest token, like every
// ingest route.
func TestRemoteWriteRouteIsIngest(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) { f.Auth.IngestTokens = []string{"rw-s3cret"} })
	for token, want := range map[string]int{"": http.StatusUnauthorized, "wrong": http.StatusUnauthorized, "rw-s3cret": http.StatusNoContent} {
		h := []string{"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0"}
		if token != "" {
			h = append(h, "Authorization", "Bearer "+token)
		}
		// An empty 1.0 request: snappy of zero bytes is one zero byte.
		code, body := post(t, s.url+"/api/v1/write", "application/x-protobuf", "\x00", h...)
		if code != want {
			t.Errorf("token %q: %d %s, want %d", token, code, body, want)
		}
	}
	// The policy's refusals are counted under the route's format.
	code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/metrics", ""))
	if want := `dashd_ingest_requests_refused_total{format="remote write",reason="unauthorized"} 2`; code != http.StatusOK || !strings.Contains(body, want) {
		t.Errorf("/metrics (%d) has no %s", code, want)
	}
}
