package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// The accessibility tests (issue 16) look at dashd's pages as an auditor
// would: axe-core's WCAG 2.x A/AA rules in Chromium, the keyboard alone,
// and what Chromium's accessibility tree (what a screen reader reads)
// says about the charts.

// axeSource is axe-core's axe.min.js, a copy made by web/build/build.sh
// from the version pinned in web/build/package-lock.json.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	return string(b), err
})

// axeTags are the rule sets run: WCAG 2.0, 2.1 and 2.2, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axePinned is the version of axe-core that web/build/package-lock.json
// pins.
func axePinned(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "web", "build", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	v := lock.Packages["node_modules/axe-core"].Version
	if v == "" {
		t.Fatal("web/build/package-lock.json pins no axe-core")
	}
	return v
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeViolations injects axe-core into the page of ctx and returns what it
// finds against axeTags.
func axeViolations(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		t.Fatalf("axe-core: %v (web/build/build.sh copies it to cmd/dashd/testdata)", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+"\n;typeof axe === 'object'")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	if got, want := eval[string](t, ctx, `axe.version`), axePinned(t); got != want {
		t.Fatalf("cmd/dashd/testdata/axe.min.js is axe-core %s, web/build/package-lock.json pins %s: run web/build/build.sh", got, want)
	}
	tags, _ := json.Marshal(axeTags)
	return evalAwait[[]axeViolation](t, ctx, `axe.run(document, {runOnly: {type: 'tag', values: `+string(tags)+`}, resultTypes: ['violations']})
		.then(function (r) { return r.violations.map(function (v) {
			return {id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.map(function (n) { return n.target.join(' ') + ': ' + n.failureSummary; })};
		}); })`)
}

// a11yData pushes values the tests read back from the page: three routes,
// two statuses, integers under 1,000 (no digit grouping to tell apart).
func a11yData(t *testing.T, s *server) {
	t.Helper()
	code, body := post(t, s.url+"/api/v1/ingest", "application/json", `[
		{"metric":"http_requests","tags":{"route":"/checkout","status":"200"},"value":790},
		{"metric":"http_requests","tags":{"route":"/checkout","status":"500"},"value":22},
		{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":10},
		{"metric":"http_requests","tags":{"route":"/b","status":"200"},"value":3},
		{"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":1}]`)
	if code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
}

// openA11yPage opens path and waits until it is live and chart id's
// description says what it shows (dashd-a11y.js writes it from the
// frame on screen).
func openA11yPage(t *testing.T, ctx context.Context, url, id string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	ready := fmt.Sprintf(`document.querySelector('[data-link]').getAttribute('data-state') === 'live' &&
		(document.getElementById(%q) || {textContent: ''}).textContent.indexOf('/checkout') >= 0`, "desc-"+id)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		desc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ''`, "desc-"+id)))
		t.Fatalf("%s: never live with a description of %s (it says %q): %v", url, id, desc, err)
	}
}

func TestBrowserA11yAxe(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a11yData(t, s)
	ctx := newBrowserFor(t, 180*time.Second)

	pages := []struct {
		name, path string
		prepare    string // a page expression run before axe, or ""
	}{
		{"dashboard, light", "/d/web?theme=light", ""},
		{"dashboard, dark", "/d/web?theme=dark", ""},
		{"dashboard, patterns and safe palette", "/d/web?patterns=on&palette=safe&theme=dark", ""},
		{"kiosk", "/d/web?kiosk", ""},
		{"table open, shortcuts open", "/d/web?theme=light", `(function () {
			document.querySelector('[data-action="table"][data-for="req-by-route"]').click();
			document.querySelector('details.shortcuts').open = true;
			return true; })()`},
		{"table open, dark", "/d/web?theme=dark", `(function () {
			document.querySelector('[data-action="table"][data-for="req-by-route"]').click();
			return true; })()`},
		{"paused", "/d/web?theme=light", `(function () { document.querySelector('[data-pause]').click(); return true; })()`},
		{"embed, light", "/embed/req-by-route?theme=light", ""},
		{"embed, shortcuts open", "/embed/req-by-route?theme=light", `(document.querySelector('details.shortcuts').open = true, true)`},
		{"embed, dark", "/embed/req-by-route?theme=dark", ""},
	}
	for _, p := range pages {
		openA11yPage(t, ctx, s.url+p.path, "req-by-route")
		if p.prepare != "" {
			eval[bool](t, ctx, p.prepare)
			if strings.Contains(p.prepare, "table") {
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector('#table-req-by-route table td')`,
					chromedp.WithPollingTimeout(10*time.Second))); err != nil {
					t.Fatalf("%s: the table never showed: %v", p.name, err)
				}
			}
		}
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("%s (%s): axe %s (%s): %s\n\t%s", p.name, p.path, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
		}
	}

	// The list of dashboards has no live charts.
	for _, theme := range []string{"light", "dark"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/?theme="+theme)); err != nil {
			t.Fatal(err)
		}
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("/ (%s): axe %s (%s): %s\n\t%s", theme, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
		}
	}
}

