package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/embed"
)

const (
	testEmbedSecret = "test-embed-secret-0123456789abcdef"
	testAdminToken  = "adm1n"
)

// tokenReadServer is dashd with auth.read: token, an embed secret, an admin
// token and the allowed parents given.
func tokenReadServer(t *testing.T, parents ...string) *server {
	t.Helper()
	return startServer(t, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
		f.Embed.AllowedParents = parents
	})
}

// mintResponse is the answer of POST /api/v1/embed-tokens.
type mintResponse struct {
	Token     string    `json:"token"`
	ID        string    `json:"jti"`
	Chart     string    `json:"chart,omitempty"`
	Dashboard string    `json:"dashboard,omitempty"`
	Expires   time.Time `json:"expires"`
	URL       string    `json:"url"`
}

// mintAPI mints a token through POST /api/v1/embed-tokens.
func mintAPI(t *testing.T, s *server, body string) (int, mintResponse, string) {
	t.Helper()
	code, raw := post(t, s.url+"/api/v1/embed-tokens", "application/json", body, "Authorization", "Bearer "+testAdminToken)
	var got mintResponse
	if code == http.StatusCreated {
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatalf("mint answer %s: %v", raw, err)
		}
	}
	return code, got, raw
}

// mintAt mints a token as a server with the test secret would have at now.
func mintAt(t *testing.T, secret string, now time.Time, scope embed.Scope, ttl time.Duration) string {
	t.Helper()
	k, err := embed.New(embed.Config{Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := k.Mint(scope, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func getWith(t *testing.T, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req := mustRequest(t, http.MethodGet, url, "", header...)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

func TestReadNeedsAToken(t *testing.T) {
	t.Parallel()
	s := tokenReadServer(t)
	_, chartTok, _ := mintAPI(t, s, `{"chart":"req-by-route","ttl":"1h"}`)
	_, dashTok, _ := mintAPI(t, s, `{"dashboard":"web"}`)
	expired := mintAt(t, testEmbedSecret, time.Now().Add(-2*time.Hour), embed.Scope{Chart: "req-by-route"}, time.Hour)
	foreign := mintAt(t, "some-other-secret-0123456789abcdef", time.Now(), embed.Scope{Chart: "req-by-route"}, time.Hour)
	_, revoked, _ := mintAPI(t, s, `{"chart":"req-by-route"}`)
	req := mustRequest(t, http.MethodDelete, s.url+"/api/v1/embed-tokens/"+revoked.ID, "", "Authorization", "Bearer "+testAdminToken)
	if code, body := do(t, req); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, body)
	}

	tests := map[string]struct {
		path   string
		token  string
		header bool // send it as Authorization: Bearer, not ?token=
		want   int
		reason string // in the body of a 401
	}{
		"embed page, chart token":       {"/embed/req-by-route", chartTok.Token, false, 200, ""},
		"option, chart token in header": {"/api/v1/charts/req-by-route/option", chartTok.Token, true, 200, ""},
		"frame, chart token":            {"/api/v1/charts/req-by-route/frame", chartTok.Token, false, 200, ""},
		"definition, chart token":       {"/api/v1/charts/req-by-route", chartTok.Token, false, 200, ""},
		"sse refused, no token":         {"/api/v1/stream/sse?charts=req-by-route", "", false, 401, "missing"},
		"another chart":                 {"/api/v1/charts/sales/option", chartTok.Token, false, 401, "wrong scope"},
		"the dashboard, chart token":    {"/d/web", chartTok.Token, false, 401, "wrong scope"},
		"dashboard page":                {"/d/web", dashTok.Token, false, 200, ""},
		"a chart of the dashboard":      {"/api/v1/charts/sales/option", dashTok.Token, false, 200, ""},
		"the list, embed token":         {"/api/v1/dashboards", dashTok.Token, false, 401, "wrong scope"},
		"the list, admin token":         {"/api/v1/dashboards", testAdminToken, true, 200, ""},
		"index, admin token in query":   {"/", testAdminToken, false, 200, ""},
		"index, no token":               {"/", "", false, 401, "missing"},
		"no token":                      {"/embed/req-by-route", "", false, 401, "missing"},
		"expired":                       {"/embed/req-by-route", expired, false, 401, "expired"},
		"foreign secret":                {"/api/v1/charts/req-by-route/option", foreign, false, 401, "bad signature"},
		"revoked":                       {"/api/v1/charts/req-by-route/option", revoked.Token, false, 401, "revoked"},
		"garbage":                       {"/api/v1/charts/req-by-route/option", "nonsense", false, 401, "malformed"},
		"static stays public":           {"/static/dashd.js", "", false, 200, ""},
		"embed.js stays public":         {"/embed.js", "", false, 200, ""},
		"health stays public":           {"/healthz", "", false, 200, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			url := s.url + tc.path
			var header []string
			if tc.header {
				header = []string{"Authorization", "Bearer " + tc.token}
			} else if tc.token != "" {
				url += map[bool]string{true: "&", false: "?"}[strings.Contains(url, "?")] + "token=" + tc.token
			}
			code, body, h := getWith(t, url, header...)
			if code != tc.want {
				t.Fatalf("GET %s: %d %s, want %d", tc.path, code, body, tc.want)
			}
			if tc.want == 401 {
				if !strings.Contains(body, tc.reason) {
					t.Errorf("the 401 body does not say %q: %s", tc.reason, body)
				}
				if !strings.Contains(h.Get("WWW-Authenticate"), `error_description="`+tc.reason+`"`) {
					t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
				}
			}
		})
	}

	// The WebSocket: refused without a token, open with one.
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=req-by-route", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a WebSocket without a token: %v %v", err, resp)
	}
	v := dial(t, s, "charts=req-by-route&token="+chartTok.Token)
	if fs := v.next(); len(fs) == 0 || fs[0].Chart != "req-by-route" {
		t.Errorf("first message with a token: %+v", fs)
	}
	_, resp, err = websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?dashboard=web&token="+chartTok.Token, nil)
	if err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a chart token opened the dashboard's stream: %v", err)
	}
}

