package access_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/embed"
)

const secret = "0123456789abcdef0123456789abcdef"

func route(t *testing.T, method, path string) access.Route {
	t.Helper()
	for _, rt := range access.Routes() {
		if rt.Method == method && rt.Path == path {
			return rt
		}
	}
	t.Fatalf("no route %s %s in the table", method, path)
	return access.Route{}
}

func mint(t *testing.T, keys *embed.Keys, scope embed.Scope) string {
	t.Helper()
	tok, _, err := keys.Mint(scope, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPolicy is the policy as a table: who may call what, in each
// configuration the threat model names (docs/operations.md).
func TestPolicy(t *testing.T) {
	keys, err := embed.New(embed.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	chartTok := mint(t, keys, embed.Scope{Chart: "sales"})
	dashTok := mint(t, keys, embed.Scope{Dashboard: "web"})
	dashboardOf := func(c string) string {
		if c == "req" {
			return "web"
		}
		return ""
	}
	configs := map[string]access.Config{
		"no tokens":                   {Loopback: true},
		"ingest tokens":               {Loopback: true, IngestTokens: []string{"ing"}},
		"admin tokens":                {Loopback: true, AdminTokens: []string{"adm"}},
		"read token":                  {Loopback: true, AdminTokens: []string{"adm"}, ReadToken: true, Keys: keys, DashboardOf: dashboardOf},
		"read token, no embed secret": {Loopback: true, AdminTokens: []string{"adm"}, ReadToken: true},
		"public address":              {AdminTokens: []string{"adm"}},
		"allowed hosts":               {Loopback: true, AllowedHosts: []string{"dash.example.com", "*.corp.example", "[::1]:8080", "*.ports.example:8443", "127.0.0.1"}},
		"trusted parent":              {Loopback: true, AdminTokens: []string{"adm"}, TrustedOrigins: []string{"https://parent.example"}},
	}
	type req struct {
		config, method, route, url string
		header                     []string // name, value, …
		host                       string   // default 127.0.0.1:8080
		want                       int      // 0: allowed
		reason                     string
	}
	tests := map[string]req{
		"health is public":                                    {config: "read token", method: "GET", route: "/healthz", url: "/healthz"},
		"a foreign Host is refused on loopback":               {config: "no tokens", method: "GET", route: "/healthz", url: "/healthz", host: "evil.example:8080", want: 421, reason: "forbidden_host"},
		"localhost is served on loopback":                     {config: "no tokens", method: "GET", route: "/healthz", url: "/healthz", host: "localhost:8080"},
		"any 127/8 address is served on loopback":             {config: "no tokens", method: "GET", route: "/healthz", url: "/healthz", host: "127.0.0.2:8080"},
		"[::1] is served on loopback":                         {config: "no tokens", method: "GET", route: "/healthz", url: "/healthz", host: "[::1]:8080"},
		"a sub-domain of localhost is served":                 {config: "no tokens", method: "GET", route: "/healthz", url: "/healthz", host: "app.localhost"},
		"no Host is refused on loopback":                      {config: "no tokens", method: "GET", route: "/healthz", url: "/healthz", host: "-", want: 421, reason: "forbidden_host"},
		"any Host on a public address":                        {config: "public address", method: "GET", route: "/healthz", url: "/healthz", host: "dash.example.org"},
		"an allowed host is served":                           {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "dash.example.com:443"},
		"a wildcard host is served":                           {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "a.corp.example"},
		"a listed IPv6 address and port":                      {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "[::1]:8080"},
		"a listed IPv6 address on another port":               {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "[::1]:9090", want: 421, reason: "forbidden_host"},
		"a wildcard with its port":                            {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "a.ports.example:8443"},
		"a wildcard on another port":                          {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "a.ports.example:443", want: 421, reason: "forbidden_host"},
		"a wildcard does not match its own name":              {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "corp.example", want: 421, reason: "forbidden_host"},
		"a listed 127.0.0.1 is that address only":             {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "127.0.0.2:8080", want: 421, reason: "forbidden_host"},
		"loopback names are not served once hosts are listed": {config: "allowed hosts", method: "GET", route: "/healthz", url: "/healthz", host: "localhost:8080", want: 421, reason: "forbidden_host"},

		"open ingest without tokens":            {config: "no tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest"},
		"a cross-site form post is refused":     {config: "no tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, want: 403, reason: "cross_origin"},
		"an old browser's cross-origin post":    {config: "no tokens", method: "POST", route: "/write", url: "/write", header: []string{"Origin", "https://evil.example"}, want: 403, reason: "cross_origin"},
		"a same-origin page may post":           {config: "no tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Sec-Fetch-Site", "same-origin"}},
		"a trusted parent may post":             {config: "trusted parent", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://parent.example"}},
		"a cross-site read is not a change":     {config: "no tokens", method: "GET", route: "/api/v1/charts/{id}/frame", url: "/api/v1/charts/sales/frame", header: []string{"Sec-Fetch-Site", "cross-site"}},
		"ingest without its token":              {config: "ingest tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", want: 401, reason: "unauthorized"},
		"ingest with a wrong token":             {config: "ingest tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Authorization", "Bearer nope"}, want: 401, reason: "unauthorized"},
		"ingest with its token":                 {config: "ingest tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Authorization", "Bearer ing"}},
		"influx Token scheme":                   {config: "ingest tokens", method: "POST", route: "/api/v2/write", url: "/api/v2/write", header: []string{"Authorization", "Token ing"}},
		"influx 1.x password":                   {config: "ingest tokens", method: "POST", route: "/write", url: "/write?u=x&p=ing"},
		"influx basic auth":                     {config: "ingest tokens", method: "POST", route: "/write", url: "/write", header: []string{"Authorization", "Basic eDppbmc="}},
		"Token scheme is not taken for JSON":    {config: "ingest tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Authorization", "Token ing"}, want: 401, reason: "unauthorized"},
		"the p parameter is not taken for JSON": {config: "ingest tokens", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest?p=ing", want: 401, reason: "unauthorized"},

		"no admin tokens: no dashboard writes": {config: "no tokens", method: "PUT", route: "/api/v1/dashboards/{id}", url: "/api/v1/dashboards/x", want: 403, reason: "forbidden"},
		"no admin tokens: no deletes":          {config: "ingest tokens", method: "DELETE", route: "/api/v1/dashboards/{id}", url: "/api/v1/dashboards/x", header: []string{"Authorization", "Bearer ing"}, want: 403, reason: "forbidden"},
		"no admin tokens: no embed tokens":     {config: "no tokens", method: "POST", route: "/api/v1/embed-tokens", url: "/api/v1/embed-tokens", want: 403, reason: "forbidden"},
		"no admin tokens: no push data":        {config: "no tokens", method: "PUT", route: "/api/v1/charts/{id}/data", url: "/api/v1/charts/sales/data", want: 403, reason: "forbidden"},
		"an ingest token sets push data":       {config: "ingest tokens", method: "PUT", route: "/api/v1/charts/{id}/data", url: "/api/v1/charts/sales/data", header: []string{"Authorization", "Bearer ing"}},
		"admin writes need the token":          {config: "admin tokens", method: "PUT", route: "/api/v1/dashboards/{id}", url: "/api/v1/dashboards/x", want: 401, reason: "unauthorized"},
		"admin token in the URL is not taken":  {config: "admin tokens", method: "PUT", route: "/api/v1/dashboards/{id}", url: "/api/v1/dashboards/x?token=adm", want: 401, reason: "unauthorized"},
		"admin writes with the token":          {config: "admin tokens", method: "PUT", route: "/api/v1/dashboards/{id}", url: "/api/v1/dashboards/x", header: []string{"Authorization", "Bearer adm"}},
		"an admin token pushes data":           {config: "admin tokens", method: "PUT", route: "/api/v1/charts/{id}/data", url: "/api/v1/charts/sales/data", header: []string{"Authorization", "Bearer adm"}},
		"an admin token may ingest":            {config: "read token", method: "POST", route: "/api/v1/ingest", url: "/api/v1/ingest", header: []string{"Authorization", "Bearer adm"}},

		"public reads":                                       {config: "admin tokens", method: "GET", route: "/d/{id}", url: "/d/web"},
		"read token: a page needs a token":                   {config: "read token", method: "GET", route: "/d/{id}", url: "/d/web", want: 401, reason: "missing"},
		"read token: admin reads":                            {config: "read token", method: "GET", route: "/", url: "/?token=adm"},
		"read token: the list is admin only":                 {config: "read token", method: "GET", route: "/api/v1/dashboards", url: "/api/v1/dashboards?token=" + dashTok, want: 401, reason: "wrong scope"},
		"read token: a chart token reads it":                 {config: "read token", method: "GET", route: "/api/v1/charts/{id}/frame", url: "/api/v1/charts/sales/frame?token=" + chartTok},
		"read token: not another chart":                      {config: "read token", method: "GET", route: "/embed/{chart}", url: "/embed/req?token=" + chartTok, want: 401, reason: "wrong scope"},
		"read token: a dashboard's charts":                   {config: "read token", method: "GET", route: "/api/v1/stream", url: "/api/v1/stream?charts=req&token=" + dashTok},
		"read token: a stream of two charts":                 {config: "read token", method: "GET", route: "/api/v1/stream/sse", url: "/api/v1/stream/sse?charts=req,sales&token=" + dashTok, want: 401, reason: "wrong scope"},
		"read token: a forged token":                         {config: "read token", method: "GET", route: "/embed/{chart}", url: "/embed/sales?token=" + chartTok[:len(chartTok)-2] + "xx", want: 401, reason: "bad signature"},
		"read token: embed tokens off":                       {config: "read token, no embed secret", method: "GET", route: "/embed/{chart}", url: "/embed/sales?token=" + chartTok, want: 401, reason: "bad signature"},
		"read token: static files are public":                {config: "read token", method: "GET", route: "/static/{path...}", url: "/static/dashd.js"},
		"read token: any embed token reads the log's bounds": {config: "read token", method: "GET", route: "/api/v1/log", url: "/api/v1/log?token=" + chartTok},
		"read token: the log's bounds need a token":          {config: "read token", method: "GET", route: "/api/v1/log", url: "/api/v1/log", want: 401, reason: "missing"},
		"public: the log's bounds":                           {config: "admin tokens", method: "GET", route: "/api/v1/log", url: "/api/v1/log"},
		"an embed token cannot write":                        {config: "read token", method: "PUT", route: "/api/v1/dashboards/{id}", url: "/api/v1/dashboards/web", header: []string{"Authorization", "Bearer " + dashTok}, want: 401, reason: "unauthorized"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := access.New(configs[tc.config])
			if err != nil {
				t.Fatal(err)
			}
			rt := route(t, tc.method, tc.route)
			r := httptest.NewRequest(tc.method, tc.url, nil)
			switch tc.host {
			case "":
				r.Host = "127.0.0.1:8080"
			case "-":
				r.Host = ""
			default:
				r.Host = tc.host
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				r.Header.Set(tc.header[i], tc.header[i+1])
			}
			// The router sets the path values; the table test does it by hand.
			if id, ok := strings.CutPrefix(tc.url, "/api/v1/charts/"); ok {
				r.SetPathValue("id", strings.Split(strings.Split(id, "/")[0], "?")[0])
			}
			if id, ok := strings.CutPrefix(tc.url, "/embed/"); ok {
				r.SetPathValue("chart", strings.Split(id, "?")[0])
			}
			for _, pre := range []string{"/d/", "/api/v1/dashboards/"} {
				if id, ok := strings.CutPrefix(tc.url, pre); ok {
					r.SetPathValue("id", strings.Split(id, "?")[0])
				}
			}
			d := p.Decide(r, rt)
			if d.Status != tc.want || d.Reason != tc.reason {
				t.Fatalf("%s %s (%s): got %d %q (%s), want %d %q", tc.method, tc.url, tc.config, d.Status, d.Reason, d.Message, tc.want, tc.reason)
			}
			if d.Status != 0 && d.Message == "" {
				t.Fatal("a refusal without a message")
			}
			if d.Status == http.StatusUnauthorized && d.Challenge == "" {
				t.Fatal("a 401 without WWW-Authenticate")
			}
		})
	}
}

func TestRefusalsNameTheSetting(t *testing.T) {
	p, _ := access.New(access.Config{Loopback: true})
	r := httptest.NewRequest("PUT", "/api/v1/dashboards/x", nil)
	r.Host = "127.0.0.1"
	if d := p.Decide(r, route(t, "PUT", "/api/v1/dashboards/{id}")); !strings.Contains(d.Message, "auth.admin_tokens") {
		t.Fatalf("a write without admin tokens should name auth.admin_tokens: %q", d.Message)
	}
	r.Host = "rebound.example"
	if d := p.Decide(r, route(t, "GET", "/healthz")); !strings.Contains(d.Message, "allowed_hosts") {
		t.Fatalf("a foreign host should name allowed_hosts: %q", d.Message)
	}
}

func TestEveryRouteHasAClass(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range access.Routes() {
		if rt.Class == 0 {
			t.Errorf("%s has no access class", rt.Key())
		}
		if seen[rt.Key()] {
			t.Errorf("%s is in the table twice", rt.Key())
		}
		seen[rt.Key()] = true
	}
	p, _ := access.New(access.Config{Loopback: true})
	r := httptest.NewRequest("GET", "/x", nil)
	r.Host = "127.0.0.1"
	if d := p.Decide(r, access.Route{Method: "GET", Path: "/x"}); d.Status != http.StatusForbidden {
		t.Fatalf("a route without a class was not refused: %+v", d)
	}
}

// manualClock is a clock the test moves, with timers that fire when it
// passes their moment.
type manualClock struct {
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *manualClock) after(d time.Duration, f func()) func() bool {
	tm := &manualTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, tm)
	return func() bool { was := !tm.stopped; tm.stopped = true; return was }
}