// activeChart is a page expression: the data-id of the chart that has the
// focus, or "".
const activeChart = `(document.activeElement && document.activeElement.hasAttribute('data-chart')) ? document.activeElement.getAttribute('data-id') : ''`

// said is a page expression: what dashd-a11y.js last said about the
// value under focus.
const said = `document.querySelector('[data-a11y-said]').getAttribute('data-text') || ''`

func press(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(key)); err != nil {
		t.Fatalf("press %q: %v", key, err)
	}
}

// waitSaid waits until the page says want about the value under focus.
func waitSaid(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	expr := fmt.Sprintf(`(%s) === %q`, said, want)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](said))
		t.Fatalf("the page said %q, want %q", got, want)
	}
}

func TestBrowserA11yKeyboardOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a11yData(t, s)
	ctx := newBrowserFor(t, 120*time.Second)
	openA11yPage(t, ctx, s.url+"/d/web", "req-by-route")

	// Tab from the top of the page reaches every chart, in page order.
	var reached []string
	for i := 0; i < 40 && len(reached) < 3; i++ {
		press(t, ctx, kb.Tab)
		if id := eval[string](t, ctx, activeChart); id != "" && !slices.Contains(reached, id) {
			reached = append(reached, id)
		}
	}
	if want := []string{"req-by-route", "req-over-time", "sales"}; !slices.Equal(reached, want) {
		t.Fatalf("Tab reached the charts %q, want %q", reached, want)
	}
	// The focus shows: an outline of at least 2 px.
	outline := eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`)
	if !strings.HasPrefix(outline, "solid ") || outline == "solid 0px" || outline == "solid 1px" {
		t.Errorf("the focused chart's outline is %q, want a visible one", outline)
	}

	// Back to the first chart, then across its bars and series.
	eval[bool](t, ctx, `(document.getElementById('chart-req-by-route').focus(), true)`)
	if got := eval[string](t, ctx, activeChart); got != "req-by-route" {
		t.Fatalf("focus is on %q", got)
	}
	f := getFrame(t, s, "req-by-route")
	if len(f.Categories) != 3 || len(f.Series) != 2 {
		t.Fatalf("the frame is not the data pushed: %+v", f)
	}
	press(t, ctx, kb.ArrowRight)
	waitSaid(t, ctx, pointSaid(f, 0, 0))
	press(t, ctx, kb.ArrowDown)
	waitSaid(t, ctx, pointSaid(f, 0, 1))
	press(t, ctx, kb.ArrowDown) // the last series stays
	waitSaid(t, ctx, pointSaid(f, 0, 1))
	press(t, ctx, kb.ArrowRight)
	waitSaid(t, ctx, pointSaid(f, 1, 1))
	press(t, ctx, kb.End)
	waitSaid(t, ctx, pointSaid(f, 2, 1))
	press(t, ctx, kb.ArrowUp)
	waitSaid(t, ctx, pointSaid(f, 2, 0))
	// The tooltip of that category is drawn on the canvas (showTip in the
	// paint worker): its label a second time (the axis has it once), and
	// the value under focus.
	cat, val := f.Categories[2], fmt.Sprintf("%g", *f.Series[0].Data[2])
	tip := fmt.Sprintf(`document.getElementById('chart-req-by-route').dashdView.texts().then(function (t) {
		var s = t.map(function (x) { return x.text; });
		return s.filter(function (x) { return x === %q; }).length >= 2 && s.indexOf(%q) >= 0; })`, cat, val)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](tip, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[[]textBox](`document.getElementById('chart-req-by-route').dashdView.texts()`, chromedp.EvalAwaitPromise))
		t.Errorf("no tooltip of %s (%s) was drawn for the bar under focus; the canvas has %v: %v", cat, val, got, err)
	}
	// Esc leaves the bar: the tooltip goes.
	press(t, ctx, kb.Escape)
	gone := fmt.Sprintf(`document.getElementById('chart-req-by-route').dashdView.texts().then(function (t) {
		return t.filter(function (x) { return x.text === %q; }).length === 1; })`, cat)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](gone, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("Esc did not hide the tooltip: %v", err)
	}

	// P pauses every chart: new data does not move them, the page says
	// since when; P again goes live and shows the newest at once.
	press(t, ctx, "p")
	if got := eval[string](t, ctx, `document.querySelector('[data-pause-state]').textContent`); !strings.HasPrefix(got, "paused at ") {
		t.Fatalf("after P the page says %q, want \"paused at …\"", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-pause]').textContent`); got != "Go live" {
		t.Errorf("the pause button says %q while paused, want \"Go live\"", got)
	}
	route := fmt.Sprintf("/paused-%d", time.Now().UnixNano())
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%q,"status":"200"},"value":999}]`, route)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	// The server has it; the page must not show it while paused.
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(getFrame(t, s, "req-by-route").Categories, route) {
		if time.Now().After(deadline) {
			t.Fatal("the server never showed the new route")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stillOld := categoriesWhere("req-by-route", fmt.Sprintf(`cats.indexOf(%q) < 0`, route))
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](stillOld, chromedp.EvalAwaitPromise)); err != nil || !ok {
			t.Fatalf("a paused chart drew new data (%v)", err)
		}
	}
	if desc := eval[string](t, ctx, `document.getElementById('desc-req-by-route').textContent`); strings.Contains(desc, route) {
		t.Errorf("the description of a paused chart names data not on screen: %q", desc)
	}
	press(t, ctx, "p")
	waitForCategory(t, ctx, "req-by-route", route)
	if got := eval[string](t, ctx, `document.querySelector('[data-pause-state]').textContent`); got != "live" {
		t.Errorf("after P again the page says %q, want \"live\"", got)
	}

	// T shows the chart's table, which the chart names (aria-controls)
	// and Tab reaches next.
	press(t, ctx, "t")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector('#table-req-by-route table td')`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("T did not show the table: %v", err)
	}
	if got := eval[string](t, ctx, `document.getElementById('chart-req-by-route').getAttribute('aria-controls')`); got != "table-req-by-route" {
		t.Errorf("the chart's aria-controls is %q, want table-req-by-route", got)
	}
	// Between them: the chart's legend, one button per series (issue 19's
	// HTML legend), and nothing else.
	for i := 0; ; i++ {
		press(t, ctx, kb.Tab)
		got := eval[[]string](t, ctx, `[document.activeElement.id, document.activeElement.closest('.legend') ? 'legend' : document.activeElement.outerHTML.slice(0, 80)]`)
		if got[0] == "table-req-by-route" {
			break
		}
		if got[1] != "legend" || i >= 30 {
			t.Fatalf("Tab after the chart reached %q (%s), want its legend's buttons, then its table", got[0], got[1])
		}
	}
}

