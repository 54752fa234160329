package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// pushFrame sets push chart id of s to cats × the named series, with
// random values.
func pushFrame(t *testing.T, s *server, id string, cats int, names ...string) {
	t.Helper()
	type series struct {
		Name string    `json:"name"`
		Data []float64 `json:"data"`
	}
	body := struct {
		Categories []string `json:"categories"`
		Series     []series `json:"series"`
	}{}
	for i := range cats {
		body.Categories = append(body.Categories, fmt.Sprintf("c%d", i))
	}
	for _, n := range names {
		d := make([]float64, cats)
		for i := range d {
			d[i] = float64(rand.IntN(1000))
		}
		body.Series = append(body.Series, series{n, d})
	}
	b, _ := json.Marshal(body)
	if code, res := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/charts/"+id+"/data", string(b), s.admin()...)); code != http.StatusNoContent {
		t.Fatalf("push %s: %d %s", id, code, res)
	}
}

// drawn is what chart id of the page holds: its categories, series and
// animation.
type drawn struct {
	Animation  bool
	Categories int
	Series     []struct {
		ID, Name string
		Large    bool
	}
}

func drawnOf(t *testing.T, ctx context.Context, id string) drawn {
	t.Helper()
	js := evalAwait[string](t, ctx, viewOf(id)+`.option().then(function (o) {
		return JSON.stringify({
			animation: o.animation,
			categories: (o.xAxis[0].data || []).length,
			series: o.series.map(function (s) { return { id: s.id, name: s.name, large: !!s.large }; }),
		});
	})`)
	var d drawn
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d drawn) names() string {
	var out []string
	for _, s := range d.Series {
		out = append(out, s.ID)
	}
	return strings.Join(out, ",")
}

// TestBrowserLargeChartUpdates pushes frames to a stacked chart with a
// threshold: 50 × 10 bars are drawn in large mode without animation, the
// tooltip shows a series named by a tag without making markup, and a
// frame of two other series after a pause is drawn in full, animated,
// the threshold kept, in either theme.
func TestBrowserLargeChartUpdates(t *testing.T) {
	s := startServer(t, func(f *config.File) {
		f.Dashboards[0].Charts = append(f.Dashboards[0].Charts, charts.Chart{ID: "big", Title: "Big", Type: charts.Stacked, Unit: "ms",
			Thresholds: []charts.Threshold{{Value: 2500, Label: "SLO"}}})
	})
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web?theme=light")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	eval[bool](t, ctx, `(window.__errors = [], window.addEventListener('error', function (e) { __errors.push(String(e.message)); }), true)`)

	names := []string{xssTag}
	for i := 1; i < 10; i++ {
		names = append(names, fmt.Sprintf("status-%d", i))
	}
	pushFrame(t, s, "big", 50, names...)
	pollTrue(t, ctx, "50 categories", categoriesWhere("big", `cats.length === 50`))
	d := drawnOf(t, ctx, "big")
	if want := "t,s:" + strings.Join(names, ",s:"); d.Animation || d.names() != want {
		t.Errorf("50 × 10: animation %v, series %s; want no animation, series %s", d.Animation, d.names(), want)
	}
	for _, sr := range d.Series {
		if sr.Large != (sr.ID != "t") {
			t.Errorf("series %s of 500 bars: large %v", sr.ID, sr.Large)
		}
	}
	// Hover a bar (the mouse moves over the page's canvas; the paint worker
	// hears of it): the tooltip is drawn on the canvas, its text as text.
	box := eval[[]float64](t, ctx, `(function () { var r = document.querySelector('[data-id="big"]').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+box[2]*0.3, box[1]+box[3]*0.6)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the tooltip", viewOf("big")+`.texts().then(function (texts) { return texts.some(function (t) { return t.text === 'status-5'; }); })`)
	screenshot(t, ctx, "large-tooltip.png")
	if n := eval[float64](t, ctx, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("%v img elements in the page: a series name became markup", n)
	}

	time.Sleep(1200 * time.Millisecond) // the next frame is not a fast one
	pushFrame(t, s, "big", 5, "a", "b")
	pollTrue(t, ctx, "5 categories", categoriesWhere("big", `cats.length === 5`))
	d = drawnOf(t, ctx, "big")
	if got := d.names(); got != "t,s:a,s:b" || !d.Animation || d.Series[1].Large {
		t.Errorf("5 × 2 after a pause: series %s, animation %v, large %v; want t,s:a,s:b, animated, not large", got, d.Animation, d.Series[1].Large)
	}

	// The dark theme draws the frame shown again; then back to 50 × 10.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-theme-toggle]`))); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the dark theme", `document.documentElement.getAttribute('data-theme') === 'dark'`)
	// ECharts rebuilt the chart from its base option: the frame shown is
	// drawn again, whole.
	pollTrue(t, ctx, "5 categories in the dark", categoriesWhere("big", `cats.length === 5`))
	if d = drawnOf(t, ctx, "big"); d.names() != "t,s:a,s:b" {
		t.Errorf("5 × 2 in the dark: series %s", d.names())
	}
	pushFrame(t, s, "big", 50, names...)
	pollTrue(t, ctx, "50 categories again", categoriesWhere("big", `cats.length === 50`))
	if d = drawnOf(t, ctx, "big"); d.names() != "t,s:"+strings.Join(names, ",s:") || d.Animation {
		t.Errorf("50 × 10 in the dark: series %s, animation %v", d.names(), d.Animation)
	}
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, "large-dark.png")
	eval[bool](t, ctx, `(localStorage.removeItem('dashd.theme'), true)`)
	if errs := eval[[]string](t, ctx, `__errors`); len(errs) > 0 {
		t.Errorf("errors in the page: %q", errs)
	}
}

