package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// The bounds of client_golang's default buckets, in numeric order, as
// ingest writes them in the le tag.
var defBounds = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}

// A Prometheus text histogram pushed to dashd draws as bars in the order
// of its bounds, each bar its bucket's own count with histogram: cumulative
// and the counts as sent without; the ECharts option keeps that order.
func TestPrometheusHistogramDrawsAsBarsInBoundOrder(t *testing.T) {
	t.Parallel()
	window := charts.Duration(5 * time.Minute)
	s := startServer(t, func(f *config.File) {
		f.Dashboards = []charts.Dashboard{{ID: "lat", Charts: []charts.Chart{
			{ID: "latency", Type: charts.Stacked, Metric: "http_request_duration_seconds_bucket", X: "le", Series: "route",
				Agg: charts.Last, Window: window, Histogram: charts.HistogramCumulative},
			{ID: "latency-as-sent", Metric: "http_request_duration_seconds_bucket", X: "le", Series: "route", Agg: charts.Last, Window: window},
		}}}
	})
	v := dial(t, s, "charts=latency")
	v.next() // the empty snapshot

	// Each route's own count per bucket, in bound order, and the text
	// exposition of their cumulative counts, lines in string order of le
	// so that arrival order cannot pass for numeric order.
	own := map[string][]float64{
		"/a": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		"/b": {0, 0, 1, 0, 2, 0, 0, 3, 0, 0, 0, 1},
	}
	var text strings.Builder
	text.WriteString("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n")
	cumulative := map[string][]float64{}
	for _, route := range []string{"/a", "/b"} {
		total := 0.0
		for _, n := range own[route] {
			total += n
			cumulative[route] = append(cumulative[route], total)
		}
		byName := slices.Clone(defBounds)
		slices.Sort(byName)
		for _, le := range byName {
			fmt.Fprintf(&text, "http_request_duration_seconds_bucket{route=%q,le=%q} %g\n", route, le, cumulative[route][slices.Index(defBounds, le)])
		}
		fmt.Fprintf(&text, "http_request_duration_seconds_sum{route=%q} 42.5\nhttp_request_duration_seconds_count{route=%q} %g\n", route, route, total)
	}
	if code, body := post(t, s.url+"/api/v1/import/prometheus", "text/plain; version=0.0.4", text.String()); code != http.StatusOK {
		t.Fatalf("prometheus import answered %d %s", code, body)
	}

	// checkBars compares a frame with want (route → value per bound).
	checkBars := func(name string, f frame, want map[string][]float64) {
		t.Helper()
		if !slices.Equal(f.Categories, defBounds) {
			t.Errorf("%s: categories %q, want %q", name, f.Categories, defBounds)
		}
		if len(f.Series) != 2 {
			t.Fatalf("%s: %d series, want /a and /b", name, len(f.Series))
		}
		for _, series := range f.Series {
			var got []float64
			for _, x := range series.Data {
				if x == nil {
					got = append(got, -1)
				} else {
					got = append(got, *x)
				}
			}
			if !slices.Equal(got, want[series.Name]) {
				t.Errorf("%s: %s = %v, want %v", name, series.Name, got, want[series.Name])
			}
		}
	}
	f := v.until("latency", func(f frame) bool { return len(f.Categories) == len(defBounds) && len(f.Series) == 2 })
	checkBars("stream, histogram: cumulative", f, own)
	checkBars("frame, histogram: cumulative", getFrame(t, s, "latency"), own)
	checkBars("frame, as sent", getFrame(t, s, "latency-as-sent"), cumulative)

	code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/latency/option", ""))
	if code != http.StatusOK {
		t.Fatalf("GET option: %d %s", code, body)
	}
	var opt struct {
		XAxis []struct{ Data []string }
	}
	if err := json.Unmarshal([]byte(body), &opt); err != nil || len(opt.XAxis) == 0 {
		t.Fatalf("option %s: %v", body, err)
	}
	if !slices.Equal(opt.XAxis[0].Data, defBounds) {
		t.Errorf("option categories %q, want %q", opt.XAxis[0].Data, defBounds)
	}

	// The definition as served says what the chart does.
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/latency-as-sent", ""))
	var def charts.Chart
	if err := json.Unmarshal([]byte(body), &def); err != nil || code != http.StatusOK {
		t.Fatalf("GET chart: %d %s (%v)", code, body, err)
	}
	if def.Sort != charts.SortNumeric || def.Histogram != charts.HistogramPerBucket {
		t.Errorf("x: le served with sort %q, histogram %q; want numeric, per_bucket", def.Sort, def.Histogram)
	}

	// histogram on a chart that is not on le is refused, the field named.
	code, body = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/bad",
		`{"charts":[{"id":"b","metric":"http_request_duration_seconds_bucket","x":"route","histogram":"cumulative"}]}`, s.admin()...))
	if code != http.StatusBadRequest || !strings.Contains(body, `"field":"charts[0].histogram"`) || !strings.Contains(body, "x: le") {
		t.Errorf("PUT histogram without x: le: %d %s", code, body)
	}
}