func TestRevokedInConfig(t *testing.T) {
	t.Parallel()
	tok := mintAt(t, testEmbedSecret, time.Now(), embed.Scope{Chart: "req-by-route"}, time.Hour)
	k, _ := embed.New(embed.Config{Secret: testEmbedSecret})
	c, _ := k.Verify(tok)
	s := startServer(t, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Embed.Revoked = []string{c.ID}
	})
	code, body, _ := getWith(t, s.url+"/embed/req-by-route?token="+tok)
	if code != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Errorf("a token in embed.revoked: %d %s", code, body)
	}
}

func TestPublicReadIgnoresTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if code, body, _ := getWith(t, s.url+"/embed/req-by-route?token=nonsense"); code != http.StatusOK {
		t.Errorf("read: public refused a page: %d %s", code, body)
	}
}

func TestMintAPIRefusals(t *testing.T) {
	t.Parallel()
	s := tokenReadServer(t)
	tests := map[string]struct {
		body, auth string
		want       int
	}{
		"no admin token":  {`{"chart":"sales"}`, "", 401},
		"wrong token":     {`{"chart":"sales"}`, "Bearer nope", 401},
		"unknown chart":   {`{"chart":"nope"}`, "Bearer " + testAdminToken, 404},
		"unknown board":   {`{"dashboard":"nope"}`, "Bearer " + testAdminToken, 404},
		"both":            {`{"chart":"sales","dashboard":"web"}`, "Bearer " + testAdminToken, 400},
		"neither":         {`{}`, "Bearer " + testAdminToken, 400},
		"bad ttl":         {`{"chart":"sales","ttl":"soon"}`, "Bearer " + testAdminToken, 400},
		"ttl too long":    {`{"chart":"sales","ttl":"100000h"}`, "Bearer " + testAdminToken, 400},
		"unknown field":   {`{"chart":"sales","scope":"all"}`, "Bearer " + testAdminToken, 400},
		"chart, good":     {`{"chart":"sales","ttl":"10m"}`, "Bearer " + testAdminToken, 201},
		"dashboard, good": {`{"dashboard":"web"}`, "Bearer " + testAdminToken, 201},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, body := post(t, s.url+"/api/v1/embed-tokens", "application/json", tc.body, "Authorization", tc.auth)
			if code != tc.want {
				t.Errorf("%d %s, want %d", code, body, tc.want)
			}
			if code == 201 && !strings.Contains(body, `"url":"/`) {
				t.Errorf("no url in %s", body)
			}
		})
	}
	// Without an embed secret nothing is minted; without admin tokens,
	// only with the one generated at start.
	open := startServer(t, func(f *config.File) { f.Auth.AdminTokens = []string{testAdminToken} })
	if code, body := post(t, open.url+"/api/v1/embed-tokens", "application/json", `{"chart":"sales"}`, "Authorization", "Bearer "+testAdminToken); code != http.StatusConflict {
		t.Errorf("no embed secret: %d %s", code, body)
	}
	noAdmin := startServer(t, func(f *config.File) { f.Auth.EmbedSecret = testEmbedSecret })
	if code, body := post(t, noAdmin.url+"/api/v1/embed-tokens", "application/json", `{"chart":"sales"}`); code != http.StatusUnauthorized || !strings.Contains(body, "auth.admin_tokens") {
		t.Errorf("no admin tokens, no token sent: %d %s, want 401 naming auth.admin_tokens", code, body)
	}
	if code, body := post(t, noAdmin.url+"/api/v1/embed-tokens", "application/json", `{"chart":"sales"}`, noAdmin.admin()...); code != http.StatusCreated {
		t.Errorf("no admin tokens, the generated one sent: %d %s", code, body)
	}
}