// TestBrowserFastUpdatesAreNotAnimated calls dashdCore.applyFrame with
// chosen times: a chart drawn again within 1 s is not animated, one
// drawn later is, as its base option says; a large one never is.
func TestBrowserFastUpdatesAreNotAnimated(t *testing.T) {
	s := startServer(t, nil)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the page", `!!window.dashdCore && !!window.dashdPaint && !!document.querySelector('[data-chart]')`)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
		var el = document.createElement('div');
		el.style.cssText = 'width:600px;height:300px';
		document.body.appendChild(el);
		var c = { id: 'sales', type: 'grouped', ec: null, seriesKey: null, threshold: null, animation: true, drawnAt: null };
		return dashdPaint.loadScript(document.body.getAttribute('data-echarts'), 'echarts').then(function (echarts) {
			c.ec = echarts.init(el, 'default', { renderer: 'canvas' });
			return fetch('/api/v1/charts/sales/option');
		}).then(function (r) { return r.json(); }).then(function (o) {
			c.ec.setOption(dashdCore.decorate(o, c).option, { notMerge: true });
			function frame(cats, sers) {
				var f = { categories: [], series: [] };
				for (var i = 0; i < cats; i++) f.categories.push('c' + i);
				for (var j = 0; j < sers; j++) f.series.push({ name: 's' + j, data: f.categories.map(function () { return Math.random(); }) });
				return f;
			}
			var out = [];
			function draw(f, now) {
				dashdCore.applyFrame(c, f, now);
				out.push(c.ec.getOption().animation);
			}
			draw(frame(12, 3), 1000);
			draw(frame(12, 3), 1100);
			draw(frame(12, 2), 1250);
			draw(frame(12, 2), 2300);
			draw(frame(50, 10), 5000);
			draw(frame(50, 10), 9000);
			c.animation = false; // a base option without animation
			draw(frame(12, 3), 20000);
			return out.join(' ');
		});
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if want := "true false false true false false false"; got != want {
		t.Errorf("animation of the draws:\n got %s\nwant %s", got, want)
	}
}

// jsHeapAfterGC is the page's JSHeapUsedSize after three collections.
func jsHeapAfterGC(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	return pageMetric(t, ctx, "JSHeapUsedSize")
}