func (c *manualClock) advance(d time.Duration) {
	c.now = c.now.Add(d)
	for _, tm := range c.timers {
		if !tm.stopped && !tm.at.After(c.now) {
			tm.stopped = true
			tm.f()
		}
	}
}

func TestLeasesEndWithTheToken(t *testing.T) {
	clock := &manualClock{now: time.Unix(1_800_000_000, 0)}
	l := access.NewLeasesWithClock(func() time.Time { return clock.now }, clock.after)
	a := &embed.Claims{ID: "a", Expires: clock.now.Add(time.Minute).Unix()}
	b := &embed.Claims{ID: "b", Expires: clock.now.Add(time.Hour).Unix()}

	ctxA, ctxA2, ctxB := l.Lease(a), l.Lease(a), l.Lease(b)
	if ctxA != ctxA2 {
		t.Fatal("two streams of one token should share one lease")
	}
	if l.Lease(nil) != context.Background() {
		t.Fatal("a read without an embed token has no end")
	}
	clock.advance(59 * time.Second)
	if ctxA.Err() != nil {
		t.Fatal("the lease ended before the token expired")
	}
	clock.advance(time.Second)
	if embed.ReasonOf(context.Cause(ctxA)) != embed.Expired {
		t.Fatalf("at expiry the cause is %v, want an expired token", context.Cause(ctxA))
	}
	if ctxB.Err() != nil {
		t.Fatal("another token's lease ended too")
	}
	l.Revoke("b")
	if embed.ReasonOf(context.Cause(ctxB)) != embed.Revoked {
		t.Fatalf("after Revoke the cause is %v, want a revoked token", context.Cause(ctxB))
	}
	if again := l.Lease(b); !errors.Is(again.Err(), context.Canceled) {
		t.Fatal("a revoked token got a live lease")
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("%d leases kept after their tokens ended", n)
	}
}