// pointSaid is what the page says of series si at category ci of f, a
// frame of req-by-route (series by status): "/checkout, status 500: 22
// (1 of 3)".
func pointSaid(f frame, ci, si int) string {
	v := "no value"
	if d := f.Series[si].Data; ci < len(d) && d[ci] != nil {
		v = fmt.Sprintf("%g", *d[ci])
	}
	return fmt.Sprintf("%s, status %s: %s (%d of %d)", f.Categories[ci], f.Series[si].Name, v, ci+1, len(f.Categories))
}

// axText is the JSON string of an accessibility-tree value, or "".
func axText(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Value, &s) != nil {
		return ""
	}
	return s
}

// axTree is what Chromium's accessibility tree holds for the page of ctx:
// its nodes, not ignored, with their role, name and description.
type axNode struct{ role, name, description string }

func axTree(t *testing.T, ctx context.Context) []axNode {
	t.Helper()
	res, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatalf("Accessibility.getFullAXTree: %v", err)
	}
	var out []axNode
	for _, n := range res.Nodes {
		if n.Ignored {
			continue
		}
		out = append(out, axNode{axText(n.Role), axText(n.Name), axText(n.Description)})
	}
	return out
}

func TestBrowserA11yTreeHasTheValues(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a11yData(t, s)
	ctx := newBrowser(t)
	openA11yPage(t, ctx, s.url+"/d/web", "req-by-route")

	// What the chart shows, from the server's frame: each category's total
	// and its parts, in the order of the description.
	f := getFrame(t, s, "req-by-route")
	want := []string{"Requests by route", "stacked by status", "last 5 minutes"}
	for i, cat := range f.Categories {
		total, parts := 0.0, []string{}
		for _, se := range f.Series {
			if i < len(se.Data) && se.Data[i] != nil {
				total += *se.Data[i]
				parts = append(parts, fmt.Sprintf("%s: %g", se.Name, *se.Data[i]))
			}
		}
		want = append(want, fmt.Sprintf("%s %g (%s)", cat, total, strings.Join(parts, ", ")))
	}
	var chart *axNode
	nodes := axTree(t, ctx)
	for i, n := range nodes {
		if n.role == "application" && n.name == "Requests by route" {
			chart = &nodes[i]
		}
	}
	if chart == nil {
		t.Fatalf("no chart named \"Requests by route\" in the accessibility tree: %+v", nodes)
	}
	for _, w := range want {
		if !strings.Contains(chart.description, w) {
			t.Errorf("the chart's accessible description lacks %q:\n%s", w, chart.description)
		}
	}
	if !strings.Contains(chart.description, "Arrow keys") {
		t.Errorf("the chart's description does not say how to use it: %q", chart.description)
	}

	// Every chart has a name; the one without data says so.
	var names []string
	for _, n := range nodes {
		if n.role == "application" {
			names = append(names, n.name)
			if n.name == "sales" && !strings.Contains(n.description, "No data yet") {
				t.Errorf("the empty chart's description is %q, want it to say there is no data", n.description)
			}
		}
	}
	if want := []string{"Requests by route", "req-over-time", "sales"}; !slices.Equal(names, want) {
		t.Errorf("the charts in the accessibility tree are %q, want %q", names, want)
	}

	// The value under focus reaches the tree as text (the live region).
	eval[bool](t, ctx, `(document.getElementById('chart-req-by-route').focus(), true)`)
	ci := slices.Index(f.Categories, "/checkout")
	press(t, ctx, kb.Home)
	for range ci {
		press(t, ctx, kb.ArrowRight)
	}
	press(t, ctx, kb.ArrowDown)
	focused := pointSaid(f, ci, 1)
	if !strings.HasPrefix(focused, "/checkout, status 500: 22 ") {
		t.Fatalf("the frame's series are not 200 then 500: %q", focused)
	}
	waitSaid(t, ctx, focused)
	var found bool
	for end := time.Now().Add(5 * time.Second); !found && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, n := range axTree(t, ctx) {
			if strings.Contains(n.name, focused) {
				found = true
			}
		}
	}
	if !found {
		t.Error("the value under focus is not in the accessibility tree")
	}
}

