package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/web"
)

// catalog is a fake web.Catalog over a fixed list of dashboards.
type catalog struct {
	dashboards []charts.Dashboard
}

func (c catalog) Dashboards() []charts.Dashboard { return c.dashboards }

func (c catalog) Dashboard(id string) (charts.Dashboard, bool) {
	for _, d := range c.dashboards {
		if d.ID == id {
			return d, true
		}
	}
	return charts.Dashboard{}, false
}

func (c catalog) Chart(id string) (charts.Chart, bool) {
	for _, d := range c.dashboards {
		for _, ch := range d.Charts {
			if ch.ID == id {
				return ch, true
			}
		}
	}
	return charts.Chart{}, false
}

// Strings that would run as script if a page let them through unescaped.
const (
	evilScript = `<script>alert(1)</script>`
	evilAttr   = `"><img src=x onerror=alert(1)>`
)

var testCatalog = catalog{dashboards: []charts.Dashboard{
	{ID: "web", Title: "Web traffic", Charts: []charts.Chart{
		{ID: "req", Title: "Requests by route", Type: charts.Stacked, X: "route", Unit: "req/s"},
		{ID: "lat", Title: "Latency", Type: charts.Grouped, Horizontal: true, X: "time", Unit: "ms"},
	}},
	{ID: "evil", Title: evilScript + evilAttr, Charts: []charts.Chart{
		{ID: "e1", Title: evilScript, Type: charts.Percent, X: evilAttr, Unit: evilScript},
		{ID: "e2", Title: evilAttr, Unit: evilAttr},
	}},
	{ID: "empty", Title: "", Charts: nil},
}}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(web.Handler(web.Config{Catalog: testCatalog}))
	t.Cleanup(srv.Close)
	return srv
}

// client does not ask for gzip by itself, so that tests see what the
// server sends.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

type response struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, rawURL string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

func parse(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	return doc
}

// elements returns every element of doc in document order.
func elements(doc *html.Node) []*html.Node {
	var out []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode {
			out = append(out, n)
		}
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// chartElements returns the data attributes of each chart element.
func chartElements(doc *html.Node) []map[string]string {
	var out []map[string]string
	for _, n := range elements(doc) {
		if _, ok := attr(n, "data-chart"); !ok {
			continue
		}
		m := map[string]string{}
		for _, a := range n.Attr {
			if k, ok := strings.CutPrefix(a.Key, "data-"); ok {
				m[k] = a.Val
			}
		}
		out = append(out, m)
	}
	return out
}

func TestIndexListsDashboards(t *testing.T) {
	srv := newServer(t)
	res := get(t, srv.URL+"/")
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200", res.status)
	}
	doc := parse(t, res.body)
	type item struct{ href, text string }
	var items []item
	for _, n := range elements(doc) {
		if n.Data == "a" {
			if href, _ := attr(n, "href"); strings.HasPrefix(href, "/d/") {
				items = append(items, item{href, strings.Join(strings.Fields(text(n)), " ")})
			}
		}
	}
	want := []item{
		{"/d/web", "Web traffic 2 charts"},
		{"/d/evil", evilScript + evilAttr + " 2 charts"},
		{"/d/empty", "empty 0 charts"},
	}
	if len(items) != len(want) {
		t.Fatalf("links %q, want %q", items, want)
	}
	for i := range want {
		if items[i] != want[i] {
			t.Errorf("link %d is %q, want %q", i, items[i], want[i])
		}
	}
}

func TestDashboardChartAttributes(t *testing.T) {
	srv := newServer(t)
	res := get(t, srv.URL+"/d/web")
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200", res.status)
	}
	doc := parse(t, res.body)
	got := chartElements(doc)
	want := []map[string]string{
		{"chart": "", "id": "req", "type": "stacked", "horizontal": "false", "x": "route", "unit": "req/s", "title": "Requests by route"},
		{"chart": "", "id": "lat", "type": "grouped", "horizontal": "true", "x": "time", "unit": "ms", "title": "Latency"},
	}
	if len(got) != len(want) {
		t.Fatalf("chart elements %v, want %v", got, want)
	}
	for i := range want {
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Errorf("chart %d: data-%s = %q, want %q", i, k, got[i][k], v)
			}
		}
	}
	var main *html.Node
	for _, n := range elements(doc) {
		if n.Data == "main" {
			main = n
		}
	}
	if v, _ := attr(main, "data-dashboard"); v != "web" {
		t.Errorf("main data-dashboard = %q, want web", v)
	}
	for _, h := range elements(doc) {
		if h.Data == "title" && !strings.Contains(text(h), "Web traffic") {
			t.Errorf("title %q lacks the dashboard's title", text(h))
		}
	}
}

