package main

// Browser tests of issue 19, "charts that read right at a glance": a
// frozen server turns the badge stale, kiosk fills the screen, empty
// charts say what is missing, tooltips show user text verbatim, and the
// legend of many series is reachable by keyboard.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// readDashboard is the wall of these tests: six charts, one of them with
// 24 series, one that reads a metric nobody sends.
func readDashboard() charts.Dashboard {
	five := charts.Duration(5 * time.Minute)
	return charts.Dashboard{ID: "wall", Title: "Wall", Charts: []charts.Chart{
		{ID: "routes", Title: "Requests by route", Type: charts.Stacked, Metric: "http_requests", X: "route", Series: "status", Window: five},
		{ID: "over-time", Title: "Requests over time", Type: charts.Stacked, Metric: "http_requests", X: charts.TimeAxis, Series: "status",
			Bucket: charts.Duration(10 * time.Second), Window: charts.Duration(10 * time.Minute)},
		{ID: "many", Title: "Requests by pod", Type: charts.Stacked, Metric: "pod_requests", X: "zone", Series: "pod", Window: five},
		{ID: "share", Title: "Status share", Type: charts.Percent, Metric: "http_requests", X: "region", Series: "status", Window: five},
		{ID: "refunds", Title: "Refunds", Metric: "refunds", X: "region", Window: five, Width: 2},
		{ID: "latency", Title: "Latency", Metric: "latency_ms", X: "service", Agg: charts.Avg, Window: five, Unit: "ms"},
	}}
}

// readRoutes are category names that ECharts' rich text would take for
// markup if a formatter let them through.
var readRoutes = []string{"/api/v2/customers/{customerId}/orders", "/api/{v|x}/items", "/login"}

// startReadServer serves readDashboard, changed by edit if not nil, fed
// with samples for every chart but refunds.
func startReadServer(t *testing.T, edit ...func(*charts.Dashboard)) *server {
	t.Helper()
	d := readDashboard()
	for _, e := range edit {
		e(&d)
	}
	s := startServer(t, func(f *config.File) { f.Dashboards = []charts.Dashboard{d} })
	var samples []map[string]any
	for i, route := range readRoutes {
		for j, status := range []string{"200", "404", "500"} {
			for k, region := range []string{"eu-west", "us-east"} {
				samples = append(samples, map[string]any{"metric": "http_requests",
					"tags": map[string]string{"route": route, "status": status, "region": region}, "value": float64((3 - i) * (3 - j) * (k + 1))})
			}
		}
	}
	for p := range 24 {
		for _, zone := range []string{"a", "b", "c"} {
			samples = append(samples, map[string]any{"metric": "pod_requests", "tags": map[string]string{"zone": zone, "pod": fmt.Sprintf("pod-%02d", p)}, "value": p + 1})
		}
	}
	for i, svc := range []string{"api", "auth", "search"} {
		samples = append(samples, map[string]any{"metric": "latency_ms", "tags": map[string]string{"service": svc}, "value": 40 + 30*i})
	}
	body, _ := json.Marshal(samples)
	if code, b := post(t, s.url+"/api/v1/ingest", "application/json", string(body)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, b)
	}
	return s
}

// openRead opens path of s in a browser of w×h CSS pixels and waits
// until it is live and chart routes drawn.
func openRead(t *testing.T, s *server, path string, w, h int64) context.Context {
	t.Helper()
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h), chromedp.Navigate(s.url+path)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	return ctx
}

type box struct{ Left, Top, Right, Bottom float64 }