func TestCORSAndStreamOriginsFollowAllowedParents(t *testing.T) {
	t.Parallel()
	const parent = "https://blog.example"
	s := tokenReadServer(t, parent)
	_, tok, _ := mintAPI(t, s, `{"chart":"req-by-route"}`)
	for _, path := range []string{"/embed.js", "/api/v1/charts/req-by-route/option?token=" + tok.Token, "/api/v1/charts/req-by-route?token=" + tok.Token} {
		code, _, h := getWith(t, s.url+path, "Origin", parent)
		if code != 200 || h.Get("Access-Control-Allow-Origin") != parent || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Errorf("GET %s from %s: %d, ACAO %q, Vary %q", path, parent, code, h.Get("Access-Control-Allow-Origin"), h.Values("Vary"))
		}
		if _, _, h := getWith(t, s.url+path, "Origin", "https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s from another origin got ACAO %q", path, h.Get("Access-Control-Allow-Origin"))
		}
	}
	// A preflight (a page sending Authorization) is answered.
	req := mustRequest(t, http.MethodOptions, s.url+"/api/v1/charts/req-by-route/option", "", "Origin", parent, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != parent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// Pages other than /embed stay unframeable; /embed names the parent.
	_, _, h := getWith(t, s.url+"/embed/req-by-route?token="+tok.Token)
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self' "+parent) {
		t.Errorf("embed CSP = %q", csp)
	}
	// The stream admits the parent's origin, and no other.
	d := websocket.Dialer{}
	u := "ws://" + s.Addr() + "/api/v1/stream?charts=req-by-route&token=" + tok.Token
	c, resp, err := d.Dial(u, http.Header{"Origin": {parent}})
	if err != nil {
		t.Fatalf("WebSocket from the allowed parent: %v %v", err, resp)
	}
	c.Close()
	if _, resp, err := d.Dial(u, http.Header{"Origin": {"https://evil.example"}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("WebSocket from another origin: %v", err)
	}
}

func TestEmbedTokenCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "dashd.yaml")
	if err := os.WriteFile(cfg, []byte("auth:\n  embed_secret: "+testEmbedSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"embed-token", "--config", cfg, "--chart", "req-by-route", "--ttl", "2h"}, noEnv, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	k, _ := embed.New(embed.Config{Secret: testEmbedSecret})
	c, err := k.Verify(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatalf("the printed token does not verify: %v", err)
	}
	if c.Chart != "req-by-route" || c.Expires-c.IssuedAt != 7200 || !strings.Contains(stderr.String(), c.ID) {
		t.Errorf("claims %+v, stderr %q", c, stderr.String())
	}

	noSecret := filepath.Join(dir, "plain.yaml")
	os.WriteFile(noSecret, []byte("addr: 127.0.0.1:1\n"), 0o600)
	for name, args := range map[string][]string{
		"no config":   {"embed-token", "--chart", "x"},
		"no secret":   {"embed-token", "--config", noSecret, "--chart", "x"},
		"no scope":    {"embed-token", "--config", cfg},
		"both scopes": {"embed-token", "--config", cfg, "--chart", "a", "--dashboard", "b"},
		"bad ttl":     {"embed-token", "--config", cfg, "--chart", "a", "--ttl", "-1h"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run(t.Context(), args, noEnv, &stdout, &stderr); code != 2 || stdout.Len() > 0 {
			t.Errorf("%s: exit %d, stdout %q", name, code, stdout.String())
		}
	}
}

func noEnv(string) (string, bool) { return "", false }

// ---- browser tests (chromium) ----------------------------------------------

// xssTag is the tag value of the tests: it must show as text everywhere.
const xssTag = `<img src=x onerror=alert(1)>`

// pollTrue waits until expr is true in ctx's page.
func pollTrue(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("%s: never true: %s: %v", what, expr, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalAwait is eval of an expression that gives a Promise: its value.
func evalAwait[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// viewOf is a page expression: the view of chart id in one of dashd's
// pages (see web/static/dashd.js).
func viewOf(id string) string {
	return fmt.Sprintf(`document.querySelector('[data-chart][data-id=%q]').dashdView`, id)
}

// showTipOf is a page expression, a Promise: chart id shows the tooltip
// of category.
func showTipOf(id, category string) string {
	return fmt.Sprintf(`(async function () {
		var v = %s;
		var o = await v.option();
		v.action({type: 'showTip', seriesIndex: 0, dataIndex: o.xAxis[0].data.indexOf(%q)});
		return true;
	})()`, viewOf(id), category)
}

// screenshot saves the page as dir/name when DASHD_SCREENSHOTS=dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DASHD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// hostPage serves the pages of a site that embeds dashd: an iframe of
// /embed/{chart} and a <dashd-chart>, each with its own token. Its origin
// is http://localhost:PORT, another site than dashd's 127.0.0.1, so the
// browser isolates the iframe as it would on the web.
type hostPage struct {
	ln     net.Listener
	origin string
}

func newHostPage(t *testing.T) *hostPage {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &hostPage{ln: ln, origin: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)}
}

// serve starts the host site; each page is /{name}?frame=TOKEN&el=TOKEN.
// The page /strict has a Content-Security-Policy that lets in dashd's
// scripts, frames and connections, and no worker but the site's own.
func (h *hostPage) serve(t *testing.T, dashd string) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/strict" {
			u, _ := url.Parse(dashd)
			w.Header().Set("Content-Security-Policy", fmt.Sprintf("default-src 'self'; script-src 'self' %[1]s; worker-src 'self'; "+
				"connect-src %[1]s ws://%[2]s; frame-src %[1]s; style-src 'unsafe-inline'; img-src data:", dashd, u.Host))
		}
		fmt.Fprintf(w, `<!doctype html><html><head><title>host</title>
<style>
  /* A host page's CSS that must not reach into the element. */
  div, h2, span, canvas { border: 7px solid red !important; color: red !important; font-family: serif !important; }
  body { font: 20px serif; margin: 8px; }
</style></head><body>
<h2 id="host-title">A host page</h2>
<iframe id="frame" src="%[1]s/embed/req-by-route?theme=dark&amp;token=%[2]s" width="620" height="300" title="dashd"></iframe>
<dashd-chart id="el" chart="req-by-route" theme="light" tz="UTC" token="%[3]s"></dashd-chart>
<script src="%[1]s/embed.js" async></script>
</body></html>`, dashd, html.EscapeString(q.Get("frame")), html.EscapeString(q.Get("el")))
	}))
	srv.Listener.Close()
	srv.Listener = h.ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// frameContext attaches to the cross-site iframe of dashd in the page.
func frameContext(t *testing.T, ctx context.Context, dashd string) context.Context {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, dashd+"/embed/") {
				fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return fctx
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no iframe target of dashd in the page")
	return nil
}

// elementCategories is a host page expression, a Promise: the categories
// the <dashd-chart> draws.
const elementCategories = `(async function () {
	var o = document.getElementById('el').getOption && await document.getElementById('el').getOption();
	if (!o) return [];
	var a = o.xAxis && o.xAxis[0] && o.xAxis[0].type === 'category' ? o.xAxis[0] : o.yAxis[0];
	return a.data || [];
})()`

// foreignRequests lists what a page fetched from neither of origins.
func foreignRequests(origins ...string) string {
	b, _ := json.Marshal(origins)
	return fmt.Sprintf(`performance.getEntriesByType('resource').map(function (e) { return e.name; }).filter(function (n) {
		return !%s.some(function (o) { return n.indexOf(o + '/') === 0; });
	})`, b)
}