func TestBrowserA11yReflowsAt320px(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a11yData(t, s)
	ctx := newBrowser(t)
	for _, size := range []struct {
		name  string
		w, h  int64
		scale float64
	}{
		{"a 320 px phone", 320, 640, 1},
		{"1280×1024 at 400 %", 320, 256, 4},
	} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateScale(size.scale))); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/d/web", "/d/web?kiosk", "/embed/req-by-route", "/"} {
			if path == "/" {
				if err := chromedp.Do(ctx, chromedp.Navigate(s.url+path)); err != nil {
					t.Fatal(err)
				}
			} else {
				openA11yPage(t, ctx, s.url+path, "req-by-route")
				eval[bool](t, ctx, `(document.querySelector('details.shortcuts') && (document.querySelector('details.shortcuts').open = true), true)`)
			}
			got := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
			if got[0] > got[1] {
				wide := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('body *')).filter(function (e) {
					var r = e.getBoundingClientRect(); return r.right > document.documentElement.clientWidth + 0.5; }).slice(0, 8).map(function (e) {
					return e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); })`)
				t.Errorf("%s at %s: the page is %d px wide in a %d px viewport (scrolls sideways); too wide: %q", path, size.name, got[0], got[1], wide)
			}
		}
	}
}

// optionOf is a page expression, a Promise: the option chart id draws.
func optionOf(id string) string {
	return fmt.Sprintf(`document.querySelector('[data-chart][data-id=%q]').dashdView.option()`, id)
}

type drawnStyle struct {
	Color     []string `json:"color"`
	Animation bool     `json:"animation"`
	Series    []struct {
		ID        string `json:"id"`
		ItemStyle struct {
			Decal any `json:"decal"`
		} `json:"itemStyle"`
	} `json:"series"`
}

// patterned says whether some bar series is drawn with a pattern.
func (d drawnStyle) patterned() bool {
	for _, s := range d.Series {
		if _, ok := s.ItemStyle.Decal.(map[string]any); ok && strings.HasPrefix(s.ID, "s:") {
			return true
		}
	}
	return false
}

// decalsOn is a page expression of o, a chart's option: whether its
// series are drawn with patterns.
const decalsOn = `(function (bars) {
	return bars.length > 0 && bars.every(function (s) { return !!s.itemStyle && !!s.itemStyle.decal && s.itemStyle.decal !== 'none'; });
})(o.series.filter(function (s) { return String(s.id).indexOf('s:') === 0; }))`

// styleOf waits until chart id draws with cond (a page expression of o,
// its option) and returns its palette, animation and patterns.
func styleOf(t *testing.T, ctx context.Context, id, cond string) drawnStyle {
	t.Helper()
	expr := fmt.Sprintf(`%s.then(function (o) { return !!o && !!o.series && (%s); })`, optionOf(id), cond)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		o, _ := chromedp.Run(ctx, chromedp.Evaluate[drawnStyle](optionOf(id), chromedp.EvalAwaitPromise))
		t.Fatalf("chart %s never drew with %s (it has %+v): %v", id, cond, o, err)
	}
	return evalAwait[drawnStyle](t, ctx, optionOf(id))
}

func TestBrowserA11yPatternsPaletteAndMotion(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a11yData(t, s)
	ctx := newBrowser(t)

	// Light, by default: the standard palette (at least 3:1 on the card),
	// no patterns, animated.
	openA11yPage(t, ctx, s.url+"/d/web?theme=light", "req-by-route")
	st := styleOf(t, ctx, "req-by-route", `o.color && o.color[0] === '#2f6fd6'`)
	if st.patterned() {
		t.Errorf("default drawing: %+v, want no patterns", st)
	}
	// An update animates when the chart last moved at least a second ago
	// (the wall's rule, dashd-core.js): one that follows the first draws
	// sooner is drawn still, so the update looked at comes after a pause.
	time.Sleep(1200 * time.Millisecond)
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/y","status":"200"},"value":1}]`); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitForCategory(t, ctx, "req-by-route", "/y")
	if st := evalAwait[drawnStyle](t, ctx, optionOf("req-by-route")); !st.Animation {
		t.Errorf("an update after a quiet second was drawn without animation: %+v", st)
	}
	// The patterns button turns decals on, and the choice is kept.
	eval[bool](t, ctx, `(document.querySelector('[data-a11y-option="patterns"]').click(), true)`)
	styleOf(t, ctx, "req-by-route", decalsOn)
	if got := eval[string](t, ctx, `document.querySelector('[data-a11y-option="patterns"]').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("the patterns button is aria-pressed=%s, want true", got)
	}
	openA11yPage(t, ctx, s.url+"/d/web?theme=light", "req-by-route")
	styleOf(t, ctx, "req-by-route", decalsOn)

	// The colour-blind-safe palette follows the theme; the URL wins over
	// what was kept.
	openA11yPage(t, ctx, s.url+"/d/web?theme=dark&palette=safe&patterns=off", "req-by-route")
	styleOf(t, ctx, "req-by-route", `o.color[0] === '#56b4e9' && !`+decalsOn)
	eval[bool](t, ctx, `(document.querySelector('[data-theme-toggle]').click(), true)`) // dark → auto (light here)
	styleOf(t, ctx, "req-by-route", `o.color[0] === '#0072b2'`)

	// prefers-reduced-motion: no update animations.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	openA11yPage(t, ctx, s.url+"/d/web", "req-by-route")
	styleOf(t, ctx, "req-by-route", `o.animation === false`)
	// A frame drawn afterwards is not animated either.
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/z","status":"200"},"value":1}]`); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitForCategory(t, ctx, "req-by-route", "/z")
	if st := evalAwait[drawnStyle](t, ctx, optionOf("req-by-route")); st.Animation {
		t.Error("with prefers-reduced-motion a live update was animated")
	}
}