// Kiosk at 1920×1080 shares the screen among the six charts: every card
// is wholly on the screen, the page does not scroll, the cards fill most
// of the height, and the axis text is large enough to read on a wall.
func TestBrowserKioskFillsTheScreen(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/d/wall?kiosk", 1920, 1080)
	waitForCategory(t, ctx, "routes", "/login")
	cards := eval[[]box](t, ctx, `Array.from(document.querySelectorAll('.card')).map(function (c) { var r = c.getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; })`)
	if len(cards) != 6 {
		t.Fatalf("%d cards", len(cards))
	}
	var bottom, area float64
	for i, c := range cards {
		if c.Left < 0 || c.Top < 0 || c.Right > 1920 || c.Bottom > 1080 {
			t.Errorf("card %d at %+v is not wholly on the 1920×1080 screen", i, c)
		}
		bottom = max(bottom, c.Bottom)
		area += (c.Right - c.Left) * (c.Bottom - c.Top)
	}
	if scroll := eval[float64](t, ctx, `document.documentElement.scrollHeight`); scroll > 1080 {
		t.Errorf("the page is %v px high: a wall cannot scroll", scroll)
	}
	if bottom < 1000 {
		t.Errorf("the cards end at %v px of 1080: the screen is not filled", bottom)
	}
	if share := area / (1920 * 1080); share < 0.7 {
		t.Errorf("the cards cover %.0f %% of the screen, want at least 70 %%", share*100)
	}
	// The axis labels of every chart: at least 16 px (ECharts' own 12 px
	// is unreadable across a room).
	for _, id := range []string{"routes", "over-time", "many", "share", "latency"} {
		sizes := evalAwait[[]float64](t, ctx, viewOf(id)+`.option().then(function (o) { return [o.xAxis[0].axisLabel.fontSize || 12, o.yAxis[0].axisLabel.fontSize || 12]; })`)
		if len(sizes) != 2 || sizes[0] < 16 || sizes[1] < 16 {
			t.Errorf("chart %s: axis labels of %v px on a 1080 px wall, want at least 16", id, sizes)
		}
	}
	// A larger screen, larger type (without a reload).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(2560, 1440)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the type grows with the screen", viewOf("routes")+`.option().then(function (o) { return o.yAxis[0].axisLabel.fontSize >= 22; })`)
}

// A chart with no data says which metric is missing over which span,
// offers a one-line curl that sends one (and it works), and shows no
// "updated" time until data comes.
func TestBrowserEmptyChartSaysWhatIsMissing(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/d/wall", 1440, 900)
	const empty = `document.querySelector('[data-chart][data-id="refunds"]').closest('.card')`
	pollTrue(t, ctx, "refunds says it is empty", empty+`.querySelector('[data-empty]') && !`+empty+`.querySelector('[data-empty]').hidden`)
	what := eval[string](t, ctx, empty+`.querySelector('.empty-what').textContent`)
	if what != "No samples of refunds in the last 5 m" {
		t.Errorf("the empty state says %q", what)
	}
	if updated := eval[string](t, ctx, empty+`.querySelector('[data-updated]').textContent`); updated != "" {
		t.Errorf("an empty chart says %q", updated)
	}
	curl := eval[string](t, ctx, empty+`.querySelector('.curl').textContent`)
	if !strings.HasPrefix(curl, "curl -X POST "+s.url+"/api/v1/ingest -d '") || strings.Contains(curl, "\n") {
		t.Fatalf("the command offered is %q", curl)
	}
	if markup := eval[int](t, ctx, empty+`.querySelector('.curl').children.length`); markup != 0 {
		t.Errorf("the command holds %d elements: it is to be text", markup)
	}
	// The command sends what the chart reads.
	if out, err := exec.Command("sh", "-c", curl+" --silent --show-error --fail").CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", curl, err, out)
	}
	pollTrue(t, ctx, "the empty state goes once a sample came", empty+`.querySelector('[data-empty]').hidden`)
	pollTrue(t, ctx, "an updated time once drawn", empty+`.querySelector('[data-updated]').textContent.indexOf('updated ') === 0`)
}