func TestEmbedOneChart(t *testing.T) {
	srv := newServer(t)
	tests := map[string]struct {
		query     string
		wantTheme string
	}{
		"no theme":   {"", ""},
		"dark":       {"?theme=dark", "dark"},
		"light":      {"?theme=light", "light"},
		"unknown":    {"?theme=" + url.QueryEscape(evilAttr), ""},
		"with token": {"?token=abc&theme=dark", "dark"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := get(t, srv.URL+"/embed/lat"+tc.query)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200", res.status)
			}
			doc := parse(t, res.body)
			cs := chartElements(doc)
			if len(cs) != 1 || cs[0]["id"] != "lat" || cs[0]["horizontal"] != "true" || cs[0]["x"] != "time" {
				t.Fatalf("chart elements %v, want the one chart lat", cs)
			}
			for _, n := range elements(doc) {
				if n.Data == "main" {
					if v, _ := attr(n, "data-charts"); v != "lat" {
						t.Errorf("main data-charts = %q, want lat", v)
					}
				}
				if n.Data == "html" {
					if v, _ := attr(n, "data-theme"); v != tc.wantTheme {
						t.Errorf("data-theme = %q, want %q", v, tc.wantTheme)
					}
				}
			}
		})
	}
}

// TestUserStringsEscaped: titles, units and tag keys from definitions show
// as text and never become markup.
func TestUserStringsEscaped(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/", "/d/evil", "/embed/e1", "/embed/e2", "/d/" + url.PathEscape(evilAttr), "/embed/" + url.PathEscape(evilScript)} {
		t.Run(path, func(t *testing.T) {
			res := get(t, srv.URL+path)
			for _, s := range []string{evilScript, evilAttr, "<img", "<script>alert"} {
				if strings.Contains(res.body, s) {
					t.Errorf("the page contains %q unescaped", s)
				}
			}
			doc := parse(t, res.body)
			for _, n := range elements(doc) {
				if n.Data == "img" {
					t.Errorf("an <img> element was injected: %v", n.Attr)
				}
				if n.Data == "script" {
					if src, _ := attr(n, "src"); src == "" || strings.TrimSpace(text(n)) != "" {
						t.Errorf("an inline <script> is on the page: %q", text(n))
					}
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("<%s> has an event handler attribute %s=%q", n.Data, a.Key, a.Val)
					}
				}
			}
		})
	}
	// The text survives escaping intact: the browser shows what was defined.
	doc := parse(t, get(t, srv.URL+"/d/evil").body)
	cs := chartElements(doc)
	if len(cs) != 2 || cs[0]["title"] != evilScript || cs[0]["x"] != evilAttr || cs[0]["unit"] != evilScript || cs[1]["title"] != evilAttr {
		t.Errorf("chart attributes %v do not carry the definitions' strings", cs)
	}
	var h2s []string
	for _, n := range elements(doc) {
		if n.Data == "h2" {
			h2s = append(h2s, text(n))
		}
	}
	if len(h2s) != 2 || h2s[0] != evilScript || h2s[1] != evilAttr {
		t.Errorf("chart headings %q, want the titles as text", h2s)
	}
}

func TestNotFound(t *testing.T) {
	srv := newServer(t)
	tests := map[string]struct {
		path  string
		want  string
		isDoc bool
	}{
		"dashboard":      {"/d/nope", `There is no dashboard with the id &#34;nope&#34;.`, true},
		"chart":          {"/embed/nope", `There is no chart with the id &#34;nope&#34;.`, true},
		"page":           {"/nope", `There is no page at /nope.`, true},
		"deep":           {"/d/web/more", `There is no page at /d/web/more.`, true},
		"evil dashboard": {"/d/" + url.PathEscape(evilScript), `&lt;script&gt;`, true},
		"static":         {"/static/nope.js", "no such static file", false},
		"static gz":      {"/static/echarts.min.js.gz", "no such static file", false},
		"static dir":     {"/static/", "no such static file", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := get(t, srv.URL+tc.path)
			if res.status != http.StatusNotFound {
				t.Fatalf("status %d, want 404", res.status)
			}
			if !strings.Contains(res.body, tc.want) {
				t.Errorf("body %q lacks %q", res.body, tc.want)
			}
			if tc.isDoc {
				if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if res.header.Get("Content-Security-Policy") == "" {
					t.Error("no Content-Security-Policy on the 404 page")
				}
			}
		})
	}
}

