package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkBrowserDrawCost measures what one draw of a wall chart (stacked,
// 10 categories × 5 series, 600×300 px, on a canvas of the page handed to
// a worker) costs, for ways of giving ECharts a data-only update (issue 17,
// third pass): dashd's own applyFrame on an instance made as the painter
// makes it ("now"), and the same with one thing changed each:
//
//	silent       setOption(…, {silent: true}): no events raised
//	dirtyrect    echarts.init(…, {useDirtyRect: true}): repaint only what changed
//	nostates     series emphasis/select disabled, no state animation, no hover layer
//	all          silent + dirtyrect + nostates
//	large        ECharts' large mode (one path per series), as dashd uses past 250 bars
//	noanimation  the base option's animation off (dashd turns it off per fast update anyway)
//	notooltip    no tooltip (and so no axis pointer): what the tooltip costs, not an option
//	dpr2         devicePixelRatio 2, as on a dense screen: what the pixels cost
//
// Each variant has its own chart in one worker that imports what dashd's
// paint worker imports; variants take turns in blocks of DASHD_DRAWCOST_ROUNDS
// draws (default 100), DASHD_DRAWCOST_REPS times (default 4), the order
// rotated each time (after an untimed warm-up block each), one draw per animation frame of the worker (so each
// picture is presented, as on the wall), each draw new random numbers.
// Per variant it reports the median of applyFrame's time (ECharts'
// setOption, which merges, lays out and paints at once), and the CPU time
// per draw of the worker's thread and of the whole browser (/proc, over
// the variant's blocks: this includes the compositor's share and the
// browser's idle cost of the blocks' time).
//
//	go test -run '^$' -bench BrowserDrawCost -benchtime 1x -v ./cmd/dashd/
//
// DASHD_DRAWCOST_VARIANTS=now,silent picks variants.
func BenchmarkBrowserDrawCost(b *testing.B) {
	rounds, reps := 100, 4
	if v, err := strconv.Atoi(os.Getenv("DASHD_DRAWCOST_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	if v, err := strconv.Atoi(os.Getenv("DASHD_DRAWCOST_REPS")); err == nil && v > 0 {
		reps = v
	}
	s := wallBenchServer(b)
	// One frame of the wall's shape, so that the option has its axes.
	stop := make(chan struct{})
	go func() { time.Sleep(300 * time.Millisecond); close(stop) }()
	wallPush(s, 24, 10, stop)
	// The page and the worker script come from a proxy in front of dashd
	// (same origin as dashd's static files), without the page's
	// Content-Security-Policy, which allows no worker made in the page.
	page, err := http.Get(s.url + "/d/wall24")
	if err != nil {
		b.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := regexp.MustCompile(`data-paint-worker="([^"]+)"`).FindSubmatch(html)
	if m == nil {
		b.Fatal("no data-paint-worker in /d/wall24")
	}
	u, _ := url.Parse(s.url)
	rp := httputil.NewSingleHostReverseProxy(u)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/drawcost.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<!doctype html><title>draw cost</title><body style=margin:0>")
		case "/drawcost-worker.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			fmt.Fprintf(w, "importScripts(%q);\nself.onmessage = %s;\n", string(m[1]), drawCostWorkerJS)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	defer proxy.Close()
	browser := wallBrowser(b, time.Hour)
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(proxy.URL+"/drawcost.html")); err != nil {
		b.Fatal(err)
	}
	variants := drawCostVariants
	if v := os.Getenv("DASHD_DRAWCOST_VARIANTS"); v != "" {
		variants = strings.Split(v, ",")
	}
	names := `["` + strings.Join(variants, `","`) + `"]`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(drawCostJS, names), chromedp.EvalAwaitPromise)); err != nil {
		b.Fatal(err)
	}
	// One block each first, untimed: the JIT and the caches warm up on all
	// alike, not on whichever goes first.
	for _, v := range variants {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`__drawCost(%q, %d)`, v, 20), chromedp.EvalAwaitPromise)); err != nil {
			b.Fatal(err)
		}
	}
	load0, _ := os.ReadFile("/proc/loadavg")
	ms := map[string][]float64{}
	worker := map[string]float64{}
	browserSum := map[string]float64{}
	draws := map[string]int{}
	for rep := range reps {
		for _, v := range rotate(variants, rep) {
			_, workers := rendererThreads(browser)
			w0, c0 := threadCPU(workers), browserCPU(browser)
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`__drawCost(%q, %d)`, v, rounds), chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatal(err)
			}
			w1, c1 := threadCPU(workers), browserCPU(browser)
			ms[v] = append(ms[v], got...)
			worker[v] += wallSum(w0, w1)
			browserSum[v] += wallCPUSince(c0, c1)
			draws[v] += len(got)
		}
	}
	load1, _ := os.ReadFile("/proc/loadavg")
	b.Logf("load average before %s, after %s", strings.Join(strings.Fields(string(load0))[:3], " "), strings.Join(strings.Fields(string(load1))[:3], " "))
	for _, v := range variants {
		d := ms[v]
		if len(d) == 0 {
			b.Fatalf("variant %s: no draws", v)
		}
		sort.Float64s(d)
		p := func(q float64) float64 { return d[min(len(d)-1, int(q*float64(len(d))))] }
		n := float64(draws[v])
		b.ReportMetric(p(0.5), v+"-setOption-ms")
		b.ReportMetric(worker[v]*1e3/n, v+"-worker-ms/draw")
		b.ReportMetric(browserSum[v]*1e3/n, v+"-browser-ms/draw")
		b.Logf("%-10s %5d draws: applyFrame median %.2f ms, p90 %.2f ms; worker thread %.2f ms CPU a draw; whole browser %.2f ms CPU a draw",
			v, len(d), p(0.5), p(0.9), worker[v]*1e3/n, browserSum[v]*1e3/n)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// drawCostVariants are the ways of drawing BenchmarkBrowserDrawCost
// compares (see drawCostJS).
var drawCostVariants = []string{"now", "silent", "dirtyrect", "nostates", "all", "large", "noanimation", "notooltip", "dpr2"}

// drawCostJS runs in a dashd page: a worker that imports what the paint
// worker imports (body[data-paint-worker]) draws the wall chart's option
// (GET /api/v1/charts/w24-0/option) on one canvas per variant, and answers
// the ms of each draw by variant. %s: the variants (a JSON array), %d: the
// frames per variant.
const drawCostJS = `(async function () {
	var variants = %s;
	var option = await (await fetch('/api/v1/charts/w24-0/option')).json();
	var frame = await (await fetch('/api/v1/charts/w24-0/frame')).json();
	var w = new Worker('/drawcost-worker.js');
	var canvases = variants.map(function (v, i) {
		var el = document.createElement('canvas');
		el.style.cssText = 'position:fixed;z-index:9;left:' + (i %% 3) * 610 + 'px;top:' + Math.floor(i / 3) * 310 + 'px;width:600px;height:300px';
		document.body.appendChild(el);
		return el.transferControlToOffscreen();
	});
	var answer = null;
	w.onmessage = function (e) { if (!e.data.op && answer) answer(e.data); };
	window.__drawCost = function (variant, rounds) {
		return new Promise(function (resolve) {
			answer = resolve;
			w.postMessage({ run: variant, rounds: rounds });
		});
	};
	return await new Promise(function (resolve, reject) {
		answer = resolve;
		w.onerror = function (e) { reject(new Error(e.message)); };
		w.postMessage({ variants: variants, canvases: canvases, option: option, frame: frame }, canvases);
	}).then(function () { return true; });
})()`

// drawCostWorkerJS is the worker's onmessage (see drawCostJS).
const drawCostWorkerJS = `function (e) {
			var m = e.data, core = dashdCore;
			var charts = m.variants.map(function (name, i) {
				var c = { v: i, id: 'w24-0', type: 'stacked', horizontal: false, x: 'cat', unit: '', title: '', metric: '',
					htmlLegend: true, fontSize: 0, tipOffset: 0, tipRows: 0, timeFormat: null, theme: 'default',
					canvas: m.canvases[i], width: 600, height: 300, dpr: 1, threshold: null, animation: true,
					seriesKey: null, shapeKey: null, dataKey: null, drawnAt: null, decals: null, name: name };
				var opts = { renderer: 'canvas', width: 600, height: 300, devicePixelRatio: 1 };
				if (name === 'dirtyrect' || name === 'all') opts.useDirtyRect = true;
				if (name === 'dpr2') opts.devicePixelRatio = 2;
				c.ec = echarts.init(c.canvas, 'default', opts);
				var d = core.decorate(JSON.parse(JSON.stringify(m.option)), c);
				if (name === 'notooltip') d.option.tooltip.show = false;
				if (name === 'noanimation') d.option.animation = false;
				c.threshold = d.threshold;
				c.animation = d.option.animation !== false;
				c.ec.setOption(d.option, { notMerge: true });
				var set = c.ec.setOption.bind(c.ec);
				if (name === 'silent' || name === 'all') c.ec.setOption = function (o, f) { return set(o, Object.assign({ silent: true }, f)); };
				core.applyFrame(c, m.frame, performance.now(), true, null);
				if (name === 'large') {
					set({ series: c.ec.getOption().series.map(function (s) { return { id: s.id, large: true, largeThreshold: 0 }; }) });
				}
				if (name === 'nostates' || name === 'all') {
					set({ series: c.ec.getOption().series.map(function (s) {
						return { id: s.id, emphasis: { disabled: true }, blur: {}, select: { disabled: true }, stateAnimation: { duration: 0 } };
					}), hoverLayerThreshold: Infinity });
				}
				return c;
			});
			var frame = m.frame;
			self.onmessage = function (e) {
				var c = charts.find(function (c) { return c.name === e.data.run; });
				var ms = [], k = 0;
				function round() {
					if (k++ >= e.data.rounds) { postMessage(ms); return; }
					var f = JSON.parse(JSON.stringify(frame));
					f.series.forEach(function (s) { s.data = s.data.map(function () { return Math.round(Math.random() * 1000); }); });
					var t0 = performance.now();
					core.applyFrame(c, f, t0, false, null);
					ms.push(performance.now() - t0);
					if (k === 1 && c.name === 'large' && !c.ec.getOption().series[0].large) throw new Error('large did not stick');
					requestAnimationFrame(round);
				}
				requestAnimationFrame(round);
			};
			postMessage({});
		}`
