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

// The browser benchmark measures the main-thread cost of one update of a
// stacked chart of 50 categories × 10 series (500 bars) in Chromium, drawn
// as the page draws it: a view (dashdPaint.host) the size of the chart
// req-by-route of /d/web, given that chart's base option, then frames of
// new random values every time, each as the text of a stream message that
// the page parses and hands to the view (what live() does per frame).
//
// It runs its variants interleaved in blocks, in the same page, each on a
// view of its own:
//
//	worker  what ships: the view draws in dashd's paint worker
//	page    the same painter on the page's main thread (the fallback
//	        where a browser has no OffscreenCanvas, and what shipped
//	        before the worker)
//	idle    no updates: what the page costs meanwhile
//
// b.N is the number of updates per variant; each takes 0.1 s, so give it a
// count:
//
//	go test -run '^$' -bench BrowserUpdate10Hz -benchtime 300x ./cmd/dashd/

// updateBenchJS sets up window.__upd in a /d/web page: make(name) opens a
// view for a variant, hz(name, n) updates it.
const updateBenchJS = `(function () {
	var src = document.querySelector('[data-chart][data-id="req-by-route"]');
	var W = src.clientWidth, H = src.clientHeight;
	var categories = [];
	for (var i = 0; i < 50; i++) categories.push('/route-' + i);
	var seq = 0;
	// message is the text of a stream message carrying a new frame.
	function message() {
		var series = [];
		for (var s = 0; s < 10; s++) {
			var data = [];
			for (var c = 0; c < 50; c++) data.push(Math.round(Math.random() * 1000));
			series.push({ name: 'status-' + s, data: data });
		}
		return JSON.stringify({ type: 'frame', chart: 'req-by-route', seq: ++seq, categories: categories, series: series });
	}
	function update(c, text) {
		dashdCore.framesOf(JSON.parse(text)).forEach(function (f) { c.view.draw(f); });
	}
	var hosts = {
		worker: function () {
			var h = dashdPaint.host({ worker: document.body.getAttribute('data-paint-worker') });
			return h.ready.then(function () {
				if (!h.inWorker) throw new Error('the paint worker did not start');
				return h;
			});
		},
		page: function () {
			return dashdPaint.loadScript(document.body.getAttribute('data-echarts'), 'echarts').then(function (echarts) {
				return dashdPaint.host({ echarts: echarts });
			});
		},
	};
	var charts = {};
	function make(name) {
		if (charts[name]) return Promise.resolve(charts[name]);
		var el = document.createElement('div');
		el.style.cssText = 'position:fixed;left:0;top:0;z-index:10;background:#fff;width:' + W + 'px;height:' + H + 'px';
		document.body.appendChild(el);
		var c = { el: el, view: null };
		return hosts[name]().then(function (h) {
			c.view = h.open(el, { id: 'req-by-route', type: 'stacked', horizontal: false, x: 'route', unit: '' }, 'default');
			return fetch('/api/v1/charts/req-by-route/option');
		}).then(function (r) { return r.json(); }).then(function (o) {
			c.view.base(o);
			update(c, message());
			return c.view.option(); // the painter has drawn it
		}).then(function () {
			charts[name] = c;
			return c;
		});
	}
	function onTop(name) {
		Object.keys(charts).forEach(function (k) { charts[k].el.style.zIndex = k === name ? 11 : 10; });
	}
	// hz: n updates at 10 Hz, then a second for what they leave running
	// (animations, the worker catching up); it returns the mean time in the
	// update calls.
	function hz(name, n) {
		return make(name).then(function (c) {
			onTop(name);
			return new Promise(function (resolve) {
				var k = 0, total = 0;
				var iv = setInterval(function () {
					var text = message();
					var t0 = performance.now();
					update(c, text);
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
	window.__upd = { make: make, hz: hz, idle: idle, message: message, update: update };
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
	ready := `document.querySelector('main').getAttribute('data-paint') === 'worker' &&
		document.querySelector('[data-link]').getAttribute('data-state') === 'live'`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		tb.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](updateBenchJS)); err != nil {
		tb.Fatal(err)
	}
	for _, v := range []string{"worker", "page"} {
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

// BenchmarkBrowserUpdate10Hz: b.N updates of each variant at 10 a second,
// in blocks of 50 (5 s, then 1 s for what the updates leave running),
// interleaved with as long a wait without updates (idle). Each block's
// main-thread time is the page's Performance.getMetrics TaskDuration
// (DevTools) over it, and, where /proc has it, the CPU time of the
// renderers' main threads and of their dedicated workers (CPU time does
// not count waiting for a core on a busy machine). The figures are medians
// over the blocks, per update:
//
//	ms/update          what ships: TaskDuration less idle's, the time
//	                   the updates add to the page's main thread
//	task-ms/update     the same before idle's is taken away
//	idle-ms/update     idle's TaskDuration, per 100 ms
//	page-ms/update     drawing on the main thread, as ms/update
//	cpu-ms/update, page-cpu-ms/update, idle-cpu-ms/update
//	                   main-thread CPU time, the same way
//	worker-cpu-ms/update
//	                   the paint worker's CPU time less idle's: what the
//	                   drawing costs where it went
//	call-ms/update, page-call-ms/update
//	                   time inside the update calls, in the page
func BenchmarkBrowserUpdate10Hz(b *testing.B) {
	ctx := updateBenchPage(b, 60*time.Minute)
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		b.Fatal(err)
	}
	mains, workers := rendererThreads(ctx)
	b.ResetTimer()
	task, cpu, wcpu, inPage := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for i, k := range blocks(b.N, 50) {
		for _, v := range rotate([]string{"idle", "worker", "page"}, i) {
			expr := fmt.Sprintf(`__upd.hz(%q, %d)`, v, k)
			if v == "idle" {
				expr = fmt.Sprintf(`__upd.idle(%d)`, k)
			}
			t0, c0, w0 := taskDuration(b, ctx), threadCPU(mains), threadCPU(workers)
			ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr, chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatal(err)
			}
			t1, c1, w1 := taskDuration(b, ctx), threadCPU(mains), threadCPU(workers)
			task[v] = append(task[v], (t1-t0)*1000/float64(k))
			cpu[v] = append(cpu[v], cpuSince(c0, c1)*1000/float64(k))
			wcpu[v] = append(wcpu[v], cpuSince(w0, w1)*1000/float64(k))
			inPage[v] = append(inPage[v], ms)
		}
	}
	idle, idleCPU := median(task["idle"]), median(cpu["idle"])
	b.ReportMetric(median(task["worker"])-idle, "ms/update")
	b.ReportMetric(median(task["worker"]), "task-ms/update")
	b.ReportMetric(idle, "idle-ms/update")
	b.ReportMetric(median(task["page"])-idle, "page-ms/update")
	if mains != nil {
		b.ReportMetric(median(cpu["worker"])-idleCPU, "cpu-ms/update")
		b.ReportMetric(median(cpu["page"])-idleCPU, "page-cpu-ms/update")
		b.ReportMetric(idleCPU, "idle-cpu-ms/update")
	}
	if workers != nil {
		b.ReportMetric(median(wcpu["worker"])-median(wcpu["idle"]), "worker-cpu-ms/update")
	}
	b.ReportMetric(median(inPage["worker"]), "call-ms/update")
	b.ReportMetric(median(inPage["page"]), "page-call-ms/update")
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

// rendererThreads returns the /proc schedstat files of the threads of the
// browser's renderer processes: their main threads, and their dedicated
// workers' threads; nil without /proc.
func rendererThreads(ctx context.Context) (mains, workers []string) {
	root := chromedp.FromContext(ctx).Browser.Process()
	if root == nil {
		return nil, nil
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil
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
	for pid := range parent {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if !strings.Contains(string(cmd), "--type=renderer") {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p != root.Pid {
				continue
			}
			mains = append(mains, fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, pid))
			tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			for _, t := range tasks {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/comm", pid, t.Name()))
				if strings.HasPrefix(string(comm), "DedicatedWorker") {
					workers = append(workers, fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
				}
			}
			break
		}
	}
	return mains, workers
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
// the renderer of the page (or its paint worker), the others hardly run.
func cpuSince(before, now []float64) float64 {
	var most float64
	for i := range now {
		most = max(most, now[i]-before[i])
	}
	return most
}
