package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/dashd/dashd/config"
)

// chromiumPath finds Debian's chromium. Without it browser tests skip,
// except under CI=true, where they fail: CI installs it.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("DASHD_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "browser test: no chromium at /usr/bin/chromium (install it with `apt-get install -y chromium`, or set DASHD_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless chromium for one test and returns the
// context of its first tab, with a deadline of 90 s.
func newBrowser(tb testing.TB) context.Context {
	tb.Helper()
	return newBrowserFor(tb, 90*time.Second)
}

// newBrowserFor is newBrowser with a deadline of d.
func newBrowserFor(tb testing.TB, d time.Duration) context.Context {
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
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	tb.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// categoriesOf is a page expression, a Promise: the category axis data
// that ECharts currently holds for chart id.
func categoriesOf(id string) string {
	return fmt.Sprintf(`(async function () {
		var el = document.querySelector('[data-chart][data-id=%q]');
		if (!el || !el.dashdView) return [];
		var o = await el.dashdView.option();
		if (!o || !o.xAxis) return [];
		var axis = (o.xAxis && o.xAxis[0] && o.xAxis[0].type === 'category') ? o.xAxis[0] : o.yAxis[0];
		return axis.data || [];
	})()`, id)
}

// categoriesWhere is a page expression, a Promise: whether cond, an
// expression of cats (categoriesOf id), holds.
func categoriesWhere(id, cond string) string {
	return fmt.Sprintf(`%s.then(function (cats) { return %s; })`, categoriesOf(id), cond)
}

// waitForCategory waits until chart id in the page shows category.
func waitForCategory(t *testing.T, ctx context.Context, id, category string) {
	t.Helper()
	expr := categoriesWhere(id, fmt.Sprintf(`cats.indexOf(%q) >= 0`, category))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		cats, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](categoriesOf(id), chromedp.EvalAwaitPromise))
		t.Fatalf("chart %s never showed %q (it shows %q): %v", id, category, cats, err)
	}
}

// fetched records what a browser tab's page fetches over HTTP, as its
// Network domain reports it: each URL (the paint worker's script among
// them) and the bytes on the wire (not the worker script's: that load is
// the worker's, reported to the worker's own DevTools target).
type fetched struct {
	mu    sync.Mutex
	urls  map[network.RequestID]string
	bytes float64
}

func watchFetches(t *testing.T, ctx context.Context) *fetched {
	t.Helper()
	f := &fetched{urls: map[network.RequestID]string{}}
	if err := chromedp.Listen(ctx, func(ev any) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			f.urls[e.RequestID] = e.Request.URL
		case *network.EventLoadingFinished:
			f.bytes += e.EncodedDataLength
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// outside lists the URLs fetched that are not on origin.
func (f *fetched) outside(origin string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, u := range f.urls {
		if !strings.HasPrefix(u, origin+"/") {
			out = append(out, u)
		}
	}
	return out
}

func (f *fetched) has(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.urls {
		if strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

func (f *fetched) transferred() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes
}

// gzippedSize is the length of the body of url sent to a client that
// accepts gzip.
func gzippedSize(t *testing.T, url string) float64 {
	t.Helper()
	req := mustRequest(t, http.MethodGet, url, "")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET %s with gzip: %v, Content-Encoding %q", url, err, res.Header.Get("Content-Encoding"))
	}
	return float64(n)
}

func TestBrowserSeesLiveUpdates(t *testing.T) {
	s := startServer(t, nil)
	ctx := newBrowser(t)
	fetches := watchFetches(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	// Wait until the page is live, then push: the bars must move without a reload.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-link]').getAttribute('data-state') === 'live'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page never went live: %v", err)
	}
	route := fmt.Sprintf("/live-%d", time.Now().UnixNano())
	code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%q,"status":"200"},"value":3}]`, route))
	if code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitForCategory(t, ctx, "req-by-route", route)

	// No request of the page or its paint worker left dashd's origin.
	if foreign := fetches.outside(s.url); len(foreign) > 0 {
		t.Errorf("the page fetched from other origins: %v", foreign)
	}

	// The whole page, the paint worker (ECharts inside) included, stays
	// small on the wire (issue 7: at most 250 KB compressed).
	worker := eval[string](t, ctx, `document.body.getAttribute('data-paint-worker')`)
	if !fetches.has(s.url + worker) {
		t.Fatalf("the paint worker %s was not fetched: %v", worker, fetches.urls)
	}
	// The worker's own loads are not in the page's log: its script, and
	// what that imports which the page did not fetch itself (the rest the
	// worker finds in the cache).
	workerBytes := gzippedSize(t, s.url+worker)
	_, script := do(t, mustRequest(t, http.MethodGet, s.url+worker, ""))
	for _, m := range regexp.MustCompile(`"(/static/[^"]+)"`).FindAllStringSubmatch(script, -1) {
		if !fetches.has(s.url + m[1]) {
			workerBytes += gzippedSize(t, s.url+m[1])
		}
	}
	transferred := fetches.transferred() + workerBytes
	t.Logf("the dashboard page transferred %.0f bytes (%.0f of them the paint worker's)", transferred, workerBytes)
	if transferred <= 0 || transferred > 250_000 {
		t.Errorf("the dashboard page transferred %.0f bytes, want at most 250,000 (is the ECharts bundle served gzipped?)", transferred)
	}

	if path := os.Getenv("DASHD_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err == nil {
			err = os.WriteFile(path, png, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}
}

