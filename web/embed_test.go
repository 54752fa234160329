package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dashd/dashd/web"
)

func TestEmbedScript(t *testing.T) {
	srv := newServer(t)
	res := get(t, srv.URL+"/embed.js")
	if res.status != http.StatusOK {
		t.Fatalf("GET /embed.js: %d", res.status)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q: the URL is fixed, so it must be revalidated", cc)
	}
	urls := staticURLs(t, srv)
	// It is the served (minified) scripts, whole, in one scope.
	for _, name := range []string{"dashd-format.js", "dashd-delta.js", "dashd-core.js", "dashd-paint.js", "embed-element.js"} {
		body := get(t, srv.URL+"/static/"+name).body
		if len(body) < 1000 || !strings.Contains(res.body, body) {
			t.Errorf("/embed.js lacks /static/%s (%d bytes) whole", name, len(body))
		}
	}
	for _, want := range []string{`customElements.define("dashd-chart"`,
		`var ECHARTS_PATH = "` + urls["echarts.min.js"] + `"`, `var PAINT_WORKER_PATH = "` + urls["paint-worker.js"] + `"`,
		`var PAINT_IMPORTS = ["` + urls["echarts.min.js"] + `","` + urls["dashd-format.js"] + `","` + urls["dashd-core.js"] + `","` + urls["dashd-paint.js"] + `"]`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("/embed.js lacks %q", want)
		}
	}
	if etag := res.header.Get("ETag"); etag == "" || get(t, srv.URL+"/embed.js", "If-None-Match", etag).status != http.StatusNotModified {
		t.Errorf("no revalidation by ETag (%q)", etag)
	}
	if gz := get(t, srv.URL+"/embed.js", "Accept-Encoding", "gzip"); gz.header.Get("Content-Encoding") != "gzip" {
		t.Error("/embed.js is not sent gzipped to a client that accepts it")
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the syntax of /embed.js is not checked")
	}
	f := filepath.Join(t.TempDir(), "embed.js")
	if err := os.WriteFile(f, []byte(res.body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
		t.Errorf("node --check /embed.js: %v\n%s", err, out)
	}
}

func TestEmbedFrameAncestors(t *testing.T) {
	tests := map[string]struct {
		parents []string
		want    string // the frame-ancestors directive, "" for none
	}{
		"none: any page":  {nil, ""},
		"star: any page":  {[]string{"https://a.example", "*"}, ""},
		"listed parents":  {[]string{"https://a.example", "http://b.example:8080"}, "frame-ancestors 'self' https://a.example http://b.example:8080"},
		"one listed page": {[]string{"https://a.example"}, "frame-ancestors 'self' https://a.example"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(web.Handler(web.Config{Catalog: testCatalog, FrameAncestors: tc.parents}))
			defer srv.Close()
			res := get(t, srv.URL+"/embed/req")
			csp := res.header.Get("Content-Security-Policy")
			_, fa, _ := strings.Cut(csp, "frame-ancestors")
			if got := strings.TrimSpace(fa); (tc.want == "" && got != "") || (tc.want != "" && "frame-ancestors "+got != tc.want) {
				t.Errorf("CSP = %q, want frame-ancestors %q", csp, tc.want)
			}
			if res.header.Get("X-Frame-Options") != "" {
				t.Error("an embed page carries X-Frame-Options")
			}
			// Other pages stay framed by dashd only.
			if d := get(t, srv.URL+"/d/web"); !strings.Contains(d.header.Get("Content-Security-Policy"), "frame-ancestors 'self'") || d.header.Get("X-Frame-Options") != "SAMEORIGIN" {
				t.Errorf("/d/web may be framed: %v", d.header)
			}
		})
	}
}

func TestKioskTimeZoneAndChartActions(t *testing.T) {
	srv := newServer(t)
	doc := parse(t, get(t, srv.URL+"/d/web?kiosk&tz=Europe/Paris").body)
	var body, grid string
	var actions, tables int
	for _, n := range elements(doc) {
		switch {
		case n.Data == "body":
			body, _ = attr(n, "class")
		case n.Data == "main":
			grid, _ = attr(n, "data-tz")
		}
		if a, ok := attr(n, "data-action"); ok && (a == "table" || a == "png") {
			actions++
		}
		if _, ok := attr(n, "data-table"); ok {
			tables++
		}
	}
	if body != "dashboard kiosk" {
		t.Errorf("body class = %q, want kiosk", body)
	}
	if grid != "Europe/Paris" {
		t.Errorf("data-tz = %q", grid)
	}
	if actions != 4 || tables != 2 {
		t.Errorf("%d table/PNG buttons and %d table holders for 2 charts", actions, tables)
	}
	plain := parse(t, get(t, srv.URL+"/embed/req").body)
	for _, n := range elements(plain) {
		if n.Data == "body" {
			if c, _ := attr(n, "class"); c != "embed" {
				t.Errorf("body class without ?kiosk = %q", c)
			}
		}
	}
}

// Scripts and style sheets are served without their comments: the sources
// are written to be read, and a dashboard's first load has a budget.
func TestStaticScriptsAreMinified(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, name := range []string{"dashd-core.js", "dashd-a11y.js", "dashd.css"} {
		src, err := os.ReadFile(filepath.Join("static", name))
		if err != nil {
			t.Fatal(err)
		}
		served := get(t, srv.URL+"/static/"+name).body
		if len(served) == 0 || len(served) > len(src)*3/4 {
			t.Errorf("/static/%s: %d bytes served of a %d-byte source", name, len(served), len(src))
		}
	}
}
