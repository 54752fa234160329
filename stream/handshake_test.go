package stream_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
)

// rawHandshake sends request lines (without the final blank line) over a
// fresh TCP connection and returns the response and its body.
func rawHandshake(t *testing.T, addr string, lines ...string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, ""
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455, section 1.3

func TestHandshakeRefusals(t *testing.T) {
	e := newEnv(t, stream.Config{AllowedOrigins: []string{"https://wall.example.com", "board.example.org:8443"}})
	addr := e.srv.Listener.Addr().String()
	host := "Host: " + addr
	good := []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + sampleKey}
	req := func(method string, extra ...string) []string {
		return append([]string{method + " /ws?topics=a HTTP/1.1", host}, extra...)
	}
	without := func(name string) []string {
		var out []string
		for _, l := range good {
			if !strings.HasPrefix(l, name+":") {
				out = append(out, l)
			}
		}
		return out
	}
	nginx := []string{"proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;", `proxy_set_header Connection "upgrade";`}

	tests := map[string]struct {
		lines      []string
		status     int
		reason     string
		header     [2]string
		bodyHas    []string
		acceptWant string
	}{
		"post": {
			lines: req("POST", good...), status: 405, reason: "method",
			header: [2]string{"Allow", "GET"}, bodyHas: []string{"GET", "POST"},
		},
		"plain GET (curl, or a proxy dropped the headers)": {
			lines: req("GET"), status: 400, reason: "upgrade",
			bodyHas: append([]string{`"Upgrade: websocket"`, "proxy"}, nginx...),
		},
		"wrong upgrade": {
			lines: req("GET", append(without("Upgrade"), "Upgrade: h2c")...), status: 400, reason: "upgrade",
			bodyHas: []string{`"h2c"`},
		},
		"no connection upgrade": {
			lines: req("GET", append(without("Connection"), "Connection: keep-alive")...), status: 400, reason: "connection",
			bodyHas: append([]string{"Connection: Upgrade", `"keep-alive"`}, nginx...),
		},
		"old version": {
			lines: req("GET", append(without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8")...), status: 426, reason: "version",
			header: [2]string{"Sec-WebSocket-Version", "13"}, bodyHas: []string{"version 13", `"8"`},
		},
		"no key": {
			lines: req("GET", without("Sec-WebSocket-Key")...), status: 400, reason: "key",
			bodyHas: []string{"Sec-WebSocket-Key", "16 bytes"},
		},
		"bad key": {
			lines: req("GET", append(without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: c2hvcnQ=")...), status: 400, reason: "key",
			bodyHas: []string{"Sec-WebSocket-Key"},
		},
		"foreign origin": {
			lines: req("GET", append(good, "Origin: https://evil.example.net")...), status: 403, reason: "origin",
			bodyHas: []string{`"https://evil.example.net"`, "stream.allowed_origins", "proxy_set_header Host $host;"},
		},
		"origin null": {
			lines: req("GET", append(good, "Origin: null")...), status: 403, reason: "origin",
			bodyHas: []string{`"null"`},
		},
		"RFC sample key, no origin": {
			lines: req("GET", good...), status: 101, acceptWant: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		},
		"same origin": {
			lines: req("GET", append(good, "Origin: http://"+addr)...), status: 101, acceptWant: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		},
		"allowed origin": {
			lines: req("GET", append(good, "Origin: https://WALL.example.com")...), status: 101,
		},
		"allowed host, any scheme": {
			lines: req("GET", append(good, "Origin: http://board.example.org:8443")...), status: 101,
		},
		"no topics": {
			lines: append([]string{"GET /ws?topics= HTTP/1.1", host}, good...), status: 400, reason: "no_topics",
			bodyHas: []string{"no topics"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := 0.0
			if tc.reason != "" {
				before = e.metric(t, "dashd_stream_handshake_refusals_total", "reason="+tc.reason)
			}
			resp, body := rawHandshake(t, addr, tc.lines...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body:\n%s", resp.StatusCode, tc.status, body)
			}
			if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Errorf("header %s = %q, want %q", tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
			}
			for _, s := range tc.bodyHas {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			if tc.status == 101 {
				if got := resp.Header.Get("Sec-WebSocket-Accept"); tc.acceptWant != "" && got != tc.acceptWant {
					t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, tc.acceptWant)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			if got := e.metric(t, "dashd_stream_handshake_refusals_total", "reason="+tc.reason); got != before+1 {
				t.Errorf("refusals{reason=%s} = %v, want %v", tc.reason, got, before+1)
			}
		})
	}
	// Each refusal is logged once.
	refused := 0
	for _, tc := range tests {
		if tc.status != 101 {
			refused++
		}
	}
	if got := strings.Count(e.log.String(), "request refused"); got != refused {
		t.Errorf("%d refusals logged, want %d:\n%s", got, refused, e.log.String())
	}
}

func TestHandshakeAfterClose(t *testing.T) {
	e := newEnv(t, stream.Config{})
	e.hub.Close()
	resp, body := rawHandshake(t, e.srv.Listener.Addr().String(),
		"GET /ws?topics=a HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: "+sampleKey)
	if resp.StatusCode != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("after Close: %d %q, want 503 shutting down", resp.StatusCode, body)
	}
	if e.metric(t, "dashd_stream_handshake_refusals_total", "reason=closed") != 1 {
		t.Error("closed refusal not counted")
	}
}
