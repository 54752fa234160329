package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
)

// The browser benchmarks measure the main-thread cost of one update of a
// stacked chart of 50 categories × 10 series (500 bars) in Chromium, drawn
// as the page draws it: an ECharts instance the size of the chart
// req-by-route of /d/web, given that chart's base option as the page
// decorates it, then frames of new random values every time, each drawn by
// dashdCore.applyFrame (what the page's draw does).
//
// Each runs its variants interleaved in blocks, in the same page, each
// variant on an instance of its own:
//
//	after   dashdCore.applyFrame, what ships
//	before  the client before 6811d6b: frameOption with
//	        {replaceMerge: ['series']}, the base option's animation on
//	idle    (10 Hz only) no updates: what the page costs meanwhile
//
// b.N is the number of updates per variant; the 10 Hz one takes 0.1 s per
// update and variant, so give it a count:
//
//	go test -run '^$' -bench 'BrowserUpdate$' -benchtime 1000x ./cmd/dashd/
//	go test -run '^$' -bench BrowserUpdate10Hz -benchtime 300x ./cmd/dashd/

// updateBenchJS sets up window.__upd in a /d/web page: make(name) draws
// an instance for a variant, sync(name, n) and hz(name, n) update it.
const updateBenchJS = `(function () {
	var src = document.querySelector('[data-chart][data-id="req-by-route"]');
	var W = src.clientWidth, H = src.clientHeight;
	var categories = [];
	for (var i = 0; i < 50; i++) categories.push('/route-' + i);
	var seq = 0;
	function frame() {
		var series = [];
		for (var s = 0; s < 10; s++) {
			var data = [];
			for (var c = 0; c < 50; c++) data.push(Math.round(Math.random() * 1000));
			series.push({ name: 'status-' + s, data: data });
		}
		return { type: 'frame', chart: 'req-by-route', seq: ++seq, categories: categories, series: series };
	}
	var update = {
		after: function (c, f) { dashdCore.applyFrame(c, f, performance.now()); },
		before: function (c, f) {
			var opt = dashdCore.frameOption(c, f);
			delete opt.animation; // it had none: the base option's (on) held
			var key = opt.series.map(function (s) { return s.id; }).join('\n');
			if (key !== c.seriesKey) {
				c.seriesKey = key;
				c.ec.dispatchAction({ type: 'hideTip' });
			}
			c.ec.setOption(opt, { replaceMerge: ['series'] });
		},
	};
	var charts = {};
	function make(name) {
		if (charts[name]) return Promise.resolve(charts[name]);
		var el = document.createElement('div');
		el.style.cssText = 'position:fixed;left:0;top:0;z-index:10;background:#fff;width:' + W + 'px;height:' + H + 'px';
		document.body.appendChild(el);
		var c = { id: 'req-by-route', type: 'stacked', horizontal: false, x: 'route', unit: '', el: el,
			ec: echarts.init(el, 'default', { renderer: 'canvas' }), seriesKey: null, threshold: null, animation: true, drawnAt: null };
		return fetch('/api/v1/charts/req-by-route/option').then(function (r) { return r.json(); }).then(function (o) {
			var d = dashdCore.decorate(o, c);
			c.threshold = d.threshold;
			c.animation = d.option.animation !== false;
			c.ec.setOption(d.option, { notMerge: true });
			update[name](c, frame());
			charts[name] = c;
			return c;
		});
	}
	function onTop(name) {
		Object.keys(charts).forEach(function (k) { charts[k].el.style.zIndex = k === name ? 11 : 10; });
	}
	// sync: n updates in a loop, each timed with the paint it causes,
	// rasterising included (reading a pixel makes the canvas draw now).
	function sync(name, n) {
		return make(name).then(function (c) {
			onTop(name);
			var ctx = c.el.querySelector('canvas').getContext('2d');
			var total = 0;
			for (var k = 0; k < n; k++) {
				var f = frame();
				var t0 = performance.now();
				update[name](c, f);
				ctx.getImageData(0, 0, 1, 1);
				total += performance.now() - t0;
			}
			return total / n;
		});
	}
	// hz: n updates at 10 Hz, then a second for what they leave running
	// (animations); it returns the mean time in the update calls.
	function hz(name, n) {
		return make(name).then(function (c) {
			onTop(name);
			return new Promise(function (resolve) {
				var k = 0, total = 0;
				var iv = setInterval(function () {
					var f = frame();
					var t0 = performance.now();
					update[name](c, f);
					total += performance.now() - t0;
					if (++k >= n) {
						clearInterval(iv);
						setTimeout(function () { resolve(total / n); }, 1000);
					}
				}, 100);
			});
		});
	}
	function idle(n) {
		return new Promise(function (resolve) { setTimeout(function () { resolve(0); }, n * 100 + 1000); });
	}
	window.__upd = { make: make, sync: sync, hz: hz, idle: idle };
	return true;
})()`