// Category names with braces show verbatim in the tooltip: ECharts rich
// text would otherwise take "{v|x}" for a style and mangle the name.
func TestBrowserTooltipShowsBracesVerbatim(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/d/wall", 1440, 900)
	for _, route := range readRoutes[:2] {
		waitForCategory(t, ctx, "routes", route)
		evalAwait[bool](t, ctx, showTipOf("routes", route))
		var texts []string
		deadline := time.Now().Add(5 * time.Second)
		shown := false
		for !shown && time.Now().Before(deadline) {
			texts = texts[:0]
			for _, b := range textsOf(t, ctx, "routes") {
				txt := strings.ReplaceAll(b.Text, "\u200b", "")
				texts = append(texts, txt)
				shown = shown || (txt == route && b.Y < 400)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The tooltip's title (and the axis label, where shown) is the
		// whole name in one piece of text, never cut into styled pieces;
		// a total follows the rows.
		count := 0
		for _, txt := range texts {
			if txt == route {
				count++
			}
		}
		if count == 0 {
			t.Errorf("no text reads %q verbatim; the canvas says %q", route, texts)
		}
		for _, txt := range texts {
			if txt != route && len(txt) > 1 && strings.Contains(route, txt) && strings.ContainsAny(txt, "/") {
				t.Errorf("a piece of %q drawn apart: %q (rich text read the braces as markup); the canvas says %q", route, txt, texts)
			}
		}
		if !strings.Contains(strings.Join(texts, "\n"), "Total") {
			t.Errorf("the tooltip of a stacked chart has no total: %q", texts)
		}
	}
	// A percent chart's tooltip shows the counts behind the shares: in
	// eu-west, /login's 200s are 3 × 1 (see startReadServer).
	waitForCategory(t, ctx, "share", "eu-west")
	evalAwait[bool](t, ctx, showTipOf("share", "eu-west"))
	pollTrue(t, ctx, "the counts in the percent tooltip", viewOf("share")+`.texts().then(function (ts) { return ts.some(function (x) { return /%\s*\(\d+\)$/.test(x.text); }); })`)
}

// The legend of 24 series is HTML: every series has a button with its own
// colour, the box scrolls instead of paging, and the keyboard reaches it
// and switches a series off in the chart.
func TestBrowserLegendIsReachableByKeyboard(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/d/wall", 1440, 900)
	waitForCategory(t, ctx, "many", "c")
	const legend = `document.querySelector('[data-chart][data-id="many"]').closest('.card').querySelector('.legend')`
	pollTrue(t, ctx, "the legend lists 24 series", legend+`.querySelectorAll('button').length === 24`)
	colours := eval[[]string](t, ctx, `Array.from(`+legend+`.querySelectorAll('.swatch')).map(function (e) { return getComputedStyle(e).backgroundColor; })`)
	distinct := map[string]bool{}
	for _, c := range colours {
		distinct[c] = true
	}
	if len(distinct) != 24 {
		t.Errorf("24 series in one stack have %d distinct colours: %v", len(distinct), colours)
	}
	if !eval[bool](t, ctx, legend+`.scrollHeight > `+legend+`.clientHeight && getComputedStyle(`+legend+`).overflowY === 'auto'`) {
		t.Errorf("the legend of 24 series does not scroll")
	}
	// Tab from the top of the page until a legend button of "many" has the focus.
	const focused = `(document.activeElement && document.activeElement.closest('.legend') === ` + legend + `)`
	reached := false
	for i := 0; i < 200 && !reached; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		reached = eval[bool](t, ctx, focused)
	}
	if !reached {
		t.Fatal("Tab never reached the legend")
	}
	name := eval[string](t, ctx, `document.activeElement.dataset.series`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.activeElement.getAttribute('aria-pressed')`); got != "false" {
		t.Errorf("after Space the legend button says aria-pressed=%q", got)
	}
	off := fmt.Sprintf(`%s.option().then(function (o) { var l = o.legend && o.legend[0]; return !!l && !!l.selected && l.selected[%q] === false; })`, viewOf("many"), name)
	pollTrue(t, ctx, "the chart hides "+name, off)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(" ")); err != nil { // and shows it again
		t.Fatal(err)
	}

	// Its tooltip of 24 rows shows 12 and scrolls with the wheel, which
	// then does not scroll the page.
	eval[bool](t, ctx, `(document.querySelector('[data-chart][data-id="many"]').scrollIntoView({block: 'center'}), true)`)
	at := eval[[]float64](t, ctx, `(function () { var r = document.querySelector('[data-chart][data-id="many"]').getBoundingClientRect(); return [r.left + r.width * 0.45, r.top + r.height * 0.5]; })()`)
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at[0], at[1])); err != nil {
		t.Fatal(err)
	}
	tipSays := viewOf("many") + `.texts().then(function (ts) { return ts.some(function (x) { return %s.test(x.text); }); })`
	pollTrue(t, ctx, "the tooltip says there is more", fmt.Sprintf(tipSays, `/12 more \(scroll\)/`))
	scrollY := eval[float64](t, ctx, `window.scrollY`)
	if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseWheel, X: at[0], Y: at[1], DeltaX: 0.001, DeltaY: 120}); err != nil { // a DeltaX of 0 would be left out, which CDP refuses
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the tooltip scrolled", fmt.Sprintf(tipSays, `/^↑ 3 more$/`))
	if y := eval[float64](t, ctx, `window.scrollY`); y != scrollY {
		t.Errorf("the wheel over a scrolling tooltip scrolled the page too (%v → %v)", scrollY, y)
	}
}

// screenshotTo writes the page to docs/NAME when DASHD_SCREENSHOTS=docs
// (the README's pictures; CI does not set it).
func screenshotTo(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("DASHD_SCREENSHOTS") == "" {
		return
	}
	time.Sleep(1500 * time.Millisecond) // animations
	screenshot(t, ctx, name)
}

// buildDashd builds the dashd binary into a temporary directory.
func buildDashd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dashd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A frozen server (SIGSTOP: its sockets stay open, nothing comes through
// them) turns the badge stale within the client's timeout (6 s without a
// frame or a heartbeat), with the age of the last word heard; once the
// server runs again (SIGCONT) the badge is live again.
func TestBrowserFrozenServerTurnsStale(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the dashd binary")
	}
	bin := buildDashd(t)
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "dashd.yaml")
	if err := os.WriteFile(cfg, []byte(`dashboards:
  - id: frozen
    charts:
      - id: frozen
`), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config", cfg, "--data", "", "--addr", addr)
	logs, err := os.Create(filepath.Join(tmp, "dashd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := "http://" + addr
	waitReady(t, url)
	for _, transport := range []string{"WebSocket", "SSE"} {
		t.Run(transport, func(t *testing.T) {
			page := url
			if transport == "SSE" {
				// Behind a proxy that drops Upgrade the page falls back to SSE.
				page = upgradeDroppingProxy(t, url).URL
			}
			frozenTurnsStale(t, cmd.Process, page, transport)
		})
	}
}

// frozenTurnsStale opens the dashboard of the dashd at page over
// transport, freezes the process, sees the badge stale, and thaws it.
func frozenTurnsStale(t *testing.T, proc *os.Process, page, transport string) {
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(page+"/d/frozen")); err != nil {
		t.Fatal(err)
	}
	const state = `document.querySelector('[data-link]').getAttribute('data-state')`
	pollTrue(t, ctx, "the page goes live", state+` === 'live' && document.querySelector('[data-transport]').textContent === 'via `+transport+`'`)
	// Quiet but alive: heartbeats keep it live past the timeout. (The
	// chart is a push chart, with no data: nothing else comes.)
	time.Sleep(8 * time.Second)
	if got := eval[string](t, ctx, state); got != "live" {
		t.Fatalf("a quiet server that runs turned the badge %q", got)
	}

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	defer proc.Signal(syscall.SIGCONT)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](state+` === 'stale'`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the badge is %q 10 s after the server froze, want stale: %v", eval[string](t, ctx, state), err)
	}
	took := time.Since(stopped)
	t.Logf("stale %.1f s after SIGSTOP", took.Seconds())
	if took > 9*time.Second {
		t.Errorf("stale after %v, want within the 6 s timeout (and the 2 s heartbeat period)", took)
	}
	time.Sleep(2 * time.Second) // the age counts up
	text := eval[string](t, ctx, `document.querySelector('[data-link]').textContent`)
	if m := regexp.MustCompile(`(\d+) s ago`).FindStringSubmatch(text); m == nil {
		t.Errorf("the stale badge says %q, want its age (\"N s ago\")", text)
	} else {
		var n int
		fmt.Sscan(m[1], &n)
		if n < 7 {
			t.Errorf("the stale badge says %q: the age should count from the last word heard, at least 7 s", text)
		}
	}

	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the page is live again after SIGCONT", state+` === 'live'`)
}

// A <dashd-chart> on a page whose origin dashd does not list says which
// setting to change, not only "Failed to fetch".
func TestBrowserElementOnADisallowedOriginNamesTheSetting(t *testing.T) {
	t.Parallel()
	host := newHostPage(t)
	s := tokenReadServer(t, "https://another.example")
	host.serve(t, s.url)
	_, tok, _ := mintAPI(t, s, `{"chart":"req-by-route"}`)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(host.origin+"/ok?el="+tok.Token)); err != nil {
		t.Fatal(err)
	}
	const errText = `document.getElementById('el').shadowRoot.querySelector('.error').textContent`
	pollTrue(t, ctx, "the element fails", errText+` !== ''`)
	got := eval[string](t, ctx, errText)
	if !strings.Contains(got, "embed.allowed_parents") || !strings.Contains(got, host.origin) {
		t.Errorf("the element says %q, want the setting embed.allowed_parents and the page's origin", got)
	}
}

// With tz= the element's clock reads in that zone, as its axis does, not
// in the browser's.
func TestBrowserElementClockFollowsTZ(t *testing.T) {
	t.Parallel()
	ctx, s, _ := openHostPage(t, "/ok")
	// The browser's own zone is not UTC (the element's tz): the two
	// clocks would differ by 5:30.
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the element goes live", `document.getElementById('el').getAttribute('data-state') === 'live'`)
	post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/tz","status":"200"},"value":1}]`)
	const updated = `document.getElementById('el').shadowRoot.querySelector('.updated')`
	pollTrue(t, ctx, "the element shows its time", updated+`.textContent !== ''`)
	got := eval[[]string](t, ctx, `[`+updated+`.textContent, new Intl.DateTimeFormat('en-GB', {timeZone: 'UTC', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'}).format(new Date(`+updated+`.title.replace('updated ', '')))]`)
	if got[0] != got[1] {
		t.Errorf("the element's clock says %s; in its zone (UTC) the frame's time is %s", got[0], got[1])
	}
}

// At 360×220 an embed's legend fits in the frame, beside a chart still
// large enough to read.
func TestBrowserSmallEmbedLegendFits(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/embed/many", 360, 220)
	pollTrue(t, ctx, "the legend is shown", `!document.querySelector('.legend').hidden && document.querySelectorAll('.legend button').length === 24`)
	b := eval[box](t, ctx, `(function () { var r = document.querySelector('.legend').getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; })()`)
	if b.Bottom > 220 || b.Right > 360 || b.Left < 0 {
		t.Errorf("the legend at %+v is not inside the 360×220 frame", b)
	}
	if h := eval[float64](t, ctx, `document.querySelector('[data-chart]').getBoundingClientRect().height`); h < 90 {
		t.Errorf("the chart is %v px high beside its legend", h)
	}
	if scroll := eval[float64](t, ctx, `document.documentElement.scrollHeight`); scroll > 220 {
		t.Errorf("the frame scrolls: %v px", scroll)
	}
}

// On a 390 px phone card titles take at most two lines, and no card is
// wider than the screen.
func TestBrowserPhone(t *testing.T) {
	t.Parallel()
	s := startReadServer(t, func(d *charts.Dashboard) {
		d.Charts[0].Title = "Requests by route and status over the last five minutes, all regions and every instance"
	})
	ctx := openRead(t, s, "/d/wall", 390, 844)
	waitForCategory(t, ctx, "routes", "/login")
	widths := eval[[]float64](t, ctx, `['routes', 'over-time'].map(function (id) { return document.querySelector('[data-chart][data-id="' + id + '"]').closest('.card').getBoundingClientRect().width; })`)
	titleLines := eval[[]float64](t, ctx, `Array.from(document.querySelectorAll('.card h2')).map(function (h) { return h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight); })`)
	for i, n := range titleLines {
		if n > 2.05 {
			t.Errorf("card %d's title takes %.1f lines", i, n)
		}
	}
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page is %v px wide on a 390 px phone", w)
	}

	// The table of routes: a route on one line (the table scrolls), and
	// the card as wide as before, as is its neighbour.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-action="table"][data-for="routes"]`))); err != nil {
		t.Fatal(err)
	}
	const cell = `Array.from(document.querySelectorAll('[data-chart][data-id="routes"]')[0].closest('.card').querySelectorAll('tbody th')).filter(function (th) { return th.textContent === %q; })[0]`
	pollTrue(t, ctx, "the table", fmt.Sprintf(cell, readRoutes[0])+` !== undefined`)
	// A text node's client rects: one per line it takes.
	routeLines := eval[int](t, ctx, fmt.Sprintf(`(function () { var r = document.createRange(); r.selectNodeContents(`+cell+`); return r.getClientRects().length; })()`, readRoutes[0]))
	if routeLines != 1 {
		t.Errorf("a route in the table takes %d lines: broken mid-word", routeLines)
	}
	after := eval[[]float64](t, ctx, `['routes', 'over-time'].map(function (id) { return document.querySelector('[data-chart][data-id="' + id + '"]').closest('.card').getBoundingClientRect().width; })`)
	if math.Abs(after[0]-widths[0]) > 1 || math.Abs(after[1]-widths[0]) > 1 {
		t.Errorf("with its table open the card is %v px wide and its neighbour %v, both were %v", after[0], after[1], widths[0])
	}
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("with a table open the page is %v px wide on a 390 px phone", w)
	}
}