func TestPageHeaders(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/", "/d/web", "/embed/req", "/d/nope"} {
		t.Run(path, func(t *testing.T) {
			res := get(t, srv.URL+path)
			if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			csp := res.header.Get("Content-Security-Policy")
			directives := map[string]string{}
			for d := range strings.SplitSeq(csp, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
				directives[name] = value
			}
			for name, want := range map[string]string{
				"default-src": "'self'",
				"script-src":  "'self'",
				"style-src":   "'self'",
				"connect-src": "'self'",
				"object-src":  "'none'",
				"base-uri":    "'none'",
			} {
				if directives[name] != want {
					t.Errorf("CSP %s = %q, want %q (policy %q)", name, directives[name], want, csp)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q allows something unsafe", csp)
			}
			embed := strings.HasPrefix(path, "/embed/")
			if fa, ok := directives["frame-ancestors"]; embed == ok || (!embed && fa != "'self'") {
				t.Errorf("CSP frame-ancestors = %q (present %v) on %s", fa, ok, path)
			}
			for name, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-cache",
			} {
				if got := res.header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestReferencesSameOrigin: every src and href on every page is a path on
// dashd itself, and every one of them answers.
func TestReferencesSameOrigin(t *testing.T) {
	srv := newServer(t)
	seen := map[string]bool{}
	for _, path := range []string{"/", "/d/web", "/d/evil", "/d/empty", "/embed/req", "/d/nope"} {
		doc := parse(t, get(t, srv.URL+path).body)
		for _, n := range elements(doc) {
			for _, a := range n.Attr {
				if !isReference(a.Key) {
					continue
				}
				u, err := url.Parse(a.Val)
				if err != nil {
					t.Errorf("%s: <%s %s=%q> does not parse: %v", path, n.Data, a.Key, a.Val, err)
					continue
				}
				if u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(a.Val, "//") {
					t.Errorf("%s: <%s %s=%q> is not a same-origin path", path, n.Data, a.Key, a.Val)
					continue
				}
				seen[a.Val] = true
			}
		}
	}
	for _, want := range []string{"/static/echarts.min.js", "/static/paint-worker.js", "/static/dashd.js", "/static/dashd-format.js", "/static/dashd-paint.js", "/static/dashd.css", "/static/favicon.svg"} {
		found := false
		for ref := range seen {
			found = found || strings.HasPrefix(ref, want+"?v=")
		}
		if !found {
			t.Errorf("no page references %s?v=…", want)
		}
	}
	for ref := range seen {
		if res := get(t, srv.URL+ref); res.status != http.StatusOK {
			t.Errorf("%s answers %d", ref, res.status)
		}
	}
}

// isReference says whether an attribute of dashd's pages names a URL:
// src and href, and the scripts the client loads (the ECharts bundle when
// it draws in the page, the paint worker).
func isReference(attr string) bool {
	switch attr {
	case "src", "href", "data-echarts", "data-paint-worker":
		return true
	}
	return false
}

// staticURLs maps each asset referenced by the dashboard page to its
// versioned URL.
func staticURLs(t *testing.T, srv *httptest.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	doc := parse(t, get(t, srv.URL+"/d/web").body)
	for _, n := range elements(doc) {
		for _, a := range n.Attr {
			if isReference(a.Key) && strings.HasPrefix(a.Val, "/static/") {
				name, _, _ := strings.Cut(strings.TrimPrefix(a.Val, "/static/"), "?")
				out[name] = a.Val
			}
		}
	}
	return out
}

func TestStaticFiles(t *testing.T) {
	srv := newServer(t)
	urls := staticURLs(t, srv)
	tests := map[string]struct {
		ctype   string
		gzipped bool
		minSize int
	}{
		"echarts.min.js":  {"text/javascript; charset=utf-8", true, 300_000},
		"paint-worker.js": {"text/javascript; charset=utf-8", true, 100},
		"dashd-paint.js":  {"text/javascript; charset=utf-8", true, 1000},
		"dashd.js":        {"text/javascript; charset=utf-8", true, 1000},
		"dashd.css":       {"text/css; charset=utf-8", true, 1000},
		"favicon.svg":     {"image/svg+xml", false, 100},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u := urls[name]
			if u == "" {
				t.Fatalf("the dashboard page does not reference %s", name)
			}
			plain := get(t, srv.URL+u)
			if plain.status != http.StatusOK {
				t.Fatalf("status %d", plain.status)
			}
			if ct := plain.header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if len(plain.body) < tc.minSize {
				t.Errorf("%d bytes, want at least %d", len(plain.body), tc.minSize)
			}
			if ce := plain.header.Get("Content-Encoding"); ce != "" {
				t.Errorf("Content-Encoding %q without Accept-Encoding", ce)
			}
			if cc := plain.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q for the versioned URL", cc)
			}
			if plain.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			etag := plain.header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			if res := get(t, srv.URL+u, "If-None-Match", etag); res.status != http.StatusNotModified || res.body != "" {
				t.Errorf("If-None-Match %s: status %d, body %d bytes, want 304 and none", etag, res.status, len(res.body))
			}
			unversioned := get(t, srv.URL+"/static/"+name)
			if cc := unversioned.header.Get("Cache-Control"); cc != "no-cache" || unversioned.body != plain.body {
				t.Errorf("unversioned URL: Cache-Control %q, same body %v", cc, unversioned.body == plain.body)
			}

			zipped := get(t, srv.URL+u, "Accept-Encoding", "gzip, deflate, br")
			if !tc.gzipped {
				if zipped.header.Get("Content-Encoding") != "" || zipped.body != plain.body {
					t.Error("an incompressible file was sent encoded")
				}
				return
			}
			if ce := zipped.header.Get("Content-Encoding"); ce != "gzip" {
				t.Fatalf("Content-Encoding %q, want gzip", ce)
			}
			if v := zipped.header.Get("Vary"); v != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", v)
			}
			if zipped.header.Get("ETag") == etag {
				t.Error("the gzip encoding has the same ETag as the plain one")
			}
			if len(zipped.body) >= len(plain.body) {
				t.Errorf("gzip body %d bytes, plain %d", len(zipped.body), len(plain.body))
			}
			zr, err := gzip.NewReader(strings.NewReader(zipped.body))
			if err != nil {
				t.Fatal(err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(unzipped, []byte(plain.body)) {
				t.Error("the gzip encoding is not the same file (rebuild with web/build/build.sh)")
			}
		})
	}
}

func TestStaticAcceptEncoding(t *testing.T) {
	srv := newServer(t)
	u := staticURLs(t, srv)["dashd.js"]
	tests := map[string]struct {
		accept string
		gzip   bool
	}{
		"none":          {"", false},
		"gzip":          {"gzip", true},
		"upper case":    {"GZIP", true},
		"x-gzip":        {"x-gzip", true},
		"with q":        {"br;q=1.0, gzip;q=0.5", true},
		"refused":       {"gzip;q=0", false},
		"refused 0.000": {"gzip; q=0.000, *", false},
		"star":          {"*", true},
		"star refused":  {"*;q=0", false},
		"other":         {"br, identity", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := get(t, srv.URL+u, "Accept-Encoding", tc.accept)
			if got := res.header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
				t.Errorf("Accept-Encoding %q: gzip %v, want %v", tc.accept, got, tc.gzip)
			}
		})
	}
}

