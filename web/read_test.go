package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/web"
)

// An iframe of a chart that does not exist says so: its 404 page may be
// framed by the same parents as a chart.
func TestEmbedOfAnUnknownChartMayBeFramed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(web.Handler(web.Config{Catalog: testCatalog, FrameAncestors: []string{"https://host.example"}}))
	t.Cleanup(srv.Close)
	res := get(t, srv.URL+"/embed/nope")
	if res.status != http.StatusNotFound {
		t.Fatalf("status %d", res.status)
	}
	if xfo := res.header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options %q: the frame would stay blank", xfo)
	}
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self' https://host.example") {
		t.Errorf("Content-Security-Policy %q does not let the chart's parents frame it", csp)
	}
	if !strings.Contains(res.body, "There is no chart with the id &#34;nope&#34;") {
		t.Errorf("the page does not say which chart is missing: %s", res.body)
	}
	// Elsewhere a 404 is still not to be framed.
	if res := get(t, srv.URL+"/nowhere"); res.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("a plain 404 may be framed: %v", res.header)
	}
}

// The chart element carries its place and what its empty state says: the
// metric, the span it looks back over, and a sample it would show.
func TestChartElementCarriesPlaceAndEmptyState(t *testing.T) {
	t.Parallel()
	cat := catalog{dashboards: []charts.Dashboard{{ID: "d", Charts: []charts.Chart{
		{ID: "refunds", Title: "Refunds", Metric: "refunds", X: "region", Series: "status", Where: map[string]string{"shop": "eu"},
			Window: charts.Duration(5 * time.Minute), Width: 2, Height: 480},
		{ID: "push"},
	}}}}
	srv := httptest.NewServer(web.Handler(web.Config{Catalog: cat}))
	t.Cleanup(srv.Close)
	doc := parse(t, get(t, srv.URL+"/d/d").body)
	els := chartElements(doc)
	if len(els) != 2 {
		t.Fatalf("chart elements: %v", els)
	}
	want := map[string]string{"metric": "refunds", "lookback": "300", "height": "480",
		"sample": `{"metric":"refunds","tags":{"region":"example","shop":"eu","status":"example"},"value":1}`}
	for k, v := range want {
		if els[0][k] != v {
			t.Errorf("data-%s = %q, want %q", k, els[0][k], v)
		}
	}
	for _, k := range []string{"metric", "lookback", "sample", "height"} {
		if _, set := els[1][k]; set {
			t.Errorf("a push chart without a place has data-%s", k)
		}
	}
	var widths []string
	for _, n := range elements(doc) {
		if v, ok := attr(n, "data-width"); ok {
			widths = append(widths, v)
		}
	}
	if len(widths) != 1 || widths[0] != "2" {
		t.Errorf("data-width of the cards: %v, want [2]", widths)
	}
}
