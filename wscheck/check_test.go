package wscheck_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/dashd/dashd/wscheck"
)

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455, section 1.3

func TestAcceptKeyRFCSample(t *testing.T) {
	if got := wscheck.AcceptKey(sampleKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey(sample) = %q", got)
	}
}

// hubServer serves a real Hub at /api/v1/stream?charts=a,b.
func hubServer(t *testing.T, tlsOn bool) (*stream.Hub, *httptest.Server) {
	t.Helper()
	hub := stream.New(stream.Config{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.ServeWS(w, r, strings.Split(r.URL.Query().Get("charts"), ","), nil)
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return hub, srv
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func check(t *testing.T, url string, opts wscheck.Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	err := wscheck.Check(context.Background(), url, &out, opts)
	t.Logf("check %s:\n%s", url, out.String())
	return out.String(), err
}

func mustContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

func TestCheckRealHub(t *testing.T) {
	hub, srv := hubServer(t, false)
	hub.Publish("a", []byte(`{"type":"frame","chart":"a","seq":7}`))
	hub.Flush()
	out, err := check(t, wsURL(srv, "/api/v1/stream?charts=a"), wscheck.Options{Key: sampleKey})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out,
		"ok    tcp connected",
		"> GET /api/v1/stream?charts=a HTTP/1.1",
		"ok    status 101",
		"ok    Upgrade: websocket",
		"ok    Sec-WebSocket-Accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo= matches",
		"ok    first frame: text, 36 bytes",
		`{"type":"frame","chart":"a","seq":7}`,
	)
	if strings.Contains(out, "FAIL") {
		t.Error("FAIL in a successful check")
	}
}

func TestCheckTLSAndHTTPSURL(t *testing.T) {
	hub, srv := hubServer(t, true)
	hub.Publish("a", []byte(`{"seq":1}`))
	hub.Flush()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	out, err := check(t, srv.URL+"/api/v1/stream?charts=a", wscheck.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "(TLS)", "ok    tls TLS 1.3", "ok    first frame: text")

	// Plain ws:// against the TLS port.
	out, err = check(t, "ws://"+srv.Listener.Addr().String()+"/api/v1/stream?charts=a", wscheck.Options{})
	if err == nil {
		t.Fatal("no error for plain ws:// on a TLS port")
	}
	mustContain(t, out, "FAIL", "use wss://")
}

func TestCheckNoFrameIsAWarning(t *testing.T) {
	_, srv := hubServer(t, false)
	out, err := check(t, wsURL(srv, "/api/v1/stream?charts=empty"), wscheck.Options{FrameWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "warn  no frame within")
}

func TestCheckFailures(t *testing.T) {
	_, hubSrv := hubServer(t, false)

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "ws://" + refused.Addr().String() + "/"
	refused.Close()

	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return wsURL(srv, "/api/v1/stream?charts=a")
	}
	tests := map[string]struct {
		url  string
		opts wscheck.Options
		want []string
	}{
		"a 200 page": {
			url:  serve(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "<html>dashboards</html>") }),
			want: []string{"FAIL  status: 200 OK", "ordinary page", "<html>dashboards</html>"},
		},
		"404": {
			url:  serve(http.NotFound),
			want: []string{"FAIL  status: 404", "/api/v1/stream"},
		},
		"400 without Upgrade (a proxy dropped it)": {
			url:  serve(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "Bad Request", 400) }),
			want: []string{"FAIL  status: 400", "proxy_set_header Upgrade $http_upgrade;", `proxy_set_header Connection "upgrade";`},
		},
		"wrong accept value": {
			url: serve(func(w http.ResponseWriter, r *http.Request) {
				c, brw, _ := http.NewResponseController(w).Hijack()
				defer c.Close()
				fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wscheck.AcceptKey("another key"))
				brw.Flush()
			}),
			want: []string{"ok    status 101", "FAIL  header: Sec-WebSocket-Accept", "not made for this request"},
		},
		"403 from the hub's origin policy": {
			url:  wsURL(hubSrv, "/api/v1/stream?charts=a"),
			opts: wscheck.Options{Origin: "https://elsewhere.example"},
			want: []string{"FAIL  status: 403", "stream.allowed_origins", `"https://elsewhere.example"`},
		},
		"connection refused": {
			url:  refusedURL,
			want: []string{"FAIL  tcp", "nothing listens"},
		},
		"bad scheme": {
			url:  "ftp://example.com/",
			want: []string{"FAIL  url"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := check(t, tc.url, tc.opts)
			if err == nil {
				t.Fatal("Check returned nil")
			}
			mustContain(t, out, tc.want...)
		})
	}
}

func TestCheckSendsHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(401)
	}))
	defer srv.Close()
	out, err := check(t, srv.URL, wscheck.Options{Origin: "https://o.example", Header: http.Header{"Authorization": {"Bearer s3cret"}}})
	if err == nil {
		t.Fatal("nil error for a 401")
	}
	h := <-got
	if h.Get("Authorization") != "Bearer s3cret" || h.Get("Origin") != "https://o.example" {
		t.Errorf("headers sent: %v", h)
	}
	mustContain(t, out, "authentication needed")
}