// TestBrowserReadScreenshots writes docs/screenshot-kiosk.png (the demo on
// a 1920×1080 wall, in kiosk) and docs/screenshot-phone.png (the demo on
// a 390 px phone) when DASHD_SCREENSHOTS=dir; CI does not set it:
//
//	DASHD_SCREENSHOTS=$PWD/docs go test ./cmd/dashd -run TestBrowserReadScreenshots
func TestBrowserReadScreenshots(t *testing.T) {
	if os.Getenv("DASHD_SCREENSHOTS") == "" {
		t.Skip("set DASHD_SCREENSHOTS=dir to write the screenshots of the README")
	}
	f := config.Default()
	f.Addr, f.Data = "127.0.0.1:0", "" // the demo's dashboards alone
	m, err := New(Config{File: f, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s := &server{Main: m, url: "http://" + m.Addr()}
	waitReady(t, s.url)
	time.Sleep(5 * time.Second) // the generator fills the windows
	for _, shot := range []struct {
		path, name string
		w, h       int64
	}{
		{"/d/web?kiosk&theme=dark", "screenshot-kiosk.png", 1920, 1080},
		{"/d/web?theme=light", "screenshot-phone.png", 390, 1600},
	} {
		// Drawn in the page: a headless browser's screenshot missed the
		// pictures of a paint worker that redraws ten times a second.
		ctx := newBrowser(t)
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `delete HTMLCanvasElement.prototype.transferControlToOffscreen;`,
		}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(shot.w, shot.h), chromedp.Navigate(s.url+shot.path)); err != nil {
			t.Fatal(err)
		}
		pollTrue(t, ctx, "drawn", `document.querySelectorAll('.updated').length > 0 && Array.from(document.querySelectorAll('.updated')).every(function (u) { return u.textContent !== ''; })`)
		screenshotTo(t, ctx, shot.name)
	}
}