func TestBrowserA11yAnnouncesThresholdCrossings(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) {
		f.Dashboards = append(f.Dashboards, charts.Dashboard{ID: "slo", Title: "SLO", Charts: []charts.Chart{{
			ID: "errors", Title: "Errors by route", Type: charts.Grouped, Metric: "errors", X: "route", Agg: charts.Sum,
			Window: charts.Duration(5 * time.Minute), Thresholds: []charts.Threshold{{Value: 10, Label: "budget"}},
		}}})
	})
	push := func(v int) {
		t.Helper()
		if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
			fmt.Sprintf(`[{"metric":"errors","tags":{"route":"/checkout"},"value":%d}]`, v)); code != http.StatusOK {
			t.Fatalf("ingest: %d %s", code, body)
		}
	}
	push(4)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/slo?announce=on")); err != nil {
		t.Fatal(err)
	}
	described := `document.getElementById('desc-errors').textContent.indexOf('/checkout 4') >= 0`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](described, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the chart was never described with its value: %v", err)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-a11y-announce]').textContent`); got != "" {
		t.Errorf("the first frame was announced: %q", got)
	}
	push(20) // 24 in the window: above the line at 10
	want := "Errors by route: /checkout rose above 10 (budget), now 24."
	expr := fmt.Sprintf(`document.querySelector('[data-a11y-announce]').textContent === %q`, want)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-a11y-announce]').textContent`))
		t.Fatalf("the crossing was announced as %q, want %q", got, want)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-a11y-announce]').getAttribute('role')`); got != "status" {
		t.Errorf("the announcements' region has role %q, want status (polite)", got)
	}
}

