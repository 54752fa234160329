package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 17, third pass: a page chooses freshness over CPU with
// ?paint=fresh (the paint attribute of <dashd-chart>): its visible charts
// draw every frame as it comes, without the paint budget, still one frame
// per chart on its way to the painter and nothing for a chart off screen.
// The default ("budget") draws a saturating stream in rounds.

// paintRecorderJS counts, for each chart of ids (a JSON array), the frames
// sent to its painter (their seqs, in __paint[id].seqs) and the most on
// their way at once (__paint[id].most), and makes the painter's answers
// say that a frame costs 40 ms, as a slow machine's would: over the
// budget, two charts on the screen would be drawn at most every 800 ms.
const paintRecorderJS = `(function (ids) {
	window.__paint = {};
	ids.forEach(function (id) {
		var v = document.querySelector('[data-chart][data-id="' + id + '"]').dashdView;
		var draw = v.draw;
		var p = __paint[id] = { seqs: [], now: 0, most: 0 };
		v.draw = function (f, still, done) {
			p.now++;
			p.most = Math.max(p.most, p.now);
			p.seqs.push(f.seq);
			return draw.call(v, f, still, function () { p.now--; if (done) done({ ms: 40 }); });
		};
	});
	return true;
})(%s)`

// paintRun opens /d/wall with query on a wall of 12 push charts, pushes
// to p0 and p1 (on the screen) and p11 (far below the fold) 20 times a
// second for 3 s (the stream sends at most 10 frames a chart a second),
// and returns for p0 and p1 the frames sent to their painter and the
// frames the stream made meanwhile (the rise of seq from the first frame
// sent to the newest, which is drawn in the end), the most frames on
// their way at once, and how many frames p11 sent.
func paintRun(t *testing.T, query, wantMode string) (sent, made map[string]int, most map[string]float64, offScreen float64) {
	t.Helper()
	s := wallServer(t, 12)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/wall?"+query)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live' &&
		document.querySelector('main').getAttribute('data-paint') === 'worker'`)
	if got := eval[string](t, ctx, `document.querySelector('main').getAttribute('data-paint-mode')`); got != wantMode {
		t.Fatalf("?%s: data-paint-mode %q, want %q", query, got, wantMode)
	}
	if eval[bool](t, ctx, `!!window.__xss || !!document.querySelector('img[src="x"]')`) {
		t.Fatalf("?%s: the value became markup in the page", query)
	}
	if top := eval[float64](t, ctx, `document.querySelector('[data-id="p11"]').getBoundingClientRect().top`); top < 1200 {
		t.Fatalf("p11 at %v px: not off screen", top)
	}
	for _, id := range []string{"p0", "p1", "p11"} {
		pushFrame(t, s, id, 3, "a")
	}
	pollTrue(t, ctx, "p0 drawn", drawnCats("p0", 3, false))
	pollTrue(t, ctx, "p1 drawn", drawnCats("p1", 3, false))
	eval[bool](t, ctx, fmt.Sprintf(paintRecorderJS, `["p0", "p1", "p11"]`))
	// One frame each to learn the cost, then 3 s of frames.
	pushFrame(t, s, "p0", 4, "a")
	pushFrame(t, s, "p1", 4, "a")
	pollTrue(t, ctx, "p0 drawn again", drawnCats("p0", 4, false))
	pollTrue(t, ctx, "p1 drawn again", drawnCats("p1", 4, false))
	start := time.Now()
	for k := 0; time.Since(start) < 3*time.Second; k++ {
		for _, id := range []string{"p0", "p1", "p11"} {
			pushFrame(t, s, id, 5+k%8, "a")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range []string{"p0", "p1", "p11"} {
		pushFrame(t, s, id, 13, "a")
	}
	pollTrue(t, ctx, "p0 shows the newest frame", drawnCats("p0", 13, false))
	pollTrue(t, ctx, "p1 shows the newest frame", drawnCats("p1", 13, false))
	type rec struct {
		Seqs []float64
		Most float64
	}
	got := eval[map[string]rec](t, ctx, `__paint`)
	sent, made, most = map[string]int{}, map[string]int{}, map[string]float64{}
	for _, id := range []string{"p0", "p1"} {
		r := got[id]
		if len(r.Seqs) < 2 {
			t.Fatalf("%s sent %d frames to its painter", id, len(r.Seqs))
		}
		sent[id] = len(r.Seqs) - 1 // after the one that taught the cost
		made[id] = int(r.Seqs[len(r.Seqs)-1] - r.Seqs[0])
		most[id] = r.Most
		t.Logf("%s: %d frames sent to the painter of %d the stream made; seqs %v", id, sent[id], made[id], r.Seqs)
	}
	return sent, made, most, float64(len(got["p11"].Seqs))
}

// TestBrowserFreshPaintDrawsEveryFrame: with ?paint=fresh a visible chart
// sends its painter every frame the stream brings, though the painter says
// a frame costs 40 ms (the budget would draw it every 800 ms), with never
// more than one on its way; a chart off screen sends none.
func TestBrowserFreshPaintDrawsEveryFrame(t *testing.T) {
	t.Parallel()
	sent, made, most, off := paintRun(t, "paint=fresh", "fresh")
	for _, id := range []string{"p0", "p1"} {
		// Every frame but a few that came while the one before was on its
		// way (then the newer is sent, the older skipped).
		if made[id] < 15 || sent[id]*10 < made[id]*8 {
			t.Errorf("%s sent %d of the %d frames the stream made; want at least 80 %%", id, sent[id], made[id])
		}
		if most[id] != 1 {
			t.Errorf("%s had up to %v frames on their way to its painter at once; want 1", id, most[id])
		}
	}
	if off != 0 {
		t.Errorf("p11, off screen, sent %v frames to its painter; want none", off)
	}
}

// TestBrowserDefaultPaintDrawsInRounds: without ?paint=fresh, or with a
// value that is not a paint mode (here markup, which must not reach the
// page as such), the page keeps the paint budget: the same saturating
// stream is drawn in rounds, far fewer frames than the stream makes.
func TestBrowserDefaultPaintDrawsInRounds(t *testing.T) {
	t.Parallel()
	sent, made, _, off := paintRun(t, "paint="+url.QueryEscape(`<img src=x onerror="window.__xss=1">`), "budget")
	for _, id := range []string{"p0", "p1"} {
		// 3 s at one round per 800 ms: about 4 of about 30.
		if made[id] < 15 || sent[id]*2 > made[id] {
			t.Errorf("%s sent %d of the %d frames the stream made; want at most half (rounds 800 ms apart)", id, sent[id], made[id])
		}
	}
	if off != 0 {
		t.Errorf("p11, off screen, sent %v frames to its painter; want none", off)
	}
}

// TestBrowserPaintModeOfKioskAndElement: the kiosk URL and /embed/{chart}
// take ?paint=fresh too, and <dashd-chart paint="fresh"> draws fresh from the start; setting
// the attribute later switches a live element, and a value that is not a
// mode is the default.
func TestBrowserPaintModeOfKioskAndElement(t *testing.T) {
	t.Parallel()
	s := wallServer(t, 2)
	ctx := newBrowser(t)
	for page, want := range map[string]string{
		"/d/wall?kiosk&paint=fresh": "fresh", "/d/wall?kiosk": "budget", "/d/wall?paint=FRESH": "fresh", "/d/wall?paint=": "budget",
		"/embed/p0?paint=fresh": "fresh", "/embed/p0": "budget",
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url+page)); err != nil {
			t.Fatal(err)
		}
		pollTrue(t, ctx, page+": live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
		if got := eval[string](t, ctx, `document.querySelector('[data-dashboard],[data-charts]').getAttribute('data-paint-mode')`); got != want {
			t.Errorf("%s: data-paint-mode %q, want %q", page, got, want)
		}
	}

	ectx, _, _ := openHostPage(t, "/ok")
	pollTrue(t, ectx, "the element goes live", `document.getElementById('el').getAttribute('data-state') === 'live'`)
	mode := func(ctx context.Context, el string) string {
		return eval[string](t, ctx, el+`._live.paintMode()`)
	}
	if got := mode(ectx, `document.getElementById('el')`); got != "budget" {
		t.Errorf("<dashd-chart> without paint: %q, want budget", got)
	}
	eval[bool](t, ectx, `(document.getElementById('el').setAttribute('paint', 'fresh'), true)`)
	if got := mode(ectx, `document.getElementById('el')`); got != "fresh" {
		t.Errorf("<dashd-chart> after paint=\"fresh\" was set: %q, want fresh", got)
	}
	eval[bool](t, ectx, `(document.getElementById('el').setAttribute('paint', 'turbo'), true)`)
	if got := mode(ectx, `document.getElementById('el')`); got != "budget" {
		t.Errorf("<dashd-chart paint=\"turbo\">: %q, want budget", got)
	}
	// An element made with paint="fresh" starts fresh.
	eval[bool](t, ectx, `(function () {
		var old = document.getElementById('el'), e = document.createElement('dashd-chart');
		e.id = 'el2';
		['chart', 'token', 'tz'].forEach(function (a) { e.setAttribute(a, old.getAttribute(a)); });
		e.setAttribute('paint', 'fresh');
		document.body.appendChild(e);
		return true;
	})()`)
	pollTrue(t, ectx, "the second element goes live", `document.getElementById('el2').getAttribute('data-state') === 'live'`)
	if got := mode(ectx, `document.getElementById('el2')`); got != "fresh" {
		t.Errorf("<dashd-chart paint=\"fresh\">: %q, want fresh", got)
	}
}
