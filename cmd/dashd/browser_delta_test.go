package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chartState is what a chart shows: its categories and each series' data.
type chartState struct {
	Categories []string              `json:"categories"`
	Series     map[string][]*float64 `json:"series"`
}

// pageState is a page expression, a Promise of the JSON of chart id's
// chartState as its drawn option has it.
func pageState(id string) string {
	return fmt.Sprintf(`(async function () {
		var el = document.querySelector('[data-chart][data-id=%q]');
		if (!el || !el.dashdView) return '';
		var o = await el.dashdView.option();
		if (!o || !o.xAxis) return '';
		var axis = (o.xAxis[0] && o.xAxis[0].type === 'category') ? o.xAxis[0] : o.yAxis[0];
		var series = {};
		(o.series || []).forEach(function (s) { if (s.type === 'bar') series[s.name] = s.data; });
		return JSON.stringify({categories: axis.data || [], series: series});
	})()`, id)
}

// The page asks for delta frames, and what it draws after a run of
// changes is exactly the server's frame: categories with quotes,
// non-ASCII and characters outside the BMP came, values changed, all
// through deltas rebuilt in the browser.
func TestBrowserRebuildsDeltaFrames(t *testing.T) {
	s := startServer(t, nil)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-link]').getAttribute('data-state') === 'live'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page never went live: %v", err)
	}
	serverState := func() chartState {
		t.Helper()
		code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/req-by-route/frame", ""))
		if code != http.StatusOK {
			t.Fatalf("frame: %d %s", code, body)
		}
		var f struct {
			Categories []string
			Series     []struct {
				Name string
				Data []*float64
			}
		}
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		st := chartState{Categories: f.Categories, Series: map[string][]*float64{}}
		for _, sr := range f.Series {
			st.Series[sr.Name] = sr.Data
		}
		return st
	}
	// shown waits until the page draws what the server has.
	shown := func(step int) {
		t.Helper()
		var want, got chartState
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			want = serverState()
			got = chartState{}
			if js := evalAwait[string](t, ctx, pageState("req-by-route")); js != "" {
				if err := json.Unmarshal([]byte(js), &got); err != nil {
					t.Fatal(err)
				}
			}
			if reflect.DeepEqual(got, want) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("step %d: the page shows\n%+v\nthe server has\n%+v", step, got, want)
	}
	routes := []string{"/a", `/q"uote\`, "/zürich", "/日本", "/😀", "/<b>&amp;"}
	for step := range 12 {
		route := routes[step%len(routes)]
		status := []string{"200", "500"}[step%2]
		code, body := post(t, s.url+"/api/v1/ingest", "application/json",
			fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%s,"status":%q},"value":%d}]`, strconv.Quote(route), status, step+1))
		if code != http.StatusOK {
			t.Fatalf("ingest: %d %s", code, body)
		}
		shown(step)
	}
	_, metrics := do(t, mustRequest(t, http.MethodGet, s.url+"/metrics", ""))
	m := regexp.MustCompile(`(?m)^dashd_stream_deltas_encoded_total (\d+)`).FindStringSubmatch(metrics)
	if m == nil || m[1] == "0" {
		t.Fatalf("no delta frames were made (dashd_stream_deltas_encoded_total %v): the page did not ask for them", m)
	}
	t.Logf("%s delta frames made", m[1])
}
