package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// labelRoutes are the categories of the routes chart: seven, one of them
// too long for any card.
var labelRoutes = []string{"/", "/login", "/api/orders", "/api/users", "/api/v1/ingest", "/d/web",
	"/api/v2/customers/{customerId}/orders/history/export"}

// drawnTexts is what chart id says on its canvas now (see textsOf).
func drawnTexts(t *testing.T, ctx context.Context, id string) []string {
	t.Helper()
	var out []string
	for _, b := range textsOf(t, ctx, id) {
		out = append(out, b.Text)
	}
	return out
}

// Issue 19, read from the drawn charts in Chromium, on a page opened before
// the data came: all 7 route labels show (ECharts' own interval showed 4), the long one cut with an
// ellipsis and whole in the table; an axis of 0.0009–0.1 has distinct
// labels with the same decimals (it read 0.1, 0.1, 0.1, 0, 0, 0); 7000 ms
// reads in seconds; the threshold carries its label and formatted value.
func TestBrowserDrawsLabelsAndNumbers(t *testing.T) {
	s := startServer(t, func(f *config.File) {
		f.Dashboards = []charts.Dashboard{{ID: "labels", Charts: []charts.Chart{
			{ID: "routes", Metric: "latency", X: "route", Agg: charts.Max, Unit: "ms",
				Thresholds: []charts.Threshold{{Value: 250, Label: "SLO"}}},
			{ID: "small", Metric: "ratio", X: "k", Agg: charts.Last},
		}}}
	})
	// The page opens before the data, as a wall board does: the labels
	// must be laid out for what comes.
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/labels")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	var samples []map[string]any
	for i, r := range labelRoutes {
		samples = append(samples, map[string]any{"metric": "latency", "tags": map[string]string{"route": r}, "value": 1000 * float64(i+1)})
	}
	for i, v := range []float64{0.0009, 0.003, 0.01, 0.04, 0.1} {
		samples = append(samples, map[string]any{"metric": "ratio", "tags": map[string]string{"k": fmt.Sprintf("k%d", i)}, "value": v})
	}
	body, _ := json.Marshal(samples)
	if code, b := post(t, s.url+"/api/v1/ingest", "application/json", string(body)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, b)
	}

	pollTrue(t, ctx, "the routes drawn", categoriesWhere("routes", fmt.Sprintf("cats.length === %d", len(labelRoutes))))
	pollTrue(t, ctx, "the ratios drawn", categoriesWhere("small", "cats.length === 5"))

	// Every route has a label on the canvas: the long one cut with an
	// ellipsis, never drawn whole.
	long := labelRoutes[len(labelRoutes)-1]
	var texts []string
	shown := func() bool {
		texts = drawnTexts(t, ctx, "routes")
		for _, r := range labelRoutes[:len(labelRoutes)-1] {
			if !slices.Contains(texts, r) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !shown(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not every route label is drawn: %q", texts)
		}
	}
	cut := ""
	for _, tx := range texts {
		if strings.HasSuffix(tx, "…") && strings.HasPrefix(long, strings.TrimSuffix(tx, "…")) {
			cut = tx
		}
	}
	if cut == "" || slices.Contains(texts, long) {
		t.Errorf("the long route is not cut with an ellipsis (drawn: %q)", texts)
	}
	// The option drawn says so (a third party's ECharts gets the same).
	label := evalAwait[map[string]any](t, ctx, viewOf("routes")+`.option().then(function (o) { return o.xAxis[0].axisLabel; })`)
	if label["interval"] != float64(0) || label["overflow"] != "truncate" {
		t.Errorf("the drawn category axis labels: %v", label)
	}

	// Values: 1000–7000 ms on an axis in seconds; the threshold labelled.
	seconds := regexp.MustCompile(`^\d+ s$`)
	var axisSeconds int
	for _, tx := range texts {
		if seconds.MatchString(tx) {
			axisSeconds++
		}
		if strings.Contains(tx, "K ms") || strings.Contains(tx, "k ms") {
			t.Errorf("a value label %q is in thousands of ms", tx)
		}
	}
	if axisSeconds < 3 {
		t.Errorf("the value axis is not in seconds: %q", texts)
	}
	if !slices.Contains(texts, "SLO · 250 ms") {
		t.Errorf("the threshold is not labelled \"SLO · 250 ms\": %q", texts)
	}

	// 0.0009–0.1: distinct value labels, all with the same decimals.
	small := drawnTexts(t, ctx, "small")
	var values []string
	for _, tx := range small {
		if !strings.HasPrefix(tx, "k") {
			values = append(values, tx)
		}
	}
	decimals := map[int]bool{}
	for _, v := range values {
		if v == "0" {
			continue
		}
		_, frac, _ := strings.Cut(v, ".")
		decimals[len(frac)] = true
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	if len(values) < 3 || len(slices.Compact(sorted)) != len(values) || len(decimals) != 1 {
		t.Errorf("the value axis of 0.0009–0.1 reads %q: want distinct labels with the same decimals", values)
	}

	// The table has the long route whole, and values in the chart's format.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-action="table"][data-for="routes"]`))); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the table", tableText("routes")+fmt.Sprintf(`.length === %d`, len(labelRoutes)+1))
	rows := eval[[]string](t, ctx, tableText("routes"))
	t.Logf("drawn: routes %q; small %q", texts, small)
	if !slices.Contains(rows, long+"\t7 s") {
		t.Errorf("the table lacks the long route whole with 7 s: %q", rows)
	}
}
