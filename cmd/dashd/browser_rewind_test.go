package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shownData is a page expression, a Promise: chart id's categories and
// each series' data as ECharts holds them now, as JSON.
func shownData(id string) string {
	return fmt.Sprintf(`(async function () {
		var el = document.querySelector('[data-chart][data-id=%q]');
		if (!el || !el.dashdView) return '';
		var o = await el.dashdView.option();
		if (!o || !o.xAxis) return '';
		var axis = (o.xAxis[0] && o.xAxis[0].type === 'category') ? o.xAxis[0] : o.yAxis[0];
		return JSON.stringify({categories: axis.data || [], series: (o.series || []).map(function (s) {
			return {name: s.name, data: (s.data || []).map(function (v) {
				var x = v && typeof v === 'object' ? v.value : v;
				return typeof x === 'number' && isFinite(x) ? x : null;
			})};
		})});
	})()`, id)
}

// apiData is chart's frame at a moment, read from the API, in shownData's
// form.
func apiData(t *testing.T, s *server, chart string, at time.Time) string {
	t.Helper()
	f := frameAt(t, s, chart, at)
	type series struct {
		Name string     `json:"name"`
		Data []*float64 `json:"data"`
	}
	out := struct {
		Categories []string `json:"categories"`
		Series     []series `json:"series"`
	}{Categories: f.Categories, Series: []series{}}
	for _, se := range f.Series {
		out.Series = append(out.Series, series{se.Name, se.Data})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestBrowserRewind: in a real Chromium, a dashboard scrubbed to a past
// moment shows what the API says was there, paused, with the moment in
// the address; Replay moves the charts through the past and turns live at
// the present; a pinned link (dashboard and embed) opens paused at its
// moment; Pause holds the picture while samples arrive, Live shows them.
func TestBrowserRewind(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	tA := time.Now()
	time.Sleep(1200 * time.Millisecond)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/b","status":"200"},"value":5}]`)
	time.Sleep(1200 * time.Millisecond)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/c","status":"500"},"value":7}]`)
	// The slider moves by seconds: the first whole second after /a.
	sec := tA.Unix() + 1
	moment := time.Unix(sec, 0)

	ctx := newBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	waitForCategory(t, ctx, "req-by-route", "/c")
	if eval[bool](t, ctx, `!!document.querySelector('[data-rewind-slider]')`) {
		t.Error("the time slider loaded before it was asked for")
	}
	poll := func(expr string, what string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			state := eval[string](t, ctx, `(document.querySelector('[data-pause-state]')||{}).textContent + ' | ' + (document.querySelector('[data-rewind-error]')||{}).textContent`)
			t.Fatalf("%s: %v (state %q)", what, err, state)
		}
	}
	eval[bool](t, ctx, `(document.querySelector('[data-rewind-open]').click(), true)`)
	poll(`!!document.querySelector('[data-rewind-slider]') && Number(document.querySelector('[data-rewind-slider]').max) > 0`, "the slider over the log's retention")

	// Scrub to the moment.
	eval[bool](t, ctx, fmt.Sprintf(`(function () {
		var sl = document.querySelector('[data-rewind-slider]');
		sl.value = %q;
		sl.dispatchEvent(new Event('input', {bubbles: true}));
		return true;
	})()`, strconv.FormatInt(sec, 10)))
	want := apiData(t, s, "req-by-route", moment)
	poll(fmt.Sprintf(`%s.then(function (d) { return d === %q; })`, shownData("req-by-route"), want), "the scrubbed chart shows the API's frame of the moment")
	wantState := "paused at " + moment.Local().Format("15:04:05")
	if got := eval[string](t, ctx, `document.querySelector('[data-pause-state]').textContent`); got != wantState {
		t.Errorf("the state reads %q, want %q", got, wantState)
	}
	if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "at=") {
		t.Errorf("the address does not pin the moment: %q", loc)
	}
	// The time axis too.
	poll(fmt.Sprintf(`%s.then(function (d) { return d === %q; })`, shownData("req-over-time"), apiData(t, s, "req-over-time", moment)), "the time axis at the moment")

	// Paused: a sample arriving now does not show.
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/d","status":"200"},"value":1}]`)
	time.Sleep(500 * time.Millisecond)
	if d := evalAwait[string](t, ctx, shownData("req-by-route")); d != want {
		t.Errorf("while paused the chart changed to %s", d)
	}

	// Replay at 60× from the moment: the charts move, then go live.
	eval[bool](t, ctx, `(function () {
		var sp = document.querySelector('[data-rewind-speed]');
		sp.value = '60';
		document.querySelector('[data-rewind-replay]').click();
		return true;
	})()`)
	poll(`document.querySelector('[data-pause-state]').textContent === 'live'`, "the replay reached the present and went live")
	waitForCategory(t, ctx, "req-by-route", "/d")
	if loc := eval[string](t, ctx, `location.search`); strings.Contains(loc, "at=") {
		t.Errorf("live, the address still pins a moment: %q", loc)
	}

	// Pause (the page's button) holds the picture; Go live shows what came.
	eval[bool](t, ctx, `(document.querySelector('[data-pause]').click(), true)`)
	poll(`document.querySelector('[data-pause-state]').textContent.indexOf('paused at ') === 0`, "paused")
	held := evalAwait[string](t, ctx, shownData("req-by-route"))
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/e","status":"200"},"value":1}]`)
	time.Sleep(500 * time.Millisecond)
	if d := evalAwait[string](t, ctx, shownData("req-by-route")); d != held {
		t.Errorf("paused, the chart changed from %s to %s", held, d)
	}
	eval[bool](t, ctx, `(document.querySelector('[data-pause]').click(), true)`)
	waitForCategory(t, ctx, "req-by-route", "/e")
	poll(`document.querySelector('[data-pause-state]').textContent === 'live'`, "live again")

	// A pinned link opens paused at its moment, on a dashboard and an embed.
	at := url.QueryEscape(moment.UTC().Format(time.RFC3339))
	for _, page := range []string{"/d/web?at=" + at, "/embed/req-by-route?at=" + at} {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(s.url+page)); err != nil {
			t.Fatal(err)
		}
		poll(fmt.Sprintf(`%s.then(function (d) { return d === %q; })`, shownData("req-by-route"), want), page+" shows the pinned moment")
		if got := eval[string](t, ctx, `document.querySelector('[data-pause-state]').textContent`); got != wantState {
			t.Errorf("%s: the state reads %q, want %q", page, got, wantState)
		}
		time.Sleep(300 * time.Millisecond) // live frames keep coming: still the moment
		if d := evalAwait[string](t, ctx, shownData("req-by-route")); d != want {
			t.Errorf("%s: the pinned chart changed to %s", page, d)
		}
	}

	// P on a chart (dashd-a11y.js) goes live from a pinned moment too: the
	// live frames come back.
	if _, err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/d/web?at="+at)); err != nil {
		t.Fatal(err)
	}
	poll(fmt.Sprintf(`%s.then(function (d) { return d === %q; })`, shownData("req-by-route"), want), "the pinned moment, again")
	eval[bool](t, ctx, `(document.querySelector('[data-chart][data-id="req-by-route"]').focus(), true)`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("p")); err != nil {
		t.Fatal(err)
	}
	waitForCategory(t, ctx, "req-by-route", "/e")
	poll(`document.querySelector('[data-pause-state]').textContent === 'live' && location.search.indexOf('at=') < 0`, "live after P")
}

