package main

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRewindDropsTheOlderMoment: in a real Chromium, a page that
// is scrubbed on to a second moment while the first one's frames are
// still being asked for aborts those requests (so that dashd stops
// computing a moment nobody waits for), and shows the second moment.
// The first moment's requests are held unanswered by the page's fetch,
// so only an abort can end them.
func TestBrowserRewindDropsTheOlderMoment(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	tA := time.Now()
	time.Sleep(1200 * time.Millisecond)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/b","status":"200"},"value":5}]`)
	time.Sleep(1200 * time.Millisecond)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/c","status":"500"},"value":7}]`)
	// /a at the first moment, /a and /b at the second, all three live.
	first, second := tA.Unix()+1, tA.Unix()+2

	ctx := newBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	waitForCategory(t, ctx, "req-by-route", "/c")
	poll := func(expr string, what string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval[bool](t, ctx, `(document.querySelector('[data-rewind-open]').click(), true)`)
	poll(`!!document.querySelector('[data-rewind-slider]') && Number(document.querySelector('[data-rewind-slider]').max) > 0`, "the slider over the log's retention")

	// The page's fetch holds every frame request of the first moment
	// unanswered, and notes whether its signal aborted it.
	firstISO := time.Unix(first, 0).UTC().Format("2006-01-02T15:04:05")
	eval[bool](t, ctx, fmt.Sprintf(`(function () {
		var real = window.fetch;
		window.heldFrames = [];
		window.fetch = function (url, init) {
			if (String(url).indexOf('/frame?at=' + encodeURIComponent(%q)) < 0) return real.apply(this, arguments);
			var held = {url: String(url), aborted: false, signal: !!(init && init.signal)};
			window.heldFrames.push(held);
			return new Promise(function (resolve, reject) {
				if (init && init.signal) init.signal.addEventListener('abort', function () {
					held.aborted = true;
					reject(new DOMException('aborted', 'AbortError'));
				});
			});
		};
		return true;
	})()`, firstISO))
	scrubTo := func(sec int64) {
		eval[bool](t, ctx, fmt.Sprintf(`(function () {
			var sl = document.querySelector('[data-rewind-slider]');
			sl.value = %q;
			sl.dispatchEvent(new Event('input', {bubbles: true}));
			return true;
		})()`, strconv.FormatInt(sec, 10)))
	}
	scrubTo(first)
	poll(`window.heldFrames.length > 0`, "the first moment's frames asked for")
	scrubTo(second)
	want := apiData(t, s, "req-by-route", time.Unix(second, 0))
	poll(fmt.Sprintf(`%s.then(function (d) { return d === %q; })`, shownData("req-by-route"), want), "the second moment shown")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.heldFrames.every(function (h) { return h.aborted; })`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("the first moment's requests were left open after the page showed the next: %s", eval[string](t, ctx, `JSON.stringify(window.heldFrames)`))
	}
	if got := eval[string](t, ctx, `(document.querySelector('[data-rewind-error]')||{}).textContent || ''`); got != "" {
		t.Errorf("an aborted moment is reported as an error: %q", got)
	}
}