// "Save as PNG" writes the chart under a header (its title, the time range
// and the time it was saved); a chart's width and height from its
// definition hold on a normal page; the index page's theme button works.
func TestBrowserPNGPlaceAndIndexTheme(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/d/wall", 1440, 900)
	waitForCategory(t, ctx, "routes", "/login")

	// refunds spans two of the three columns.
	widths := eval[[]float64](t, ctx, `['routes', 'refunds'].map(function (id) { return document.querySelector('[data-chart][data-id="' + id + '"]').closest('.card').getBoundingClientRect().width; })`)
	if r := widths[1] / widths[0]; r < 1.9 || r > 2.2 {
		t.Errorf("a chart of width 2 is %.2f times as wide as one of width 1 (%v)", r, widths)
	}

	dir := t.TempDir()
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	chartBox := eval[[]float64](t, ctx, `(function () { var r = document.querySelector('[data-chart][data-id="routes"]').getBoundingClientRect(); return [r.width, r.height]; })()`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-action="png"][data-for="routes"]`))); err != nil {
		t.Fatal(err)
	}
	var img image.Image
	deadline := time.Now().Add(15 * time.Second)
	for img == nil && time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "routes.png")); err == nil {
			img, _ = png.Decode(bytes.NewReader(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if img == nil {
		t.Fatal("no routes.png was saved")
	}
	size := img.Bounds().Size()
	head := float64(size.Y) - 2*chartBox[1]
	if math.Abs(float64(size.X)-2*chartBox[0]) > 2 || head < 60 {
		t.Fatalf("the PNG is %v for a chart of %v CSS px at 2×: want the chart under a header of at least 60 px", size, chartBox)
	}
	// The header has its text: ink on the background, on two lines.
	inkRows := 0
	bg := img.At(0, 0)
	for y := 0; y < int(head); y++ {
		for x := 0; x < size.X; x++ {
			if img.At(x, y) != bg {
				inkRows++
				break
			}
		}
	}
	if inkRows < 20 {
		t.Errorf("the PNG's header has %d rows with text, want a title and a time line", inkRows)
	}

	// The index page's theme button turns the theme.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/")); err != nil {
		t.Fatal(err)
	}
	const theme = `(document.documentElement.getAttribute('data-theme') || 'auto') + ' ' + document.querySelector('[data-theme-toggle]').textContent`
	before := eval[string](t, ctx, theme)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-theme-toggle]`))); err != nil {
		t.Fatal(err)
	}
	if after := eval[string](t, ctx, theme); after == before || !strings.HasPrefix(after, "light theme: light") {
		t.Errorf("the index page's theme button: %q, then %q", before, after)
	}
	eval[bool](t, ctx, `(localStorage.removeItem('dashd.theme'), true)`)
}