// TestBrowserElementRewind: <dashd-chart at="T"> on another site's page
// shows the chart as the API says it was at T, paused while samples
// arrive; live() shows the newest again; pause() holds the picture.
func TestBrowserElementRewind(t *testing.T) {
	t.Parallel()
	ctx, s, _ := openHostPage(t, "/ok")
	pollTrue(t, ctx, "the element goes live", `document.getElementById('el').getAttribute('data-state') === 'live'`)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	tA := between()
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/b","status":"200"},"value":5}]`)
	cats := func(cond string) string {
		return elementCategories + `.then(function (cats) { return ` + cond + `; })`
	}
	pollTrue(t, ctx, "the element shows /b live", cats(`cats.indexOf('/b') >= 0`))

	code, body := getAt(t, s, "/api/v1/charts/req-by-route/frame", tA.UTC().Format(time.RFC3339Nano), "Authorization", "Bearer "+testAdminToken)
	if code != 200 {
		t.Fatalf("the API at tA: %d %s", code, body)
	}
	var f rewound
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(f.Categories)
	eval[bool](t, ctx, fmt.Sprintf(`(document.getElementById('el').setAttribute('at', %q), true)`, tA.UTC().Format(time.RFC3339Nano)))
	pollTrue(t, ctx, "the element shows the moment", cats(fmt.Sprintf(`JSON.stringify(cats) === %q`, want)))
	if got := eval[string](t, ctx, `document.getElementById('el').shadowRoot.querySelector('.link').textContent`); !strings.HasPrefix(got, "paused at ") {
		t.Errorf("the element's state reads %q", got)
	}
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/c","status":"200"},"value":1}]`)
	time.Sleep(500 * time.Millisecond)
	if got := evalAwait[[]string](t, ctx, elementCategories); strings.Join(got, ",") != strings.Join(f.Categories, ",") {
		t.Errorf("at a moment the element changed to %v", got)
	}
	eval[bool](t, ctx, `(document.getElementById('el').live(), true)`)
	pollTrue(t, ctx, "live again, the element shows /c", cats(`cats.indexOf('/c') >= 0`))
	if eval[bool](t, ctx, `document.getElementById('el').hasAttribute('at')`) {
		t.Error("live() kept the at attribute")
	}
	// pause() holds the picture; live() shows what came.
	eval[bool](t, ctx, `(document.getElementById('el').pause(), true)`)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/d","status":"200"},"value":1}]`)
	time.Sleep(500 * time.Millisecond)
	if got := evalAwait[[]string](t, ctx, elementCategories); strings.Contains(strings.Join(got, ","), "/d") {
		t.Errorf("paused, the element showed /d: %v", got)
	}
	eval[bool](t, ctx, `(document.getElementById('el').live(), true)`)
	pollTrue(t, ctx, "live again, the element shows /d", cats(`cats.indexOf('/d') >= 0`))
}