// workersHeapAfterGC is the JS heap used by the page's dedicated workers
// (its paint workers: DevTools targets of their own), each after three
// collections, and how many workers there are.
func workersHeapAfterGC(t *testing.T, ctx context.Context) (used float64, workers int) {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Type != "worker" {
			continue
		}
		wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
		for range 3 {
			if _, err := chromedp.Call(wctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
		}
		heap, err := chromedp.Call(wctx, runtime.GetHeapUsage, cdp.Empty{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		used += heap.UsedSize
		workers++
	}
	return used, workers
}

// TestBrowserLargeChartHeapStaysFlat: the JS heap of the benchmarks' page
// and of its paint workers after 1,000 updates of the 50 × 10 chart drawn
// in a worker, then after 5,000 and 10,000 more (each sent as the page
// sends a frame, 20 between two animation frames; every 500th renames a
// series, so series come and go).
func TestBrowserLargeChartHeapStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about a minute")
	}
	ctx := updateBenchPage(t, 10*time.Minute)
	run := func(n int) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function (n) {
			return __upd.make('worker').then(function (c) {
				var categories = [];
				for (var i = 0; i < 50; i++) categories.push('/route-' + i);
				window.__k = window.__k || 0;
				return new Promise(function (resolve) {
					var done = 0;
					(function batch() {
						for (var b = 0; b < 20 && done < n; b++, done++) {
							var k = ++__k, series = [];
							for (var s = 0; s < 10; s++) {
								var data = [];
								for (var j = 0; j < 50; j++) data.push(Math.round(Math.random() * 1000));
								series.push({ name: 'status-' + (s === 0 ? Math.floor(k / 500) % 7 : s) + (s === 0 ? 'x' : ''), data: data });
							}
							c.view.draw({ categories: categories, series: series });
						}
						// The painter answers after it has drawn all sent before.
						if (done < n) requestAnimationFrame(batch); else resolve(c.view.option().then(function () { return true; }));
					})();
				});
			});
		})(`+strconv.Itoa(n)+`)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
	}
	var page, workers [3]float64
	for i, n := range []int{1000, 5000, 5000} {
		run(n)
		page[i] = jsHeapAfterGC(t, ctx)
		var nw int
		if workers[i], nw = workersHeapAfterGC(t, ctx); nw == 0 {
			t.Fatal("no worker target: the chart was not drawn in a paint worker")
		}
	}
	t.Logf("JS heap after GC, after 1,000, 6,000 and 11,000 updates: page %.2f, %.2f, %.2f MB; paint workers %.2f, %.2f, %.2f MB",
		page[0]/1e6, page[1]/1e6, page[2]/1e6, workers[0]/1e6, workers[1]/1e6, workers[2]/1e6)
	// Keeping a frame per update would be 4 KB × 10,000 = 40 MB.
	for what, h := range map[string][3]float64{"page": page, "paint workers": workers} {
		if h[2] > h[0]+2e6 {
			t.Errorf("the JS heap of the %s grew by %.2f MB over 10,000 updates", what, (h[2]-h[0])/1e6)
		}
	}
}

// TestBrowserUpdateProfile writes a CPU profile (DevTools Profiler, for
// chrome://inspect or any .cpuprofile viewer) of DASHD_PROFILE_N (300)
// updates at 10 a second of the benchmarks' 50 × 10 chart, drawn as the
// page draws it, to the file DASHD_PROFILE. With DASHD_ECHARTS=file the
// page gets that ECharts bundle instead of its own: built as build.sh does
// but without --minify-identifiers, the profile has ECharts' own names.
// The chart is drawn in the page, so that the profile shows ECharts at
// work; DASHD_PROFILE_WORKER=1 profiles the page's main thread with the
// chart drawn in the paint worker, as it ships (see the benchmark).
//
//	DASHD_PROFILE=/tmp/update.cpuprofile go test -run TestBrowserUpdateProfile ./cmd/dashd/
func TestBrowserUpdateProfile(t *testing.T) {
	out := os.Getenv("DASHD_PROFILE")
	if out == "" {
		t.Skip("set DASHD_PROFILE=file to write a CPU profile of updates")
	}
	n := 300
	if v, err := strconv.Atoi(os.Getenv("DASHD_PROFILE_N")); err == nil && v > 0 {
		n = v
	}
	var bundle []byte
	if f := os.Getenv("DASHD_ECHARTS"); f != "" {
		var err error
		if bundle, err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	s := startServer(t, nil)
	ctx := newBrowserFor(t, time.Duration(n)*100*time.Millisecond+5*time.Minute)
	if bundle != nil {
		if err := chromedp.Listen(ctx, func(ev any) {
			if e, ok := ev.(*fetch.EventRequestPaused); ok {
				go chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID: e.RequestID, ResponseCode: 200, Body: bundle,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript"}},
				})
			}
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/echarts.min.js*"}}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx = updateBenchPageAt(t, ctx, s.url)
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 200}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	variant := "page"
	if os.Getenv("DASHD_PROFILE_WORKER") != "" {
		variant = "worker"
	}
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`__upd.hz('`+variant+`', `+strconv.Itoa(n)+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.Profile)
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d updates (%s), %.2f ms each in the update call (profiler on): %s", n, variant, ms, out)
}
