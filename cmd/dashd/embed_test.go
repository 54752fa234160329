package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

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
	s := tokenReadServer(t)
	_, chartTok, _ := mintAPI(t, s, `{"chart":"req-by-route","ttl":"1h"}`)
	_, dashTok, _ := mintAPI(t, s, `{"dashboard":"web"}`)
	expired := mintAt(t, testEmbedSecret, time.Now().Add(-2*time.Hour), embed.Scope{Chart: "req-by-route"}, time.Hour)
	foreign := mintAt(t, "some-other-secret-0123456789", time.Now(), embed.Scope{Chart: "req-by-route"}, time.Hour)
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
	s := startServer(t, nil)
	if code, body, _ := getWith(t, s.url+"/embed/req-by-route?token=nonsense"); code != http.StatusOK {
		t.Errorf("read: public refused a page: %d %s", code, body)
	}
}

func TestMintAPIRefusals(t *testing.T) {
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
	// Without an embed secret, or without admin tokens, nothing is minted.
	open := startServer(t, func(f *config.File) { f.Auth.AdminTokens = []string{testAdminToken} })
	if code, body := post(t, open.url+"/api/v1/embed-tokens", "application/json", `{"chart":"sales"}`, "Authorization", "Bearer "+testAdminToken); code != http.StatusConflict {
		t.Errorf("no embed secret: %d %s", code, body)
	}
	noAdmin := startServer(t, func(f *config.File) { f.Auth.EmbedSecret = testEmbedSecret })
	if code, body := post(t, noAdmin.url+"/api/v1/embed-tokens", "application/json", `{"chart":"sales"}`); code != http.StatusForbidden {
		t.Errorf("no admin tokens: %d %s", code, body)
	}
}

func TestCORSAndStreamOriginsFollowAllowedParents(t *testing.T) {
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