// TestPaintWorkerScript checks that the paint worker imports exactly the
// versions of the files the page names, and starts the painter.
func TestPaintWorkerScript(t *testing.T) {
	srv := newServer(t)
	urls := staticURLs(t, srv)
	res := get(t, srv.URL+urls["paint-worker.js"])
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: %d", urls["paint-worker.js"], res.status)
	}
	want := "importScripts(\"" + urls["echarts.min.js"] + "\", \"" + urls["dashd-format.js"] + "\", \"" + urls["dashd-core.js"] + "\", \"" + urls["dashd-paint.js"] + "\");\ndashdPaint.serve(self);\n"
	if !strings.HasSuffix(res.body, want) {
		t.Errorf("paint-worker.js is\n%s\nwant it to end with\n%s", res.body, want)
	}
}

func TestStaticHead(t *testing.T) {
	srv := newServer(t)
	u := staticURLs(t, srv)["echarts.min.js"]
	res, err := client.Head(srv.URL + u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.ContentLength < 300_000 {
		t.Errorf("HEAD: status %d, length %d", res.StatusCode, res.ContentLength)
	}
}

// TestConcurrentRequests runs pages and files side by side under -race.
func TestConcurrentRequests(t *testing.T) {
	srv := newServer(t)
	paths := []string{"/", "/d/web", "/embed/req", "/static/dashd.js", "/d/nope"}
	done := make(chan struct{})
	for i := range 20 {
		go func() {
			defer func() { done <- struct{}{} }()
			res, err := client.Get(srv.URL + paths[i%len(paths)])
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}()
	}
	for range 20 {
		<-done
	}
}

func TestHandlerNeedsCatalog(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Handler with no Catalog did not panic")
		}
	}()
	web.Handler(web.Config{})
}

// TestClientScript checks the browser client's syntax and runs its unit
// tests under Node, where Node is installed.
func TestClientScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	for _, args := range [][]string{
		{"--check", "static/dashd.js"},
		{"--check", "static/dashd-format.js"},
		{"--check", "static/dashd-core.js"},
		{"--check", "static/dashd-delta.js"},
		{"--check", "static/dashd-paint.js"},
		{"--check", "static/embed-element.js"},
		{"--check", "static/theme.js"},
		{"--test", "build/dashd.test.js"},
		{"--test", "build/format.test.js"},
		{"--test", "build/delta.test.js"},
		{"--test", "build/dashd-read.test.js"},
	} {
		out, err := exec.Command(node, args...).CombinedOutput()
		if err != nil {
			t.Errorf("node %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
