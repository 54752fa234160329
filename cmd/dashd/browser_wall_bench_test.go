package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// BenchmarkBrowserWall measures issue 17's wall from outside: a dashboard
// of 24 stacked charts (10 categories × 5 series each) in three columns,
// open in Chromium at 1920×1080, a pusher changing every chart at 2 and at
// 10 updates a second (one line-protocol POST per tick), and the CPU time
// of all the browser's processes (utime + stime from /proc, summed over
// the browser and every process under it) over a window, in cores. Side
// by side in one run, each in a fresh tab of the same browser, taking
// turns:
//
//	dashd  what ships: /d/wall
//	old    /d/wall with dashd-core.js and dashd-paint.js of the commit
//	       DASHD_WALL_BASE (git show; skipped without it): the client
//	       before a change, served through a proxy that swaps those two
//	       files, everything else (server, page, worker script) the same
//	plain  testdata/plain-wall.html: ECharts in the page, setOption per
//	       frame of the same stream (the yardstick)
//
// Then the 48-chart wall at 10 Hz with what ships: push → draw latency,
// from the push time written into each frame's first value to the paint
// worker's answer to an ask sent right behind the frame (its setOption is
// done; the pixels follow at its next animation frame), for up to 20
// sampled frames a second of the charts on the screen.
//
//	DASHD_WALL_BASE=$(git merge-base HEAD integ) go test -run '^$' -bench BrowserWall -benchtime 1x ./cmd/dashd/
//
// DASHD_WALL_SECONDS sets the window (default 10 s, after 4 s to settle);
// DASHD_WALL_HZ=N measures the 24-chart wall at N Hz only, and
// DASHD_WALL_48=0 leaves out the 48-chart wall (shorter runs while tuning).
func BenchmarkBrowserWall(b *testing.B) {
	window := wallWindow(10 * time.Second)
	s := wallBenchServer(b)
	proxies := wallBenchProxies(b, s)
	browser := wallBrowser(b, time.Hour)
	variants := []string{"dashd", "plain"}
	if proxies["old"] != nil {
		variants = []string{"dashd", "old", "plain"}
	}
	rates := []int{2, 10}
	if v, err := strconv.Atoi(os.Getenv("DASHD_WALL_HZ")); err == nil && v > 0 {
		rates = []int{v}
	}
	for i, hz := range rates {
		for _, v := range rotate(variants, i) {
			pageURL := proxies["dashd"].URL + "/d/wall24"
			switch v {
			case "old":
				pageURL = proxies["old"].URL + "/d/wall24"
			case "plain":
				pageURL = proxies["dashd"].URL + "/plain-wall.html?dashboard=wall24"
			}
			cores, frames := wallCPU(b, browser, s, v, pageURL, 24, hz, window, false)
			b.ReportMetric(cores, fmt.Sprintf("%s-%dHz-cores", v, hz))
			b.Logf("%s at %d Hz: %.3f cores, %d frames drawn by the page (%.0f/s)", v, hz, cores, frames, float64(frames)/window.Seconds())
		}
	}
	if os.Getenv("DASHD_WALL_48") == "0" {
		return
	}
	for _, v := range []string{"dashd", "old"} {
		if proxies[v] == nil {
			continue
		}
		cores, _ := wallCPU(b, browser, s, v, proxies[v].URL+"/d/wall48", 48, 10, window, true)
		b.ReportMetric(cores, v+"-48x10Hz-cores")
	}
}

// wallBenchServer serves dashboards wall24 and wall48: 24 and 48 stacked
// charts of metric "wall", one per value of tag chart.
func wallBenchServer(b *testing.B) *server {
	return startServer(b, func(f *config.File) {
		for _, n := range []int{24, 48} {
			d := charts.Dashboard{ID: fmt.Sprintf("wall%d", n), Title: "Wall"}
			for i := range n {
				d.Charts = append(d.Charts, charts.Chart{
					ID: fmt.Sprintf("w%d-%d", n, i), Title: fmt.Sprintf("chart %d", i), Type: charts.Stacked,
					Metric: "wall", Where: map[string]string{"chart": fmt.Sprintf("w%d-%d", n, i)},
					X: "cat", Series: "ser", Agg: charts.Last, Window: charts.Duration(time.Minute),
				})
			}
			f.Dashboards = append(f.Dashboards, d)
		}
	})
}