// srgbLuminance is WCAG's relative luminance of a colour.
func srgbLuminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		x := float64(v) / 0xffff
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrastOf is WCAG's contrast ratio of two colours.
func contrastOf(a, b color.Color) float64 {
	la, lb := srgbLuminance(a), srgbLuminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestBrowserA11yCanvasTextContrast measures the texts ECharts draws on
// the canvas (axis labels, legend), which axe cannot read: in a
// screenshot of the chart, the pixel of each text's box that stands out
// most from the card must reach 4.5:1 (anti-aliasing only lightens the
// edges of a glyph; its core has the text's colour).
func TestBrowserA11yCanvasTextContrast(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	a11yData(t, s)
	ctx := newBrowser(t)
	for _, theme := range []string{"light", "dark"} {
		openA11yPage(t, ctx, s.url+"/d/web?theme="+theme, "req-by-route")
		// Screenshots until every text is on the screen (the worker's
		// picture reaches the compositor a frame or more after the draw).
		var best map[int]float64
		var boxes []textBox
		for try := 0; ; try++ {
			boxes = textsOf(t, ctx, "req-by-route")
			best = canvasTextContrast(t, ctx, boxes)
			drawn := len(best) > 0
			for _, c := range best {
				drawn = drawn && c > 1.2
			}
			if drawn {
				break
			}
			if try == 40 {
				t.Fatalf("%s: the chart's texts never all reached the screen: %v", theme, best)
			}
			time.Sleep(250 * time.Millisecond)
		}
		least, leastText := 21.0, ""
		for i, c := range best {
			if c < least {
				least, leastText = c, boxes[i].Text
			}
			if c < 4.5 {
				t.Errorf("%s: the canvas text %q stands out %.2f:1 from the card at best, want 4.5:1", theme, boxes[i].Text, c)
			}
		}
		t.Logf("%s: the canvas text that stands out least is %q, %.2f:1", theme, leastText, least)
	}
}

// canvasTextContrast screenshots chart req-by-route and gives, for each
// non-blank text box (by index), the contrast against the card of the
// pixel in it that stands out most.
func canvasTextContrast(t *testing.T, ctx context.Context, boxes []textBox) map[int]float64 {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`[data-id="req-by-route"]`)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	o := img.Bounds().Min
	bg := img.At(o.X+2, o.Y+2)
	out := map[int]float64{}
	for i, box := range boxes {
		if strings.TrimSpace(box.Text) == "" {
			continue
		}
		best := 1.0
		for y := int(box.Y); y <= int(box.Y+box.Height); y++ {
			for x := int(box.X); x <= int(box.X+box.Width); x++ {
				best = max(best, contrastOf(img.At(o.X+x, o.Y+y), bg))
			}
		}
		out[i] = best
	}
	return out
}
