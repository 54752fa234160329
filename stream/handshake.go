package stream

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// refusal is a handshake answered with an error instead of 101.
type refusal struct {
	status int
	reason string // metric label
	body   string
	header [][2]string
}

func closedRefusal() refusal {
	return refusal{
		status: http.StatusServiceUnavailable,
		reason: reasonClosed,
		body:   "dashd is shutting down; reconnect in a few seconds.\n",
		header: [][2]string{{"Retry-After", "5"}},
	}
}

const proxyHint = `If a reverse proxy sits in front of dashd, it drops the hop-by-hop headers
Upgrade and Connection unless told to pass them. For nginx, in the location:
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
To see what reaches the server: dashd check-ws URL
`

// checkHandshake applies RFC 6455's checks (and the origin policy) before
// gorilla does, so that each refusal says what was wrong and what to do;
// gorilla's own bodies say only "Bad Request".
func (h *Hub) checkHandshake(r *http.Request) (refusal, bool) {
	if r.Method != http.MethodGet {
		return refusal{
			status: http.StatusMethodNotAllowed, reason: reasonMethod,
			body:   fmt.Sprintf("A WebSocket handshake is a GET request; this one is %s.\n", r.Method),
			header: [][2]string{{"Allow", "GET"}},
		}, true
	}
	if !hasToken(r.Header, "Upgrade", "websocket") {
		got := "no Upgrade header"
		if u := r.Header.Get("Upgrade"); u != "" {
			got = fmt.Sprintf("Upgrade: %q", u)
		}
		return refusal{
			status: http.StatusBadRequest, reason: reasonUpgrade,
			body: "This is a WebSocket endpoint, but the request has " + got + ` instead of "Upgrade: websocket".` + "\n" +
				"A browser page or curl cannot open it; use a WebSocket client.\n" + proxyHint,
		}, true
	}
	if !hasToken(r.Header, "Connection", "upgrade") {
		return refusal{
			status: http.StatusBadRequest, reason: reasonConnection,
			body: fmt.Sprintf("The WebSocket handshake lacks \"Connection: Upgrade\" (got Connection: %q).\n", r.Header.Get("Connection")) +
				proxyHint,
		}, true
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		return refusal{
			status: http.StatusUpgradeRequired, reason: reasonVersion,
			body: fmt.Sprintf("This server speaks WebSocket version 13 (RFC 6455); the request asks for version %q.\n", v) +
				"Use a client that supports RFC 6455 (every current browser does).\n",
			header: [][2]string{{"Sec-WebSocket-Version", "13"}},
		}, true
	}
	if !validKey(r.Header.Get("Sec-WebSocket-Key")) {
		return refusal{
			status: http.StatusBadRequest, reason: reasonKey,
			body: "Sec-WebSocket-Key is missing or is not the base64 of 16 bytes; the client is not a conforming WebSocket client (RFC 6455, section 4.1).\n",
		}, true
	}
	if !h.origins.allowed(r) {
		return refusal{
			status: http.StatusForbidden, reason: reasonOrigin,
			body: fmt.Sprintf("Origin %q may not open this stream: it is not this server's own origin (host %q) and not in stream.allowed_origins.\n", r.Header.Get("Origin"), r.Host) +
				"To allow it, add it to stream.allowed_origins in the dashd configuration.\n" +
				"If the page is dashd's own and a reverse proxy sits in front, the proxy rewrites Host; pass it through (nginx: proxy_set_header Host $host;).\n",
		}, true
	}
	return refusal{}, false
}

// refuse answers a refused stream request and logs and counts it once.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, ref refusal) {
	hd := w.Header()
	for _, kv := range ref.header {
		hd.Set(kv[0], kv[1])
	}
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(ref.status)
	_, _ = io.WriteString(w, ref.body)
	h.met.refusals.WithLabelValues(ref.reason).Inc()
	h.log.Info("stream: request refused", "reason", ref.reason, "status", ref.status,
		"remote", r.RemoteAddr, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
}

// upgradeError answers what gorilla refuses after checkHandshake passed.
func (h *Hub) upgradeError(w http.ResponseWriter, r *http.Request, status int, reason error) {
	// gorilla sets Sec-WebSocket-Version on version errors; keep its headers.
	h.refuse(w, r, refusal{
		status: status, reason: reasonOther,
		body: "WebSocket handshake failed: " + upgradeHint(reason.Error()) + "\n",
	})
}

// hasToken reports whether a comma-separated header lists token.
func hasToken(hd http.Header, name, token string) bool {
	for _, v := range hd.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}