// wallBenchProxies are the ways into s: "dashd" (what ships) and, with
// DASHD_WALL_BASE, "old" (the client of that commit).
func wallBenchProxies(b *testing.B, s *server) map[string]*httptest.Server {
	proxies := map[string]*httptest.Server{"dashd": wallProxy(b, s.url, nil)}
	if base := os.Getenv("DASHD_WALL_BASE"); base != "" {
		old := map[string][]byte{}
		for _, f := range []string{"dashd-core.js", "dashd-paint.js"} {
			out, err := exec.Command("git", "show", base+":web/static/"+f).Output()
			if err != nil {
				b.Fatalf("git show %s:web/static/%s: %v", base, f, err)
			}
			old["/static/"+f] = out
		}
		proxies["old"] = wallProxy(b, s.url, old)
	}
	return proxies
}

// wallColumnsJS lays a dashd page out in three columns, as the issue's
// wall (the page's grid makes four at 1920 px), and counts in __drawn the
// frames its charts send to their painters.
const wallColumnsJS = `(function () {
	var st = document.createElement('style');
	st.textContent = 'main.grid { grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }';
	document.head.appendChild(st);
	window.__drawn = 0;
	document.querySelectorAll('[data-chart]').forEach(function (el) {
		var v = el.dashdView, d = v.draw;
		v.draw = function () { window.__drawn++; return d.apply(v, arguments); };
	});
	return true;
})()`