func TestBrowserNeverRunsUserStrings(t *testing.T) {
	s := startServer(t, func(f *config.File) {
		f.Dashboards[0].Title = `<img src=x onerror="window.__xss='title'">`
	})
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	evil := `<img src=x onerror="window.__xss='tag'"><script>window.__xss='script'</script>`
	sample, _ := json.Marshal([]map[string]any{{"metric": "http_requests", "tags": map[string]string{"route": evil, "status": evil}, "value": 1}})
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", string(sample)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitForCategory(t, ctx, "req-by-route", evil)

	// Show the tooltip of the evil bar: ECharts renders it as HTML, so this is
	// where an unescaped name would run.
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async function () {
		var v = document.querySelector('[data-chart][data-id="req-by-route"]').dashdView;
		var cats = (await v.option()).xAxis[0].data;
		v.action({type: 'showTip', seriesIndex: 0, dataIndex: cats.indexOf(`+fmt.Sprintf("%q", evil)+`)});
		return true;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let an onerror handler fire, if one was created
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.__xss || '') + (document.querySelectorAll('img[src="x"]').length ? ' img-element' : '')`))
	if err != nil {
		t.Fatal(err)
	}
	if ran != "" {
		t.Errorf("user text became markup in the page: %q", ran)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('h1').textContent`))
	if err != nil || !strings.Contains(title, "<img") {
		t.Errorf("the dashboard title should show as text, got %q (%v)", title, err)
	}
}

// upgradeDroppingProxy stands in front of dashd as a proxy that is not set
// up for WebSocket: it forwards every request but strips the hop-by-hop
// Upgrade and Connection headers, so every handshake reaches dashd as a
// plain GET.
func upgradeDroppingProxy(t *testing.T, target string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Upgrade")
		r.Header.Del("Connection")
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func TestBrowserFallsBackToSSEBehindAProxyThatDropsUpgrade(t *testing.T) {
	s := startServer(t, nil)
	proxy := upgradeDroppingProxy(t, s.url)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(proxy.URL+"/d/web")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-link]').getAttribute('data-state') === 'live'`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the page never went live over SSE: %v", err)
	}
	transport, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-transport]').textContent`))
	if !strings.Contains(transport, "SSE") {
		t.Errorf("the page says it is on %q, want SSE", transport)
	}
	route := fmt.Sprintf("/sse-%d", time.Now().UnixNano())
	post(t, s.url+"/api/v1/ingest", "application/json",
		fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%q,"status":"200"},"value":1}]`, route))
	waitForCategory(t, ctx, "req-by-route", route)
}

func TestBrowserRedrawsWhenTheDashboardChanges(t *testing.T) {
	s := startServer(t, func(f *config.File) { f.Auth.AdminTokens = []string{"adm1n"} })
	put := func(def string) {
		t.Helper()
		code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/live-edit", def, "Authorization", "Bearer adm1n"))
		if code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("PUT: %d %s", code, body)
		}
	}
	put(`{"title":"Before","charts":[{"id":"edit-a","metric":"m","x":"k"}]}`)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/live-edit")); err != nil {
		t.Fatal(err)
	}
	live := `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](live, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page never went live: %v", err)
	}

	// A chart is added through the API: the open page shows it without anyone
	// reloading it.
	put(`{"title":"After","charts":[{"id":"edit-a","metric":"m","x":"k"},{"id":"edit-b","metric":"m","x":"k","type":"stacked"}]}`)
	redrawn := `!!document.querySelector('h1') && document.querySelectorAll('[data-chart]').length === 2 && document.querySelector('h1').textContent === 'After'`
	if err := pollAcrossReloads(ctx, redrawn, 20*time.Second); err != nil {
		t.Fatalf("the page did not redraw with the new definition: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](live, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the redrawn page never went live: %v", err)
	}

	// Deleted: the page says so.
	code, body := do(t, mustRequest(t, http.MethodDelete, s.url+"/api/v1/dashboards/live-edit", "", "Authorization", "Bearer adm1n"))
	if code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	gone := `document.querySelector('[data-link]').getAttribute('data-state') === 'deleted'`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](gone, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page does not say its dashboard was deleted: %v", err)
	}
}

// pollAcrossReloads polls expr until it is true, going on when the page
// navigates (which ends a poll running inside it).
func pollAcrossReloads(ctx context.Context, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err == nil {
		err = fmt.Errorf("still false after %v: %s", timeout, expr)
	}
	return err
}