// updateBenchPage opens /d/web in a browser that may run for d, and sets
// up window.__upd.
func updateBenchPage(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	s := startServer(tb, nil)
	return updateBenchPageAt(tb, newBrowserFor(tb, d), s.url)
}

// updateBenchPageAt opens dashd's /d/web in ctx and sets up window.__upd.
func updateBenchPageAt(tb testing.TB, ctx context.Context, url string) context.Context {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/d/web")); err != nil {
		tb.Fatal(err)
	}
	ready := `(function () {
		var el = document.querySelector('[data-chart][data-id="req-by-route"]');
		var c = el && echarts.getInstanceByDom(el);
		return !!(c && c.getOption()) && document.querySelector('[data-link]').getAttribute('data-state') === 'live';
	})()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		tb.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](updateBenchJS)); err != nil {
		tb.Fatal(err)
	}
	for _, v := range []string{"after", "before"} {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`__upd.make('`+v+`').then(function () { return true; })`, chromedp.EvalAwaitPromise)); err != nil {
			tb.Fatal(err)
		}
	}
	return ctx
}

// blocks splits n updates into blocks of at most size.
func blocks(n, size int) []int {
	var out []int
	for n > 0 {
		k := min(n, size)
		out = append(out, k)
		n -= k
	}
	return out
}

// rotate is vs from its i-th (mod len): the variants take turns to run
// first, after the round trip to the page, and after each other.
func rotate(vs []string, i int) []string {
	i %= len(vs)
	return append(append([]string(nil), vs[i:]...), vs[:i]...)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkBrowserUpdate: b.N updates of each variant in a loop, in
// blocks of 100, interleaved (in turns: after, before; before, after; …). ms/update is the mean main-thread time of
// one update of what ships, with its paint (ECharts draws the canvas
// within setOption, Chromium rasterises it when a pixel is read); the
// frames that follow (an animation, Chromium's own frame work) are not in
// it: BenchmarkBrowserUpdate10Hz has them.
func BenchmarkBrowserUpdate(b *testing.B) {
	ctx := updateBenchPage(b, 30*time.Minute)
	b.ResetTimer()
	sum := map[string]float64{}
	for i, k := range blocks(b.N, 100) {
		for _, v := range rotate([]string{"after", "before"}, i) {
			ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`__upd.sync(%q, %d)`, v, k), chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatal(err)
			}
			sum[v] += ms * float64(k)
		}
	}
	b.ReportMetric(sum["after"]/float64(b.N), "ms/update")
	b.ReportMetric(sum["before"]/float64(b.N), "before-ms/update")
}

// BenchmarkBrowserUpdate10Hz: b.N updates of each variant at 10 a second,
// in blocks of 50 (5 s, then 1 s for what the updates leave running),
// interleaved with as long a wait without updates (idle). Each block's
// main-thread time is the page's Performance.getMetrics TaskDuration
// (DevTools) over it, and, where /proc has it, the CPU time of the
// renderers' main threads (which time spent waiting for a core, on a busy
// machine, does not inflate). The figures are medians over the blocks,
// per update:
//
//	ms/update          what ships: TaskDuration less idle's, the time
//	                   the updates add to the page's main thread
//	task-ms/update     the same before idle's is taken away
//	idle-ms/update     idle's TaskDuration, per 100 ms
//	before-ms/update   the client before, as ms/update
//	cpu-ms/update, before-cpu-ms/update, idle-cpu-ms/update
//	                   thread CPU time, the same way
//	setoption-ms/update, before-setoption-ms/update
//	                   time inside the update calls, in the page
func BenchmarkBrowserUpdate10Hz(b *testing.B) {
	ctx := updateBenchPage(b, 60*time.Minute)
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		b.Fatal(err)
	}
	threads := rendererMainThreads(ctx)
	b.ResetTimer()
	task, cpu, inPage := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for i, k := range blocks(b.N, 50) {
		for _, v := range rotate([]string{"idle", "after", "before"}, i) {
			expr := fmt.Sprintf(`__upd.hz(%q, %d)`, v, k)
			if v == "idle" {
				expr = fmt.Sprintf(`__upd.idle(%d)`, k)
			}
			t0, c0 := taskDuration(b, ctx), threadCPU(threads)
			ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr, chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatal(err)
			}
			t1, c1 := taskDuration(b, ctx), threadCPU(threads)
			task[v] = append(task[v], (t1-t0)*1000/float64(k))
			cpu[v] = append(cpu[v], cpuSince(c0, c1)*1000/float64(k))
			inPage[v] = append(inPage[v], ms)
		}
	}
	idle, idleCPU := median(task["idle"]), median(cpu["idle"])
	b.ReportMetric(median(task["after"])-idle, "ms/update")
	b.ReportMetric(median(task["after"]), "task-ms/update")
	b.ReportMetric(idle, "idle-ms/update")
	b.ReportMetric(median(task["before"])-idle, "before-ms/update")
	if threads != nil {
		b.ReportMetric(median(cpu["after"])-idleCPU, "cpu-ms/update")
		b.ReportMetric(median(cpu["before"])-idleCPU, "before-cpu-ms/update")
		b.ReportMetric(idleCPU, "idle-cpu-ms/update")
	}
	b.ReportMetric(median(inPage["after"]), "setoption-ms/update")
	b.ReportMetric(median(inPage["before"]), "before-setoption-ms/update")
}

// taskDuration is the page's Performance.getMetrics TaskDuration, in s.
func taskDuration(tb testing.TB, ctx context.Context) float64 {
	tb.Helper()
	return pageMetric(tb, ctx, "TaskDuration")
}

// pageMetric is the value of the named Performance.getMetrics metric of
// the page (Performance must be enabled).
func pageMetric(tb testing.TB, ctx context.Context, name string) float64 {
	tb.Helper()
	res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range res.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	tb.Fatalf("no %s in Performance.getMetrics", name)
	return 0
}

// rendererMainThreads returns the /proc schedstat files of the main
// threads of the browser's renderer processes, nil without /proc.
func rendererMainThreads(ctx context.Context) []string {
	root := chromedp.FromContext(ctx).Browser.Process()
	if root == nil {
		return nil
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := map[int]int{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	var out []string
	for pid := range parent {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if !strings.Contains(string(cmd), "--type=renderer") {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root.Pid {
				out = append(out, fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, pid))
				break
			}
		}
	}
	return out
}

// threadCPU is the CPU time so far of each of threads, in s.
func threadCPU(threads []string) []float64 {
	out := make([]float64, len(threads))
	for i, p := range threads {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseFloat(f[0], 64)
			out[i] = ns / 1e9
		}
	}
	return out
}

// cpuSince is the CPU time of the busiest thread since before (threadCPU):
// the renderer of the page, the others hardly run.
func cpuSince(before, now []float64) float64 {
	var most float64
	for i := range now {
		most = max(most, now[i]-before[i])
	}
	return most
}