// wallProxy is a reverse proxy to dashd at target that answers the paths
// of swap with their bodies instead (the old client), and serves
// testdata/plain-wall.html. Pages, static files and the stream all pass
// through it, so every variant is of the same origin kind.
func wallProxy(tb testing.TB, target string, swap map[string][]byte) *httptest.Server {
	tb.Helper()
	u, _ := url.Parse(target)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // dashd sees its page's own origin
	}}
	plain, err := os.ReadFile(filepath.Join("testdata", "plain-wall.html"))
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain-wall.html" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(plain)
			return
		}
		if body, ok := swap[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// wallBrowser starts a headless Chromium with a 1920×1080 window.
func wallBrowser(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1920, 1080),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	tb.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// wallProbeJS samples push → draw latency on a dashd page: up to 20 frames
// a second, of charts on the screen, each followed by an ask to its painter.
// It also samples every 100 ms the age of what each chart on the screen
// shows (now − the push time of the frame its painter drew last): a paint
// budget that draws a chart less often than frames come keeps the latency
// of a drawn frame but shows older data between draws, and this says how
// much older.
const wallProbeJS = `(function () {
	var lat = [], age = [];
	var last = 0;
	window.__wall = { lat: lat, age: age };
	var els = [];
	document.querySelectorAll('[data-chart]').forEach(function (el) {
		var view = el.dashdView;
		if (!view) return;
		els.push(el);
		var draw = view.draw;
		view.draw = function (f, still, done) {
			var pushed = f && f.series && f.series[0] && f.series[0].data[0];
			draw.call(view, f, still, function (got) {
				el.__shownPush = pushed;
				if (done) done(got);
			});
			var now = performance.now();
			var r = el.getBoundingClientRect();
			if (now - last < 50 || r.bottom < 0 || r.top > innerHeight) return;
			last = now;
			view.option().then(function () { lat.push(Date.now() % 1e8 - pushed); });
		};
	});
	setInterval(function () {
		els.forEach(function (el) {
			var r = el.getBoundingClientRect();
			if (r.bottom < 0 || r.top > innerHeight || typeof el.__shownPush !== 'number') return;
			age.push(Date.now() % 1e8 - el.__shownPush);
		});
	}, 100);
	return true;
})()`

// wallCPU opens pageURL in a new tab of browser, pushes to the n charts of
// its wall at hz, and returns the browser's CPU over window, in cores, and
// how many frames the page drew (or handed to its painter).
func wallCPU(b *testing.B, browser context.Context, s *server, variant, pageURL string, n, hz int, window time.Duration, latency bool) (float64, int) {
	b.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	// DASHD_WALL_CORES=N makes the page see N cores (the paint pool has
	// N − 1 workers, at most 4): the pool of a larger machine, on this one.
	if v, err := strconv.Atoi(os.Getenv("DASHD_WALL_CORES")); err == nil && v > 0 {
		if err := chromedp.Do(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, emulation.SetHardwareConcurrencyOverride, emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: int64(v)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		b.Fatal(err)
	}
	plain := strings.Contains(pageURL, "plain-wall")
	ready := `document.querySelector('[data-link]') && document.querySelector('[data-link]').getAttribute('data-state') === 'live'`
	if plain {
		ready = `!!window.__plain && __plain.ready`
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.Fatal(err)
	}
	if !plain {
		js := wallColumnsJS
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			b.Fatal(err)
		}
		if latency {
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](wallProbeJS)); err != nil {
				b.Fatal(err)
			}
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		wallPush(s, n, hz, stop)
	}()
	time.Sleep(4 * time.Second) // layout, first frames, caches
	count := `window.__plain ? __plain.frames : window.__drawn`
	f0, err := chromedp.Run(ctx, chromedp.Evaluate[float64](count))
	if err != nil {
		b.Fatal(err)
	}
	if latency {
		chromedp.Run(ctx, chromedp.Evaluate[bool](`(__wall.lat.length = 0, __wall.age.length = 0, true)`))
	}
	mains, workers := rendererThreads(browser)
	m0, w0 := threadCPU(mains), threadCPU(workers)
	c0, t0 := browserCPU(browser), time.Now()
	time.Sleep(window)
	c1, t1 := browserCPU(browser), time.Now()
	m1, w1 := threadCPU(mains), threadCPU(workers)
	b.Logf("%s: renderer main threads %.3f cores, dedicated workers %.3f cores; by process type %s", pageURL,
		wallSum(m0, m1)/t1.Sub(t0).Seconds(), wallSum(w0, w1)/t1.Sub(t0).Seconds(), byType(c0, c1, t1.Sub(t0).Seconds()))
	f1, err := chromedp.Run(ctx, chromedp.Evaluate[float64](count))
	if err != nil {
		b.Fatal(err)
	}
	if latency {
		lat, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`__wall.lat`))
		if err != nil {
			b.Fatal(err)
		}
		sort.Float64s(lat)
		if len(lat) > 0 {
			p := func(q float64) float64 { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
			b.ReportMetric(p(0.5), fmt.Sprintf("%s-%dx%dHz-p50-ms", variant, n, hz))
			b.ReportMetric(p(0.95), fmt.Sprintf("%s-%dx%dHz-p95-ms", variant, n, hz))
			b.ReportMetric(p(0.99), fmt.Sprintf("%s-%dx%dHz-p99-ms", variant, n, hz))
			b.Logf("%s, %d charts at %d Hz: push → draw over %d sampled frames: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms", variant, n, hz, len(lat), p(0.5), p(0.95), p(0.99), lat[len(lat)-1])
		}
		age, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`__wall.age`))
		if err != nil {
			b.Fatal(err)
		}
		sort.Float64s(age)
		if len(age) > 0 {
			p := func(q float64) float64 { return age[min(len(age)-1, int(q*float64(len(age))))] }
			b.ReportMetric(p(0.5), fmt.Sprintf("%s-%dx%dHz-age-p50-ms", variant, n, hz))
			b.ReportMetric(p(0.95), fmt.Sprintf("%s-%dx%dHz-age-p95-ms", variant, n, hz))
			b.ReportMetric(p(0.99), fmt.Sprintf("%s-%dx%dHz-age-p99-ms", variant, n, hz))
			b.Logf("%s, %d charts at %d Hz: age of what the screen shows, %d samples: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms", variant, n, hz, len(age), p(0.5), p(0.95), p(0.99), age[len(age)-1])
		}
	}
	close(stop)
	<-done
	return wallCPUSince(c0, c1) / t1.Sub(t0).Seconds(), int(f1 - f0)
}

// wallPush changes every chart of the wall of n hz times a second until
// stop: 10 categories × 5 series, random values, and in c0/s0 the push
// time (Unix ms mod 1e8), which the latency probe reads.
func wallPush(s *server, n, hz int, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second / time.Duration(hz))
	defer tick.Stop()
	var sb strings.Builder
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		sb.Reset()
		now := time.Now().UnixMilli() % 1e8
		for i := range n {
			for c := range 10 {
				for se := range 5 {
					v := float64(rand.IntN(1000))
					if c == 0 && se == 0 {
						v = float64(now)
					}
					fmt.Fprintf(&sb, "wall,chart=w%d-%d,cat=c%d,ser=s%d value=%g\n", n, i, c, se, v)
				}
			}
		}
		resp, err := http.Post(s.url+"/write", "text/plain", strings.NewReader(sb.String()))
		if err == nil {
			resp.Body.Close()
		}
	}
}