// A time axis ticks at round clock times (10 m of 10 s buckets: every
// 2 min), shows no label at its first bar (beside the value axis' "0"),
// and draws its still-filling last bucket lighter, which its tooltip
// calls partial, with the bucket's range.
func TestBrowserTimeAxisTicksAndPartialBucket(t *testing.T) {
	t.Parallel()
	s := startReadServer(t)
	ctx := openRead(t, s, "/d/wall", 1440, 900)
	pollTrue(t, ctx, "a time axis", categoriesWhere("over-time", `cats.length === 60`))
	time.Sleep(500 * time.Millisecond)
	cats := evalAwait[[]string](t, ctx, categoriesOf("over-time"))
	labels := 0
	for _, b := range textsOf(t, ctx, "over-time") {
		if !regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(b.Text) {
			continue
		}
		labels++
		var h, m, sec int
		fmt.Sscanf(b.Text, "%d:%d:%d", &h, &m, &sec)
		if sec != 0 || m%2 != 0 {
			t.Errorf("a tick at %s: want every 2 minutes on the minute", b.Text)
		}
		if first, _ := time.Parse(time.RFC3339, cats[0]); b.Text == first.Local().Format("15:04:05") {
			t.Errorf("the first bar is labelled (%s), beside the value axis' 0", b.Text)
		}
	}
	if labels < 3 {
		t.Errorf("%d time labels on a 10 minute axis", labels)
	}
	last := evalAwait[map[string]any](t, ctx, viewOf("over-time")+`.option().then(function (o) { var d = o.series[0].data; return d[d.length - 1]; })`)
	style, _ := last["itemStyle"].(map[string]any)
	if op, _ := style["opacity"].(float64); style == nil || op <= 0 || op >= 1 {
		t.Errorf("the last bucket is drawn as %v: want it lighter while it fills", last)
	}
	// The pointer over the last bar, at the right end of the plot (whose
	// grid ends 16 px inside the chart).
	at := eval[[]float64](t, ctx, `(function () { var r = document.querySelector('[data-chart][data-id="over-time"]').getBoundingClientRect(); return [r.right - 18, r.top + r.height * 0.6]; })()`)
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at[0], at[1])); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the tooltip of the last bucket", viewOf("over-time")+`.texts().then(function (ts) { return ts.some(function (x) { return /^\d\d:\d\d:\d\d – \d\d:\d\d:\d\d \(partial: still filling\)$/.test(x.text); }); })`)
}
