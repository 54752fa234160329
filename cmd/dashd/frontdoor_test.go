package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/dashd/dashd/config"
)

// The front door (issue 13): what a stranger can and cannot do, tried over
// real sockets.

func TestAForeignHostIsRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) { f.Auth.AdminTokens = []string{"adm1n"} })
	// A page whose DNS name was rebound to 127.0.0.1 sends its own name.
	for _, tc := range []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/d/web"}, {"POST", "/api/v1/ingest"}, {"PUT", "/api/v1/dashboards/x"}, {"GET", "/api/v1/stream/sse?charts=req-by-route"},
	} {
		req := mustRequest(t, tc.method, s.url+tc.path, `{"metric":"http_requests","value":1}`, "Authorization", "Bearer adm1n")
		req.Host = "rebound.example:8080"
		code, body := do(t, req)
		if code != http.StatusMisdirectedRequest || !strings.Contains(body, "allowed_hosts") || !strings.Contains(body, `"reason":"forbidden_host"`) {
			t.Errorf("%s %s with a foreign Host: %d %s, want 421 naming allowed_hosts", tc.method, tc.path, code, body)
		}
	}
	h := http.Header{"Host": {"rebound.example"}}
	d := websocket.Dialer{}
	conn, resp, err := d.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=req-by-route", h)
	if err == nil {
		conn.Close()
		t.Fatal("the WebSocket opened for a foreign Host")
	}
	if resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("the WebSocket for a foreign Host: %v %v, want 421", resp, err)
	}
	// localhost is served; a host named in allowed_hosts is served too.
	req := mustRequest(t, "GET", s.url+"/healthz", "")
	req.Host = "localhost:8080"
	if code, body := do(t, req); code != http.StatusOK {
		t.Errorf("localhost: %d %s", code, body)
	}
	listed := startServer(t, func(f *config.File) { f.AllowedHosts = []string{"dash.example.com", "127.0.0.1"} })
	req = mustRequest(t, "GET", listed.url+"/healthz", "")
	req.Host = "dash.example.com"
	if code, body := do(t, req); code != http.StatusOK {
		t.Errorf("a host of allowed_hosts: %d %s", code, body)
	}
}

func TestACrossSiteFormPostChangesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil) // ingest open: what a newcomer runs
	v := dial(t, s, "charts=req-by-route")
	v.next()
	// What a form or fetch(…, {mode: "no-cors"}) on any web page sends.
	code, body := post(t, s.url+"/api/v1/ingest", "text/plain",
		`{"metric":"http_requests","tags":{"route":"/evil","status":"200"},"value":5}`,
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if code != http.StatusForbidden || !strings.Contains(body, `"reason":"cross_origin"`) {
		t.Fatalf("a cross-site POST: %d %s, want 403", code, body)
	}
	code, body = post(t, s.url+"/write", "text/plain", "http_requests,route=/evil,status=200 value=5", "Origin", "https://evil.example")
	if code != http.StatusForbidden || !strings.Contains(body, `"code":"forbidden"`) {
		t.Fatalf("a cross-origin line-protocol POST: %d %s, want 403 in InfluxDB's shape", code, body)
	}
	// curl sends neither header, and is served.
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", `{"metric":"http_requests","tags":{"route":"/ok","status":"200"},"value":1}`); code != http.StatusOK {
		t.Fatalf("curl's POST: %d %s", code, body)
	}
	f := v.until("req-by-route", func(f frame) bool { return f.value("/ok", "200") != nil })
	if x := f.value("/evil", "200"); x != nil {
		t.Fatalf("the refused samples are in the chart: %v", *x)
	}
	_, metrics := do(t, mustRequest(t, http.MethodGet, s.url+"/metrics", ""))
	for _, want := range []string{
		`dashd_access_refusals_total{class="ingest",reason="cross_origin"} 2`,
		`dashd_ingest_requests_refused_total{format="json",reason="unauthorized"} 1`,
		`dashd_ingest_requests_refused_total{format="line protocol",reason="unauthorized"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestHEADWhereverGET(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for _, path := range []string{"/", "/d/web", "/embed/req-by-route", "/embed.js", "/static/dashd.js", "/healthz", "/readyz", "/metrics",
		"/api/v1/dashboards", "/api/v1/dashboards/web", "/api/v1/charts/req-by-route", "/api/v1/charts/req-by-route/frame",
		"/api/v1/charts/req-by-route/option", "/api/v1/stream/sse?charts=req-by-route"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, s.url+path, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Errorf("HEAD %s: %v", path, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestWritesNeedTheAdminTokenEvenWithNoneConfigured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	onDisk := func(f *config.File) { f.Data = dir }
	s, stop := startStoppable(t, onDisk)
	def := `{"title":"New","charts":[{"id":"n1","metric":"m","x":"k"}]}`
	code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/new", def))
	if code != http.StatusUnauthorized || !strings.Contains(body, "auth.admin_tokens") || !strings.Contains(body, filepath.Join(dir, "admin-token")) {
		t.Fatalf("an anonymous PUT: %d %s, want 401 naming auth.admin_tokens and the generated token's file", code, body)
	}
	for _, path := range []string{"/api/v1/charts/sales/data", "/api/v1/dashboards/web"} {
		if code, body := do(t, mustRequest(t, http.MethodPut, s.url+path, `{}`)); code != http.StatusUnauthorized {
			t.Errorf("an anonymous PUT %s: %d %s", path, code, body)
		}
	}
	if code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/new", def, s.admin()...)); code != http.StatusCreated {
		t.Fatalf("PUT with the generated token: %d %s", code, body)
	}
	fi, err := os.Stat(filepath.Join(dir, "admin-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the generated token's file: %v %v, want mode 0600", fi, err)
	}
	tok := s.AdminToken()
	stop()
	again, _ := startStoppable(t, onDisk)
	if again.AdminToken() != tok {
		t.Fatal("a restart generated another admin token instead of keeping the first")
	}
}

func TestProtectedModeRefusesAnOpenPublicAddress(t *testing.T) {
	t.Parallel()
	newMain := func(edit func(*config.File)) (*Main, error) {
		f := config.Default()
		f.Addr, f.Data = "0.0.0.0:0", ""
		edit(f)
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		return New(Config{File: f})
	}
	_, err := newMain(func(*config.File) {})
	if err == nil || !strings.Contains(err.Error(), "auth.open") || !strings.Contains(err.Error(), "auth.ingest_tokens") {
		t.Fatalf("no tokens on 0.0.0.0: %v, want a refusal naming auth.open and the tokens", err)
	}
	for name, edit := range map[string]func(*config.File){
		"auth.open":     func(f *config.File) { f.Auth.Open = true },
		"ingest tokens": func(f *config.File) { f.Auth.IngestTokens = []string{"s3cret"} },
	} {
		m, err := newMain(edit)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := m.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
}

// startWith runs dashd with cfg's File defaulted as startStoppable does;
// it returns the server and a function that stops it and returns Run's
// error.
func startWith(t *testing.T, cfg Config) (*server, func() error) {
	t.Helper()
	f := config.Default()
	f.Addr, f.Data, f.Dashboards = "127.0.0.1:0", "", testDashboards()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.File = f
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	s := &server{Main: m, url: "http://" + m.Addr()}
	waitReady(t, s.url)
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return s, stop
}

// trickle opens a POST to ingest that promises a body and sends a byte of
// it every 100 ms for the test's life; the returned channel is closed when
// the server ends the connection.
func trickle(t *testing.T, addr string) <-chan struct{} {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /api/v1/ingest HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[", addr)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		io.Copy(io.Discard, bufio.NewReader(conn)) // returns when the server closes
	}()
	go func() {
		for range 600 {
			select {
			case <-ended:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return ended
}

func TestShutdownEndsWithinTheDrainDespiteATricklingClient(t *testing.T) {
	t.Parallel()
	s, stop := startWith(t, Config{Drain: 300 * time.Millisecond})
	ended := trickle(t, s.Addr())
	time.Sleep(200 * time.Millisecond) // the request is in flight
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The trickle would last a minute; the drain is 300 ms.
	took := time.Since(start)
	if took > 10*time.Second {
		t.Fatalf("shutdown took %s with a trickling client (drain 300 ms)", took)
	}
	t.Logf("shutdown took %s with a trickling client (drain 300 ms)", took.Round(time.Millisecond))
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the trickling client's connection outlived the server")
	}
}

func TestATricklingRequestIsCutAtTheRequestTimeout(t *testing.T) {
	t.Parallel()
	s, _ := startWith(t, Config{RequestTimeout: 500 * time.Millisecond})
	start := time.Now()
	select {
	case <-trickle(t, s.Addr()):
	case <-time.After(20 * time.Second):
		t.Fatal("a request trickling its body was still open after 20 s (request timeout 500 ms)")
	}
	t.Logf("cut after %s", time.Since(start).Round(time.Millisecond))
	// A stream outlives the request timeout.
	v := dial(t, s, "charts=req-by-route")
	v.next()
	time.Sleep(time.Second)
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", `{"metric":"http_requests","tags":{"route":"/late","status":"200"},"value":1}`); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	v.until("req-by-route", func(f frame) bool { return f.value("/late", "200") != nil })
}

// sseEvents reads the events of an SSE response into a channel of
// "event: data" strings, closed when the response ends.
func sseEvents(t *testing.T, url string) <-chan string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				out <- event + ": " + strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

// endOf waits for the SSE stream to end and returns its "end" event.
func endOf(t *testing.T, events <-chan string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	last := ""
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return last
			}
			if strings.HasPrefix(e, "end: ") {
				last = e
			}
		case <-deadline:
			t.Fatalf("the SSE stream was still open after %s", within)
		}
	}
}

// closeOf reads the WebSocket until it closes and returns its close error.
func closeOf(t *testing.T, conn *websocket.Conn, within time.Duration) *websocket.CloseError {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(within))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok {
				t.Fatalf("the WebSocket ended without a close frame: %v", err)
			}
			return ce
		}
	}
}

func TestAnEmbedTokenEndsItsStreamsWhenItExpires(t *testing.T) {
	t.Parallel()
	s := tokenReadServer(t)
	code, tok, body := mintAPI(t, s, `{"chart":"req-by-route","ttl":"2s"}`)
	if code != http.StatusCreated {
		t.Fatalf("mint: %d %s", code, body)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=req-by-route&token="+tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	events := sseEvents(t, s.url+"/api/v1/stream/sse?charts=req-by-route&token="+tok.Token)

	ce := closeOf(t, conn, 10*time.Second)
	if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "expired") {
		t.Fatalf("the WebSocket closed with %d %q, want 1008 saying the token expired", ce.Code, ce.Text)
	}
	if end := endOf(t, events, 10*time.Second); !strings.Contains(end, `"type":"end"`) || !strings.Contains(end, "expired") {
		t.Fatalf("the SSE stream ended with %q, want an end event saying the token expired", end)
	}
	// Ended within a second of the expiry: the token's exp is whole
	// seconds, so the close comes at most 2 s after minting, plus 1 s.
	if late := time.Since(tok.Expires); late > time.Second+500*time.Millisecond {
		t.Errorf("the streams ended %s after the token expired", late)
	}
}

func TestARevocationEndsStreamsOnEveryNodeAndSurvivesARestart(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	node := func(f *config.File) {
		f.NATS.URL = ns.ClientURL()
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
	}
	a, _ := startStoppable(t, node)
	b, stopB := startStoppable(t, node)
	_, tok, _ := mintAPI(t, a, `{"dashboard":"web"}`)

	conn, _, err := websocket.DefaultDialer.Dial("ws://"+b.Addr()+"/api/v1/stream?dashboard=web&token="+tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	events := sseEvents(t, b.url+"/api/v1/stream/sse?charts=req-by-route&token="+tok.Token)

	// Revoked through node a; the streams are on node b.
	if code, body := do(t, mustRequest(t, http.MethodDelete, a.url+"/api/v1/embed-tokens/"+tok.ID, "", "Authorization", "Bearer "+testAdminToken)); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, body := do(t, mustRequest(t, http.MethodDelete, a.url+"/api/v1/embed-tokens/a.b*", "", "Authorization", "Bearer "+testAdminToken)); code != http.StatusBadRequest {
		t.Errorf("revoking a malformed id: %d %s, want 400", code, body)
	}
	ce := closeOf(t, conn, 5*time.Second)
	if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "revoked") {
		t.Fatalf("node b's WebSocket closed with %d %q, want 1008 saying the token was revoked", ce.Code, ce.Text)
	}
	if end := endOf(t, events, 5*time.Second); !strings.Contains(end, "revoked") {
		t.Fatalf("node b's SSE stream ended with %q, want the token revoked", end)
	}
	stopB()
	c, _ := startStoppable(t, node)
	if code, body, _ := getWith(t, c.url+"/api/v1/charts/req-by-route/frame?token="+tok.Token); code != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Fatalf("after a restart the revoked token reads: %d %s", code, body)
	}
}

func TestBrowserStopsWhenItsEmbedTokenExpires(t *testing.T) {
	s := tokenReadServer(t)
	_, tok, _ := mintAPI(t, s, `{"dashboard":"web","ttl":"3s"}`)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web?token="+tok.Token)); err != nil {
		t.Fatal(err)
	}
	const state = `document.querySelector('[data-link]').getAttribute('data-state')`
	pollTrue(t, ctx, "the page is live", state+` === 'live'`)
	pollTrue(t, ctx, "the page says the token expired", state+` === 'refused' && /expired/.test(document.querySelector('[data-link]').textContent)`)
	// It does not reconnect (a reconnect would show "reconnecting…" and be
	// refused again, and again).
	time.Sleep(1500 * time.Millisecond)
	if got := eval[string](t, ctx, state); got != "refused" {
		t.Fatalf("after the token expired the page went on to %q", got)
	}
}

// The InfluxDB client sends its token as "Authorization: Token …": the
// policy takes it on the line-protocol routes, and refuses a wrong one in
// InfluxDB's error shape, which the client shows.
func TestInfluxDBClientTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) { f.Auth.IngestTokens = []string{"s3cret"} })
	v := dial(t, s, "charts=req-by-route")
	v.next()
	client := influxdb2.NewClient(s.url, "s3cret")
	defer client.Close()
	p := influxdb2.NewPoint("http_requests", map[string]string{"route": "/influx", "status": "200"}, map[string]any{"value": 2.0}, time.Now())
	if err := client.WriteAPIBlocking("org", "bucket").WritePoint(context.Background(), p); err != nil {
		t.Fatalf("a write with the ingest token: %v", err)
	}
	v.until("req-by-route", func(f frame) bool { return f.value("/influx", "200") != nil })

	wrong := influxdb2.NewClient(s.url, "nope")
	defer wrong.Close()
	err := wrong.WriteAPIBlocking("org", "bucket").WritePoint(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "auth.ingest_tokens") {
		t.Fatalf("a write with a wrong token: %v, want the policy's message naming auth.ingest_tokens", err)
	}
}