// browserCPU is the CPU time (utime + stime, s) of each process of the
// browser of ctx: its root and every process under it, by pid.
func browserCPU(ctx context.Context) map[int]float64 {
	root := chromedp.FromContext(ctx).Browser.Process()
	out := map[int]float64{}
	if root == nil {
		return out
	}
	dirs, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	cpu := map[int]float64{}
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
		if len(f) < 13 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		cpu[pid] = (ut + st) / 100 // USER_HZ
	}
	for pid := range cpu {
		for p := pid; p > 1; p = parent[p] {
			if p == root.Pid {
				out[pid] = cpu[pid]
				break
			}
		}
	}
	return out
}

// wallCPUSince sums the CPU time the browser's processes spent between
// two browserCPU readings (a process born between them counts from 0).
func wallCPUSince(before, now map[int]float64) float64 {
	var sum float64
	for pid, c := range now {
		sum += c - before[pid]
	}
	return sum
}

// wallSum is the CPU time threads spent between two threadCPU readings.
func wallSum(before, now []float64) float64 {
	var sum float64
	for i := range now {
		if i < len(before) {
			sum += now[i] - before[i]
		}
	}
	return sum
}

// byType is the CPU between two browserCPU readings by process type (the
// --type= of its command line; "browser" for the root), in cores.
func byType(before, now map[int]float64, secs float64) string {
	sum := map[string]float64{}
	for pid, c := range now {
		typ := "browser"
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		// Chromium rewrites its command line (one string, spaces).
		for _, a := range strings.Fields(strings.ReplaceAll(string(cmd), "\x00", " ")) {
			if t, ok := strings.CutPrefix(a, "--type="); ok {
				typ = t
			}
		}
		sum[typ] += (c - before[pid]) / secs
	}
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s %.3f ", k, sum[k])
	}
	return strings.TrimSpace(sb.String())
}

// BenchmarkBrowserWallIdle measures what the 24-chart wall costs the
// browser when no data comes: the page open, drawn, and quiet (a pusher
// ran 3 s, then 2 s to settle), over a 5 s window, in cores, for what
// ships and (with DASHD_WALL_BASE) the old client, taking turns twice.
//
//	DASHD_WALL_BASE=d3e6f28 go test -run '^$' -bench BrowserWallIdle -benchtime 1x -v ./cmd/dashd/
func BenchmarkBrowserWallIdle(b *testing.B) {
	s := wallBenchServer(b)
	proxies := wallBenchProxies(b, s)
	browser := wallBrowser(b, time.Hour)
	for range 2 {
		for _, v := range []string{"dashd", "old"} {
			if proxies[v] == nil {
				continue
			}
			func() {
				ctx, cancel := chromedp.NewContext(browser)
				defer cancel()
				if err := chromedp.Do(ctx, chromedp.Navigate(proxies[v].URL+"/d/wall24")); err != nil {
					b.Fatal(err)
				}
				ready := `document.querySelector('[data-link]') && document.querySelector('[data-link]').getAttribute('data-state') === 'live'`
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
					b.Fatal(err)
				}
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](wallColumnsJS)); err != nil {
					b.Fatal(err)
				}
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					wallPush(s, 24, 1, stop)
				}()
				time.Sleep(3 * time.Second)
				close(stop)
				<-done
				time.Sleep(2 * time.Second)
				mains, workers := rendererThreads(browser)
				m0, w0 := threadCPU(mains), threadCPU(workers)
				c0, t0 := browserCPU(browser), time.Now()
				time.Sleep(5 * time.Second)
				c1, t1 := browserCPU(browser), time.Now()
				m1, w1 := threadCPU(mains), threadCPU(workers)
				secs := t1.Sub(t0).Seconds()
				cores := wallCPUSince(c0, c1) / secs
				b.ReportMetric(cores, v+"-idle-cores")
				b.Logf("%s idle: %.3f cores (renderer main threads %.3f, dedicated workers %.3f; by process type %s)", v, cores,
					wallSum(m0, m1)/secs, wallSum(w0, w1)/secs, byType(c0, c1, secs))
			}()
		}
	}
}

// wallWindow is the measuring window of the wall benchmarks:
// DASHD_WALL_SECONDS if set to a positive number of seconds, else def.
func wallWindow(def time.Duration) time.Duration {
	if v, err := strconv.Atoi(os.Getenv("DASHD_WALL_SECONDS")); err == nil && v > 0 {
		return time.Duration(v) * time.Second
	}
	return def
}
