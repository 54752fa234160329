package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// Issue 17, the browser's side: a wall of charts costs only what is on the
// screen, and its drawing spreads over a pool of paint workers.

// wallServer serves dashboard "wall" of n push charts p0 … p{n-1}.
func wallServer(t *testing.T, n int) *server {
	t.Helper()
	return startServer(t, func(f *config.File) {
		d := charts.Dashboard{ID: "wall", Title: "Wall"}
		for i := range n {
			d.Charts = append(d.Charts, charts.Chart{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("push %d", i)})
		}
		f.Dashboards = append(f.Dashboards, d)
	})
}

// openWall opens /d/wall in ctx and waits until it is live.
func openWall(t *testing.T, ctx context.Context, s *server) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/wall")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live' &&
		document.querySelector('main').getAttribute('data-paint') === 'worker'`)
}

// draws is a page expression: the frames chart id has sent to its painter.
func draws(id string) string { return viewOf(id) + `.draws()` }

// drawnCats is a page expression, a Promise: chart id shows cats
// categories, without animation when still.
func drawnCats(id string, cats int, still bool) string {
	anim := ""
	if still {
		anim = ` && o.animation === false`
	}
	return fmt.Sprintf(`%s.option().then(function (o) {
		var a = o && (o.xAxis || [])[0];
		return !!a && (a.data || []).length === %d%s;
	})`, viewOf(id), cats, anim)
}

// TestBrowserOffScreenChartsDoNotPaint: a chart scrolled away sends no
// frame to its painter however many arrive, and once scrolled in draws the
// newest at once (one message, no animation), while the charts on the
// screen draw every frame.
func TestBrowserOffScreenChartsDoNotPaint(t *testing.T) {
	t.Parallel()
	s := wallServer(t, 12)
	ctx := newBrowser(t)
	openWall(t, ctx, s)
	// p0 is at the top; p11 in the sixth row of two or more columns, far
	// below the fold of a 900 px window.
	if top := eval[float64](t, ctx, `document.querySelector('[data-id="p11"]').getBoundingClientRect().top`); top < 1200 {
		t.Fatalf("p11 at %v px: not off screen", top)
	}
	for _, id := range []string{"p0", "p11"} {
		pushFrame(t, s, id, 3, "a", "b")
	}
	pollTrue(t, ctx, "p0 drawn", drawnCats("p0", 3, false))
	before := eval[float64](t, ctx, draws("p11"))
	for k := 4; k <= 8; k++ {
		pushFrame(t, s, "p0", k, "a", "b")
		pushFrame(t, s, "p11", k, "a", "b")
		pollTrue(t, ctx, fmt.Sprintf("p0 drawn with %d categories", k), drawnCats("p0", k, false))
	}
	if got := eval[float64](t, ctx, draws("p11")); got != before {
		t.Errorf("p11, off screen, sent %v frames to its painter while 5 arrived; want none", got-before)
	}
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(`[data-id="p11"]`))); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "p11 shows the newest frame, unanimated", drawnCats("p11", 8, true))
	if got := eval[float64](t, ctx, draws("p11")); got != before+1 {
		t.Errorf("p11 scrolled in sent %v frames; want 1 (the newest)", got-before)
	}
}

// TestBrowserHiddenTabCostsNothing: while the page is hidden (the document
// says so, and announces it) no chart sends anything to a paint worker;
// shown again, each chart draws its newest frame, unanimated.
func TestBrowserHiddenTabCostsNothing(t *testing.T) {
	t.Parallel()
	s := wallServer(t, 2)
	ctx := newBrowser(t)
	openWall(t, ctx, s)
	pushFrame(t, s, "p0", 3, "a")
	pollTrue(t, ctx, "p0 drawn", drawnCats("p0", 3, false))
	// The page as a hidden tab sees it; rAF still runs in this page, so
	// only the client's own check keeps it from drawing.
	eval[bool](t, ctx, `(function () {
		window.__vis = 'hidden';
		Object.defineProperty(document, 'visibilityState', { configurable: true, get: function () { return window.__vis; } });
		Object.defineProperty(document, 'hidden', { configurable: true, get: function () { return window.__vis === 'hidden'; } });
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`)
	sent := `[` + draws("p0") + `, ` + draws("p1") + `]`
	before := eval[[]float64](t, ctx, sent)
	// A frame every chart receives: p1's own viewer below proves it came.
	v := dial(t, s, "dashboard=wall")
	for k := 4; k <= 7; k++ {
		pushFrame(t, s, "p0", k, "a")
		pushFrame(t, s, "p1", k, "a")
	}
	for seen := map[string]bool{}; !seen["p0"] || !seen["p1"]; {
		for _, f := range v.next() {
			seen[f.Chart] = seen[f.Chart] || len(f.Categories) == 7
		}
	}
	pollTrue(t, ctx, "frames reached the page", `new Promise(function (r) { setTimeout(function () { r(true); }, 500); })`)
	if got := eval[[]float64](t, ctx, sent); got[0] != before[0] || got[1] != before[1] {
		t.Errorf("hidden: frames sent to the painters went from %v to %v; want no change", before, got)
	}
	eval[bool](t, ctx, `(window.__vis = 'visible', document.dispatchEvent(new Event('visibilitychange')), true)`)
	pollTrue(t, ctx, "p0 newest, unanimated", drawnCats("p0", 7, true))
	pollTrue(t, ctx, "p1 newest, unanimated", drawnCats("p1", 7, true))
	if got := eval[[]float64](t, ctx, sent); got[0] != before[0]+1 || got[1] != before[1]+1 {
		t.Errorf("shown again: frames sent went from %v to %v; want one more each", before, got)
	}
}

// TestBrowserPaintsInAPoolOfWorkers: where the browser reports 3 cores,
// the page starts two paint workers and gives them the charts in turn;
// each draws its own.
func TestBrowserPaintsInAPoolOfWorkers(t *testing.T) {
	t.Parallel()
	s := wallServer(t, 4)
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, emulation.SetHardwareConcurrencyOverride, emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: 3}); err != nil {
		t.Fatal(err)
	}
	openWall(t, ctx, s)
	for i := range 4 {
		pushFrame(t, s, fmt.Sprintf("p%d", i), 3+i, "a")
	}
	var got []float64
	for i := range 4 {
		id := fmt.Sprintf("p%d", i)
		pollTrue(t, ctx, id+" drawn", drawnCats(id, 3+i, false))
		got = append(got, eval[float64](t, ctx, viewOf(id)+`.worker()`))
	}
	if want := []float64{0, 1, 0, 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("workers of p0…p3: %v, want %v", got, want)
	}
	// The browser runs two paint workers for the page.
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ti := range targets {
		if ti.Type == "worker" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d worker targets in the browser, want 2", n)
	}
}

// TestBrowserOneFrameOnItsWayPerChart: frames that come faster than the
// painter draws them (it is busy drawing large PNGs while 30 frames come,
// one every 40 ms) are never queued for it: each chart has at most one frame
// sent and not yet drawn, and the newest is drawn in the end.
func TestBrowserOneFrameOnItsWayPerChart(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) {
		f.Stream.MaxFPS = config.MaxFPS
		f.Dashboards = append(f.Dashboards, charts.Dashboard{ID: "wall", Title: "Wall", Charts: []charts.Chart{{ID: "p0", Title: "push 0"}}})
	})
	ctx := newBrowser(t)
	openWall(t, ctx, s)
	pushFrame(t, s, "p0", 3, "a", "b")
	pollTrue(t, ctx, "p0 drawn", drawnCats("p0", 3, false))
	// Count the frames on their way: sent, and not yet answered.
	eval[bool](t, ctx, `(function () {
		var v = `+viewOf("p0")+`, draw = v.draw;
		window.__way = { now: 0, most: 0, sent: 0 };
		v.draw = function (f, still, done) {
			__way.now++;
			__way.sent++;
			__way.most = Math.max(__way.most, __way.now);
			return draw.call(v, f, still, function () { __way.now--; if (done) done(); });
		};
		return true;
	})()`)
	// Keep the painter busy (large PNGs, drawn in the worker) while frames
	// arrive every 40 ms.
	eval[bool](t, ctx, `(function () {
		for (var i = 0; i < 8; i++) `+viewOf("p0")+`.png({ pixelRatio: 6 });
		return true;
	})()`)
	for k := 4; k < 34; k++ {
		pushFrame(t, s, "p0", 4+k%8, "a", "b")
		time.Sleep(40 * time.Millisecond)
	}
	pushFrame(t, s, "p0", 12, "a", "b")
	pollTrue(t, ctx, "the newest frame drawn", drawnCats("p0", 12, false))
	way := eval[map[string]float64](t, ctx, `__way`)
	if way["most"] != 1 {
		t.Errorf("at most %v frames on their way to the painter at once (%v sent for 31 pushed); want 1", way["most"], way["sent"])
	}
	t.Logf("%v of 31 frames sent to the painter", way["sent"])
}

// TestBrowserPaintBudget: a painter whose frames cost more than its budget
// (PAINT_BUDGET of a core, dashd-core.js) draws each chart on the screen
// at most every gap = charts × cost ÷ budget ms, always with the newest
// frame, the charts in rounds. The painter's measured cost is
// injected (its answers say 40 ms a frame, as a slow machine's would): two
// charts then draw at most every 800 ms, where without the budget they
// would draw every frame that comes (10 a second here).
func TestBrowserPaintBudget(t *testing.T) {
	t.Parallel()
	s := wallServer(t, 2)
	ctx := newBrowser(t)
	openWall(t, ctx, s)
	pushFrame(t, s, "p0", 3, "a")
	pushFrame(t, s, "p1", 3, "a")
	pollTrue(t, ctx, "p0 drawn", drawnCats("p0", 3, false))
	pollTrue(t, ctx, "p1 drawn", drawnCats("p1", 3, false))
	eval[bool](t, ctx, `(function () {
		window.__sent = { p0: [], p1: [] };
		['p0', 'p1'].forEach(function (id) {
			var v = document.querySelector('[data-chart][data-id="' + id + '"]').dashdView;
			var draw = v.draw;
			v.draw = function (f, still, done) {
				__sent[id].push(performance.now());
				return draw.call(v, f, still, function () { if (done) done({ ms: 40 }); });
			};
		});
		return true;
	})()`)
	// One frame each to learn the cost, then 3 s of frames at 20 a second.
	pushFrame(t, s, "p0", 4, "a")
	pushFrame(t, s, "p1", 4, "a")
	pollTrue(t, ctx, "p0 drawn again", drawnCats("p0", 4, false))
	start := time.Now()
	for k := 0; time.Since(start) < 3*time.Second; k++ {
		pushFrame(t, s, "p0", 5+k%8, "a")
		pushFrame(t, s, "p1", 5+k%8, "a")
		time.Sleep(50 * time.Millisecond)
	}
	pushFrame(t, s, "p0", 13, "a")
	pushFrame(t, s, "p1", 13, "a")
	pollTrue(t, ctx, "p0 shows the newest frame", drawnCats("p0", 13, false))
	pollTrue(t, ctx, "p1 shows the newest frame", drawnCats("p1", 13, false))
	sent := eval[map[string][]float64](t, ctx, `__sent`)
	for _, id := range []string{"p0", "p1"} {
		ts := sent[id]
		// 3 s at one draw per 800 ms: 4 rounds and the newest, give or
		// take one; without the budget about 30.
		if len(ts) < 3 || len(ts) > 7 {
			t.Errorf("%s sent %d frames to its painter in about 3 s (gaps %v); want 3 to 7 with a budget gap of 800 ms", id, len(ts), gaps(ts))
		}
		// The first frame sent taught the cost: the round after it was
		// timed by the cost known before.
		for i := 2; i < len(ts); i++ {
			if d := ts[i] - ts[i-1]; d < 700 {
				t.Errorf("%s: frames sent %.0f ms apart (gaps %v); want at least 800 ms (less the timer's slack)", id, d, gaps(ts))
			}
		}
	}
	// The two charts are drawn in rounds: most of p1's frames go with one
	// of p0's. (A chart whose frame came just after a round, in another
	// message, or whose painter had not answered yet, waits for the next.)
	paired, total := 0, 0
	for _, t1 := range sent["p1"][min(2, len(sent["p1"])):] {
		total++
		for _, t0 := range sent["p0"] {
			if t1-t0 < 60 && t0-t1 < 60 {
				paired++
				break
			}
		}
	}
	if paired*2 < total {
		t.Errorf("%d of p1's %d frames went in a round with one of p0's (p0 %v, p1 %v); want most", paired, total, sent["p0"], sent["p1"])
	}
}

// gaps are the differences between consecutive times, rounded to ms.
func gaps(ts []float64) []int {
	var out []int
	for i := 1; i < len(ts); i++ {
		out = append(out, int(ts[i]-ts[i-1]))
	}
	return out
}

// TestBrowserWorkerAnimationsFinish: the paint worker drives every chart's
// ZRender animation loop from its own requestAnimationFrame (dashd-paint.js
// shareAnimationLoop, issue 17). An animated update there runs to its end:
// after a moment it shows exactly what the same frame drawn still shows. If the shared loop never ticked, the picture would stay at the
// animation's first step.
func TestBrowserWorkerAnimationsFinish(t *testing.T) {
	t.Parallel()
	s := wallServer(t, 1)
	ctx := newBrowser(t)
	openWall(t, ctx, s)
	pushFrame(t, s, "p0", 3, "a", "b")
	pollTrue(t, ctx, "p0 drawn", drawnCats("p0", 3, false))
	// An update animates when the chart drew last a second ago or more
	// (dashdCore.applyFrame): the clock is the worker's performance.now,
	// which the page cannot set, so the test waits that second.
	time.Sleep(1200 * time.Millisecond)
	pushFrame(t, s, "p0", 6, "a", "b")
	pollTrue(t, ctx, "p0 drawn, animated", `(async function () {
		var o = await `+viewOf("p0")+`.option();
		return !!o && (o.xAxis[0].data || []).length === 6 && o.animation === true;
	})()`)
	// Once the picture stops moving (two PNGs 100 ms apart are the same),
	// it equals the frame drawn still; stuck at the animation's first step
	// it would not.
	pollTrue(t, ctx, "the picture settles", `(async function () {
		var v = `+viewOf("p0")+`;
		var a = await v.png({ pixelRatio: 1 });
		await new Promise(function (r) { setTimeout(r, 100); });
		return a === await v.png({ pixelRatio: 1 });
	})()`)
	same := evalAwait[bool](t, ctx, `(async function () {
		var v = `+viewOf("p0")+`;
		var animated = await v.png({ pixelRatio: 1 });
		var f = await (await fetch('/api/v1/charts/p0/frame')).json();
		await new Promise(function (r) { v.draw(f, true, r); });
		return animated === await v.png({ pixelRatio: 1 });
	})()`)
	if !same {
		t.Error("the animated update ended elsewhere than the same frame drawn still: the worker's animation loop did not run it to its end")
	}
}