// openHostPage starts dashd (reads by token) and a host site that embeds
// req-by-route, and opens the host's page (see hostPage.serve) in a
// browser, the iframe and the element each with a token of its own.
func openHostPage(t *testing.T, page string) (ctx context.Context, s *server, host *hostPage) {
	t.Helper()
	host = newHostPage(t)
	s = tokenReadServer(t, host.origin)
	host.serve(t, s.url)
	_, frameTok, _ := mintAPI(t, s, `{"chart":"req-by-route"}`)
	_, elTok, _ := mintAPI(t, s, `{"chart":"req-by-route"}`)
	ctx = newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(host.origin+page+"?frame="+frameTok.Token+"&el="+elTok.Token)); err != nil {
		t.Fatal(err)
	}
	return ctx, s, host
}

func TestBrowserEmbedsOnAnotherOrigin(t *testing.T) {
	ctx, s, host := openHostPage(t, "/ok")
	fctx := frameContext(t, ctx, s.url)
	pollTrue(t, ctx, "the element goes live", `document.getElementById('el').getAttribute('data-state') === 'live'`)
	pollTrue(t, fctx, "the iframe goes live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	// Both draw in a paint worker: the element's started from a script
	// made in the host page, which imports dashd's.
	pollTrue(t, ctx, "the element draws in a worker", `document.getElementById('el').getAttribute('data-paint') === 'worker'`)
	pollTrue(t, fctx, "the iframe draws in a worker", `document.querySelector('main').getAttribute('data-paint') === 'worker'`)

	route := fmt.Sprintf("/embedded-%d", time.Now().UnixNano())
	sample, _ := json.Marshal([]map[string]any{
		{"metric": "http_requests", "tags": map[string]string{"route": route, "status": "200"}, "value": 2},
		{"metric": "http_requests", "tags": map[string]string{"route": xssTag, "status": xssTag}, "value": 1},
	})
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", string(sample)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	pollTrue(t, ctx, "the element shows the new bar", fmt.Sprintf(`%s.then(function (cats) { return cats.indexOf(%q) >= 0 && cats.indexOf(%q) >= 0; })`, elementCategories, route, xssTag))
	waitForCategory(t, fctx, "req-by-route", route)
	waitForCategory(t, fctx, "req-by-route", xssTag)

	// The tag is text: in the legend (series names) of both, in the iframe's
	// tooltip, and no element was made of it anywhere.
	legend := evalAwait[[]string](t, ctx, `document.getElementById('el').getOption().then(function (o) { return o.series.map(function (s) { return s.name; }); })`)
	if !strings.Contains(strings.Join(legend, "\n"), xssTag) {
		t.Errorf("the element's series are %q, want the tag as a name", legend)
	}
	evalAwait[bool](t, fctx, showTipOf("req-by-route", xssTag))
	time.Sleep(300 * time.Millisecond)
	for name, c := range map[string]context.Context{"host page": ctx, "iframe": fctx} {
		got := eval[string](t, c, `String(window.__xss || '') + document.querySelectorAll('img').length +
			(document.getElementById('el') && document.getElementById('el').shadowRoot ? document.getElementById('el').shadowRoot.querySelectorAll('img').length : '')`)
		if got != "00" && got != "0" {
			t.Errorf("%s: the tag became markup (%q)", name, got)
		}
	}

	// No CSS crosses the shadow boundary, either way; ECharts set no global.
	isolation := eval[string](t, ctx, `(function () {
		var el = document.getElementById('el');
		var box = el.shadowRoot.querySelector('.box');
		var h2 = el.shadowRoot.querySelector('h2');
		var out = [];
		if (getComputedStyle(box).borderTopWidth === '7px') out.push('host border reached the element');
		if (getComputedStyle(h2).fontFamily.indexOf('serif') === 0) out.push('host font reached the element');
		if (getComputedStyle(document.getElementById('host-title')).fontSize === '15px') out.push('element style reached the host');
		if ('echarts' in window) out.push('window.echarts was left in the host page');
		if ('dashdCore' in window) out.push('dashdCore was left in the host page');
		return out.join('; ');
	})()`)
	if isolation != "" {
		t.Error(isolation)
	}

	// No request left dashd's origin, but for the host page itself.
	if f := eval[[]string](t, ctx, foreignRequests(host.origin, s.url)); len(f) > 0 {
		t.Errorf("the host page fetched from elsewhere: %v", f)
	}
	if f := eval[[]string](t, fctx, foreignRequests(s.url)); len(f) > 0 {
		t.Errorf("the iframe fetched from elsewhere: %v", f)
	}
	// Let the iframe draw its new bars and put the element in the view.
	time.Sleep(500 * time.Millisecond)
	screenshot(t, ctx, "screenshot-embed.png")
}

// TestBrowserEmbedsUnderAStrictPolicy: a host page whose
// Content-Security-Policy allows no worker from a script it makes (blob:)
// still gets a live <dashd-chart>, drawn in the page.
func TestBrowserEmbedsUnderAStrictPolicy(t *testing.T) {
	ctx, s, _ := openHostPage(t, "/strict")
	pollTrue(t, ctx, "the element goes live", `document.getElementById('el').getAttribute('data-state') === 'live'`)
	pollTrue(t, ctx, "the element draws in the page", `document.getElementById('el').getAttribute('data-paint') === 'page'`)
	route := fmt.Sprintf("/strict-%d", time.Now().UnixNano())
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%q,"status":"200"},"value":2}]`, route)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	pollTrue(t, ctx, "the element shows the new bar", fmt.Sprintf(`%s.then(function (cats) { return cats.indexOf(%q) >= 0; })`, elementCategories, route))
	if got := eval[string](t, ctx, `document.getElementById('el').shadowRoot.querySelector('.error').textContent`); got != "" {
		t.Errorf("the element shows an error: %q", got)
	}
}

func TestBrowserRefusesExpiredAndForeignTokens(t *testing.T) {
	host := newHostPage(t)
	s := tokenReadServer(t, host.origin)
	host.serve(t, s.url)
	expired := mintAt(t, testEmbedSecret, time.Now().Add(-48*time.Hour), embed.Scope{Chart: "req-by-route"}, time.Hour)
	foreign := mintAt(t, "a-secret-of-another-dashd-0123456789", time.Now(), embed.Scope{Chart: "req-by-route"}, time.Hour)

	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(host.origin+"/bad?frame="+expired+"&el="+foreign)); err != nil {
		t.Fatal(err)
	}
	fctx := frameContext(t, ctx, s.url)
	pollTrue(t, fctx, "the iframe says the token expired", `document.body && document.body.textContent.indexOf('expired') >= 0`)
	pollTrue(t, ctx, "the element is refused", `document.getElementById('el').getAttribute('data-state') === 'refused'`)
	msg := eval[string](t, ctx, `document.getElementById('el').shadowRoot.querySelector('.error').textContent`)
	if !strings.Contains(msg, "401") || !strings.Contains(msg, "bad signature") {
		t.Errorf("the element says %q, want a 401 for a bad signature", msg)
	}
	if n := eval[float64](t, fctx, `document.querySelectorAll('canvas').length`); n != 0 {
		t.Errorf("the refused iframe drew %v canvases", n)
	}
}

// tableText is a page expression: the data table of chart id as rows of
// cell texts (after the table button was pressed).
func tableText(id string) string {
	return fmt.Sprintf(`(function () {
		var card = document.querySelector('[data-chart][data-id=%q]').closest('.card');
		return Array.prototype.map.call(card.querySelectorAll('[data-table] tr'), function (tr) {
			return Array.prototype.map.call(tr.children, function (c) { return c.textContent; }).join('\t');
		});
	})()`, id)
}

func TestBrowserDashboardShowsUserTextAsText(t *testing.T) {
	s := startServer(t, nil)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web?theme=light")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	var samples []map[string]any
	for i, route := range []string{"/", "/api/v1/ingest", "/login", "/d/web", xssTag} {
		for j, status := range []string{"200", "404", xssTag} {
			samples = append(samples, map[string]any{"metric": "http_requests", "tags": map[string]string{"route": route, "status": status}, "value": float64((i+1)*(3-j)) * 12.5})
		}
	}
	body, _ := json.Marshal(samples)
	if code, b := post(t, s.url+"/api/v1/ingest", "application/json", string(body)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, b)
	}
	waitForCategory(t, ctx, "req-by-route", xssTag)

	// The data table: built with textContent, so the tag reads as itself.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-action="table"][data-for="req-by-route"]`))); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the table", tableText("req-by-route")+`.length > 5`)
	rows := eval[[]string](t, ctx, tableText("req-by-route"))
	if !strings.Contains(rows[0], xssTag) {
		t.Errorf("the table's header %q lacks the series named by the tag", rows[0])
	}
	found := false
	for _, r := range rows {
		found = found || strings.HasPrefix(r, xssTag+"\t")
	}
	if !found {
		t.Errorf("no table row is the tag: %q", rows)
	}
	// The legend names it, the tooltip shows it, nothing runs.
	legend := evalAwait[[]string](t, ctx, viewOf("req-by-route")+`.option().then(function (o) { return o.legend[0].data || []; })`)
	series := evalAwait[[]string](t, ctx, viewOf("req-by-route")+`.option().then(function (o) { return o.series.map(function (s) { return s.name; }); })`)
	if !strings.Contains(strings.Join(append(legend, series...), "\n"), xssTag) {
		t.Errorf("legend %q, series %q: no tag", legend, series)
	}
	evalAwait[bool](t, ctx, showTipOf("req-by-route", xssTag))
	time.Sleep(300 * time.Millisecond)
	if got := eval[float64](t, ctx, `document.querySelectorAll('img').length`); got != 0 {
		t.Errorf("%v img elements in the page", got)
	}

	// Save as PNG makes a PNG (drawn by the paint worker, handed over as a
	// data: URL), and the theme toggle cycles and is kept.
	png := evalAwait[string](t, ctx, viewOf("req-by-route")+`.png({ pixelRatio: 2 }).then(function (u) {
		return u.slice(0, 22) + ' ' + (u.length > 3000);
	})`)
	if png != "data:image/png;base64, true" {
		t.Errorf("the chart as PNG: %q, want a data: URL of a PNG", png)
	}
	eval[bool](t, ctx, `(localStorage.removeItem('dashd.theme'), true)`)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live again", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-theme-toggle]`)), chromedp.Click(chromedp.CSS(`[data-theme-toggle]`))); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.documentElement.getAttribute('data-theme') + ' ' + localStorage.getItem('dashd.theme')`); got != "dark dark" {
		t.Errorf("after two clicks: %q, want dark, kept", got)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.documentElement.getAttribute('data-theme')`); got != "dark" {
		t.Errorf("after a reload the theme is %q", got)
	}
	eval[bool](t, ctx, `(localStorage.removeItem('dashd.theme'), true)`)
}

func TestBrowserScreenshots(t *testing.T) {
	if os.Getenv("DASHD_SCREENSHOTS") == "" {
		t.Skip("set DASHD_SCREENSHOTS=dir to write the screenshots of the README")
	}
	s := startServer(t, func(f *config.File) {
		f.Dashboards[0].Charts = append(f.Dashboards[0].Charts,
			charts.Chart{ID: "latency", Title: "Latency by service", Type: charts.Grouped, Metric: "latency_ms", X: "service", Series: "quantile", Agg: charts.Avg, Unit: "ms",
				Thresholds: []charts.Threshold{{Value: 250, Label: "SLO"}}},
			charts.Chart{ID: "errors", Title: "Error share by region", Type: charts.Percent, Horizontal: true, Metric: "http_requests", X: "region", Series: "status", Agg: charts.Sum})
	})
	var samples []map[string]any
	for i, route := range []string{"/", "/api/v1/ingest", "/login", "/d/web", "/static"} {
		for j, status := range []string{"200", "404", "500"} {
			for k, region := range []string{"eu-west", "us-east", "ap-south"} {
				samples = append(samples, map[string]any{"metric": "http_requests", "tags": map[string]string{"route": route, "status": status, "region": region},
					"value": float64((5-i)*(3-j)*(3-j)*(k+2)) * 7})
			}
		}
	}
	for i, svc := range []string{"api", "auth", "billing", "search"} {
		for j, q := range []string{"p50", "p90", "p99"} {
			samples = append(samples, map[string]any{"metric": "latency_ms", "tags": map[string]string{"service": svc, "quantile": q}, "value": float64(20+i*15) * float64(1+j*j)})
		}
	}
	body, _ := json.Marshal(samples)
	if code, b := post(t, s.url+"/api/v1/ingest", "application/json", string(body)); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, b)
	}
	put := mustRequest(t, http.MethodPut, s.url+"/api/v1/charts/sales/data", `{"categories":["Mon","Tue","Wed","Thu","Fri"],"series":[{"name":"online","data":[120,135,160,150,190]},{"name":"store","data":[80,95,70,100,110]}]}`, "Content-Type", "application/json", "Authorization", "Bearer "+s.AdminToken())
	if code, b := do(t, put); code != http.StatusNoContent {
		t.Fatalf("push data: %d %s", code, b)
	}
	ctx := newBrowser(t)
	for _, theme := range []string{"light", "dark"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web?theme="+theme)); err != nil {
			t.Fatal(err)
		}
		pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
		waitForCategory(t, ctx, "errors", "us-east")
		time.Sleep(1500 * time.Millisecond) // animations
		screenshot(t, ctx, "screenshot-"+theme+".png")
	}
}

// TestBrowserHeapStaysFlat pushes many thousands of frames through a
// dashboard page and compares the JS heap (after a forced GC) before and
// after. The figures go to the test log, and into docs/BENCHMARKS.md.
func TestBrowserHeapStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 40 s")
	}
	const nCharts = 8
	wantFrames := 12000
	if v := os.Getenv("DASHD_HEAP_FRAMES"); v != "" {
		fmt.Sscan(v, &wantFrames)
	}
	s := startServer(t, func(f *config.File) {
		f.Stream.MaxFPS = config.MaxFPS
		d := charts.Dashboard{ID: "heap", Title: "Heap"}
		for i := range nCharts {
			d.Charts = append(d.Charts, charts.Chart{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("push %d", i), Unit: "ms"})
		}
		f.Dashboards = append(f.Dashboards, d)
	})
	ctx := newBrowserFor(t, time.Minute+time.Duration(wantFrames)*10*time.Millisecond) // about 400 frames a second
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/heap")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	// Open one data table, so its rebuilding is measured too.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-action="table"][data-for="p0"]`))); err != nil {
		t.Fatal(err)
	}

	v := dial(t, s, "dashboard=heap")
	var frames atomic.Int64
	go func() {
		for {
			v.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, msg, err := v.conn.ReadMessage()
			if err != nil {
				return
			}
			frames.Add(int64(strings.Count(string(msg), `"type":"frame"`)))
		}
	}()
	// push sends frames to every chart until the viewer has counted n more:
	// categories and series change shape as they go, as real data does.
	push := func(n int64) time.Duration {
		start, target := time.Now(), frames.Load()+n
		var wg sync.WaitGroup
		for i := range nCharts {
			wg.Go(func() {
				for k := 0; frames.Load() < target; k++ {
					nCat, nSer := 3+(k%12), 1+(k%4)
					cats := make([]string, nCat)
					for c := range cats {
						cats[c] = fmt.Sprintf("cat-%d", (c+k)%40)
					}
					series := make([]map[string]any, nSer)
					for sIdx := range series {
						data := make([]float64, nCat)
						for c := range data {
							data[c] = float64((k*7+c*13+sIdx*5)%1000) / 3
						}
						series[sIdx] = map[string]any{"name": fmt.Sprintf("s%d", (sIdx+k/50)%6), "data": data}
					}
					b, _ := json.Marshal(map[string]any{"categories": cats, "series": series})
					req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/charts/p%d/data", s.url, i), strings.NewReader(string(b)))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+s.AdminToken())
					if resp, err := http.DefaultClient.Do(req); err == nil {
						resp.Body.Close()
					}
					time.Sleep(8 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	// heap is the JS heap of the page and of its paint worker, after GC.
	heap := func() [2]float64 {
		workers, n := workersHeapAfterGC(t, ctx)
		if n == 0 {
			t.Fatal("no paint worker: the charts are not drawn in one")
		}
		return [2]float64{jsHeapAfterGC(t, ctx), workers}
	}

	push(1000) // warm up: every chart drawn, every code path compiled
	time.Sleep(500 * time.Millisecond)
	before := heap()
	took := push(int64(wantFrames / 2))
	time.Sleep(500 * time.Millisecond)
	half := heap()
	took += push(int64(wantFrames - wantFrames/2))
	time.Sleep(500 * time.Millisecond)
	after := heap()
	drawn := eval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('[data-updated]'), function (e) { return e.textContent; }).join(',')`)
	for i, what := range []string{"page", "paint worker"} {
		t.Logf("JS heap of the %s after GC: %.2f MB before, %.2f MB after %d frames, %.2f MB after %d frames to %d charts in %s (%.0f frames/s)",
			what, before[i]/1e6, half[i]/1e6, wantFrames/2, after[i]/1e6, wantFrames, nCharts, took.Round(time.Second), float64(wantFrames)/took.Seconds())
		if limit := 2*before[i] + 5e6; after[i] > limit {
			t.Errorf("the JS heap of the %s grew from %.1f MB to %.1f MB (limit %.1f MB)", what, before[i]/1e6, after[i]/1e6, limit/1e6)
		}
	}
	t.Logf("last updates %s", drawn)
}
