package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/api"
)

// everyRoute answers every route of the table with its key.
func everyRoute() map[string]http.Handler {
	h := map[string]http.Handler{}
	for _, rt := range access.Routes() {
		key := rt.Key()
		h[key] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, key+" id="+r.PathValue("id")+" path="+r.PathValue("path"))
		})
	}
	return h
}

func newRouter(t *testing.T, cfg access.Config, handlers map[string]http.Handler) *httptest.Server {
	t.Helper()
	p, err := access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewRouter(api.RouterConfig{Policy: p, Handlers: handlers, Parents: []string{"https://parent.example"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestRouterRefusesARouteWithoutAClass(t *testing.T) {
	p, _ := access.New(access.Config{Loopback: true})
	h := everyRoute()
	h["GET /api/v1/secret"] = http.NotFoundHandler()
	if _, err := api.NewRouter(api.RouterConfig{Policy: p, Handlers: h}); err == nil || !strings.Contains(err.Error(), "GET /api/v1/secret") {
		t.Fatalf("a handler without a row in the table was mounted (err %v)", err)
	}
	h = everyRoute()
	delete(h, "GET /healthz")
	if _, err := api.NewRouter(api.RouterConfig{Policy: p, Handlers: h}); err == nil || !strings.Contains(err.Error(), "GET /healthz") {
		t.Fatalf("a route of the table without a handler was accepted (err %v)", err)
	}
}

func TestRouterServesTheTable(t *testing.T) {
	t.Parallel()
	srv := newRouter(t, access.Config{Loopback: true, AdminTokens: []string{"adm"}}, everyRoute())
	tests := map[string]struct {
		method, path string
		header       []string
		want         int
		body         string // a part of the body
	}{
		"a path value":                 {"GET", "/api/v1/charts/sales/frame", nil, 200, "id=sales"},
		"the rest of a path":           {"GET", "/static/js/dashd.js", nil, 200, "path=js/dashd.js"},
		"HEAD wherever GET":            {"HEAD", "/d/web", nil, 200, ""},
		"HEAD on health":               {"HEAD", "/healthz", nil, 200, ""},
		"an unknown route":             {"GET", "/nope", nil, 404, `"reason":"not_found"`},
		"a method not served":          {"PATCH", "/api/v1/dashboards/x", nil, 405, `"reason":"method_not_allowed"`},
		"POST on a page":               {"POST", "/healthz", nil, 405, `"error"`},
		"an admin route without token": {"PUT", "/api/v1/dashboards/x", nil, 401, `"reason":"unauthorized"`},
		"influx dialect":               {"POST", "/write", []string{"Origin", "https://evil.example"}, 403, `"code":"forbidden"`},
		"a preflight":                  {"OPTIONS", "/api/v1/charts/sales/frame", []string{"Origin", "https://parent.example", "Access-Control-Request-Method", "GET"}, 204, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%s %s: %d %s, want %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.want, tc.body)
			}
			if resp.StatusCode >= 400 {
				var e api.Error
				if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Fatalf("a refusal not in the one error body: %s (%v, %s)", b, err, resp.Header.Get("Content-Type"))
				}
			}
			if tc.method == "OPTIONS" && resp.Header.Get("Access-Control-Allow-Origin") != "https://parent.example" {
				t.Fatalf("the preflight of an allowed parent got no CORS headers: %v", resp.Header)
			}
		})
	}
}
