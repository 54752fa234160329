package wscheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Options adjust the handshake.
type Options struct {
	// Origin is sent as the Origin header, as a browser on that page would.
	// Empty sends none (a non-browser client).
	Origin string
	// Timeout bounds the whole check, the wait for the first frame
	// included. Default 10s.
	Timeout time.Duration
	// FrameWait bounds the wait for the first frame after a successful
	// handshake. Default 5s, and never past Timeout.
	FrameWait time.Duration
	// Header is added to the request (Authorization, Cookie, …).
	Header http.Header
	// Key is the Sec-WebSocket-Key to send; empty picks a random one.
	Key string
	// TLSConfig is used for wss:// (ServerName is filled in). nil: defaults.
	TLSConfig *tls.Config
}

// AcceptKey is the Sec-WebSocket-Accept a server must answer to key:
// base64(SHA-1(key + the RFC 6455 GUID)).
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// report writes the step lines: "ok", "FAIL", "warn", details indented.
// Every line goes through printable once formatted, so what a server sent
// (and the errors that quote it) reaches the terminal as visible text;
// the only line breaks are report's own. Nothing else writes to w.
type report struct{ w io.Writer }

func (r report) ok(f string, a ...any)   { r.line("ok    ", f, a...) }
func (r report) warn(f string, a ...any) { r.line("warn  ", f, a...) }
func (r report) info(f string, a ...any) { r.line("      ", f, a...) }

func (r report) line(prefix, f string, a ...any) {
	io.WriteString(r.w, prefix+printable(fmt.Sprintf(f, a...))+"\n")
}

// fail reports a failed step with its likely cause and fix, and returns
// the error Check returns, as printable as the report (cmd/dashd prints it).
func (r report) fail(step, what string, fix ...string) error {
	what = printable(what)
	r.line("FAIL  ", "%s: %s", step, what)
	for _, f := range fix {
		for l := range strings.SplitSeq(strings.TrimRight(f, "\n"), "\n") {
			r.info("→ %s", l)
		}
	}
	return fmt.Errorf("%s: %s", step, what)
}

const nginxFix = `a reverse proxy probably drops Upgrade/Connection; for nginx:
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";`

// Check performs a WebSocket opening handshake against rawURL (ws://,
// wss://, http:// or https://) and writes each step to out. It returns nil
// when the handshake succeeded (a missing first frame is only a warning),
// and an error naming the failed step otherwise.
func Check(ctx context.Context, rawURL string, out io.Writer, opts Options) error {
	rep := report{out}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.FrameWait <= 0 {
		opts.FrameWait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	u, secure, err := parseURL(rawURL)
	if err != nil {
		return rep.fail("url", err.Error(), "use ws://HOST:PORT/api/v1/stream?charts=ID (or wss:// behind TLS)")
	}
	rep.ok("url %s (%s)", u.String(), map[bool]string{false: "plain TCP", true: "TLS"}[secure])
	host, port := u.Hostname(), u.Port()

	// DNS
	var addrs []string
	if ip := net.ParseIP(host); ip != nil {
		addrs = []string{ip.String()}
	} else {
		t0 := time.Now()
		addrs, err = net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			return rep.fail("dns", fmt.Sprintf("%s: %v", host, err),
				"the name does not resolve here: check its spelling, your DNS or /etc/hosts")
		}
		rep.ok("dns %s → %s (%s)", host, strings.Join(addrs, ", "), since(t0))
	}

	// TCP
	t0 := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return rep.fail("tcp", fmt.Sprintf("connect to %s: %v", net.JoinHostPort(host, port), err), dialFix(err, port)...)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	rep.ok("tcp connected to %s (%s)", conn.RemoteAddr(), since(t0))

	// TLS
	if secure {
		cfg := &tls.Config{}
		if opts.TLSConfig != nil {
			cfg = opts.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"http/1.1"} // a WebSocket handshake is HTTP/1.1
		tc := tls.Client(conn, cfg)
		t0 := time.Now()
		if err := tc.HandshakeContext(ctx); err != nil {
			return rep.fail("tls", err.Error(), tlsFix(err)...)
		}
		st := tc.ConnectionState()
		rep.ok("tls %s, %s (%s)", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), since(t0))
		if len(st.PeerCertificates) > 0 {
			c := st.PeerCertificates[0]
			rep.info("certificate for %s, issued by %s, valid until %s", strings.Join(c.DNSNames, ", "), c.Issuer.String(), c.NotAfter.Format(time.DateOnly))
			if time.Until(c.NotAfter) < 14*24*time.Hour {
				rep.warn("the certificate expires in %s", time.Until(c.NotAfter).Round(time.Hour))
			}
		}
		conn = tc
	}

	// The request
	key := opts.Key
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key = base64.StdEncoding.EncodeToString(b[:])
	}
	req := buildRequest(u, key, opts)
	if _, err := io.WriteString(conn, req); err != nil {
		return rep.fail("request", err.Error(), "the server closed the connection before reading the request")
	}
	rep.ok("request sent:")
	for l := range strings.SplitSeq(strings.TrimRight(req, "\r\n"), "\r\n") {
		rep.info("> %s", l)
	}

	// The response
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		fix := []string{"the server is not speaking HTTP/1.1 here"}
		if !secure {
			fix = append(fix, "if the port expects TLS, use wss:// (or https://)")
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			fix = []string{"the server (or a proxy, load balancer, firewall) closed the connection without an answer", "if the port expects TLS, use wss://"}
		}
		return rep.fail("response", err.Error(), fix...)
	}
	defer resp.Body.Close()
	rep.info("< %s %s", resp.Proto, resp.Status)
	for _, k := range []string{"Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol", "Location", "Content-Type", "Server", "Via", "Retry-After"} {
		for _, v := range resp.Header.Values(k) {
			rep.info("< %s: %s", k, v)
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		if len(body) > 0 {
			rep.info("body of the refusal:")
			// Lines end in LF or CRLF; any other CR is shown as \r.
			for l := range strings.SplitSeq(strings.TrimRight(string(body), "\r\n"), "\n") {
				rep.info("| %s", strings.TrimSuffix(l, "\r"))
			}
		}
		return rep.fail("status", fmt.Sprintf("%s, want 101 Switching Protocols", resp.Status), statusFix(resp, secure, body)...)
	}
	rep.ok("status 101 Switching Protocols")

	// The headers of a 101
	failed := false
	if !hasToken(resp.Header, "Upgrade", "websocket") {
		failed = true
		_ = rep.fail("header", fmt.Sprintf("Upgrade: %q, want websocket", resp.Header.Get("Upgrade")), "something between you and the server rewrote the answer; "+nginxFix)
	} else {
		rep.ok("Upgrade: websocket")
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		failed = true
		_ = rep.fail("header", fmt.Sprintf("Connection: %q, want Upgrade", resp.Header.Get("Connection")), nginxFix)
	} else {
		rep.ok("Connection: Upgrade")
	}
	want, got := AcceptKey(key), resp.Header.Get("Sec-WebSocket-Accept")
	if got != want {
		failed = true
		_ = rep.fail("header", fmt.Sprintf("Sec-WebSocket-Accept %q, want %q (computed from the key %s)", got, want, key),
			"the answer was not made for this request: a proxy or cache answers in the server's place, or the server is not a conforming WebSocket server")
	} else {
		rep.ok("Sec-WebSocket-Accept %s matches the key %s", got, key)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		failed = true
		_ = rep.fail("header", fmt.Sprintf("Sec-WebSocket-Extensions %q was not asked for", ext), "the server negotiates an extension the client did not offer; browsers will fail the connection")
	}
	if failed {
		return errors.New("handshake: the 101 answer is not a valid WebSocket handshake")
	}
	rep.ok("handshake complete")

	// The first frame
	wait := opts.FrameWait
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	_ = conn.SetDeadline(time.Now().Add(wait))
	readFirstFrame(rep, br, wait)

	_ = conn.SetDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write(closeFrame(1000))
	rep.ok("closed (sent close 1000)")
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Microsecond) }

func parseURL(raw string) (*url.URL, bool, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, false, err
	}
	secure := false
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, false, fmt.Errorf("%q: the scheme must be ws, wss, http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, false, fmt.Errorf("%q has no host", raw)
	}
	if u.Port() == "" {
		p := "80"
		if secure {
			p = "443"
		}
		u.Host = net.JoinHostPort(u.Hostname(), p)
	}
	u.Scheme = map[bool]string{false: "ws", true: "wss"}[secure]
	return u, secure, nil
}

func buildRequest(u *url.URL, key string, opts Options) string {
	var b strings.Builder
	path := u.RequestURI()
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	host := u.Host
	if (u.Scheme == "ws" && u.Port() == "80") || (u.Scheme == "wss" && u.Port() == "443") {
		host = u.Hostname()
	}
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\n", key)
	if opts.Origin != "" {
		fmt.Fprintf(&b, "Origin: %s\r\n", opts.Origin)
	}
	b.WriteString("User-Agent: dashd-check-ws\r\n")
	for k, vs := range opts.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func dialFix(err error, port string) []string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return []string{"nothing listens on that port: is dashd running, on this --addr (default 127.0.0.1:8080)?",
			"dashd on 127.0.0.1 is not reachable from other hosts; listen on 0.0.0.0:" + port + " or go through the proxy"}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return []string{"no answer at all: a firewall or security group drops the packets, or the host is down"}
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return []string{"no route to the host: check the address and the network"}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tlsFix(err error) []string {
	msg := err.Error()
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &rh):
		return []string{"the server answered without TLS: use ws:// (or http://) for this port"}
	case strings.Contains(msg, "certificate"):
		return []string{"the certificate is not trusted for this name: check the name in the URL, the chain the server sends, and its expiry"}
	}
	return []string{"the TLS handshake failed: check the port is the TLS one"}
}

func statusFix(resp *http.Response, secure bool, body []byte) []string {
	if !secure && resp.StatusCode == 400 && bytes.Contains(body, []byte("HTTPS server")) {
		return []string{"this port speaks TLS: use wss:// (or https://)"}
	}
	upgradeEcho := resp.Header.Get("Upgrade") != ""
	switch c := resp.StatusCode; {
	case c == 200:
		return []string{"the server answered with an ordinary page: the path is not a WebSocket endpoint (dashd's is /api/v1/stream), or a proxy serves something else here",
			"if a proxy sits in front: " + nginxFix}
	case c == 404:
		return []string{"nothing at this path: check it (dashd streams at /api/v1/stream?charts=ID or ?dashboard=ID), and the proxy's location block"}
	case c >= 300 && c < 400:
		return []string{fmt.Sprintf("redirected to %q: use that URL (an http→https redirect means wss://)", resp.Header.Get("Location"))}
	case c == 400 && !upgradeEcho:
		return []string{"the server saw the request without a valid handshake; the usual cause is a proxy that does not pass Upgrade: " + nginxFix,
			"read the body above: dashd says which header was wrong"}
	case c == 400:
		return []string{"the server refused the handshake as malformed: read the body above"}
	case c == 401:
		return []string{"authentication needed: pass a token (--header 'Authorization: Bearer TOKEN', or ?token=)"}
	case c == 403:
		return []string{"forbidden: with --origin, that origin is not allowed (dashd: add it to stream.allowed_origins); otherwise the token may not read these charts"}
	case c == 405:
		return []string{"the method is refused: a proxy may turn the GET into something else"}
	case c == 426:
		return []string{fmt.Sprintf("the server wants another protocol version (Sec-WebSocket-Version: %s)", resp.Header.Get("Sec-WebSocket-Version"))}
	case c == 502 || c == 504:
		return []string{"the proxy could not reach the server behind it: is dashd up, and is the proxy's upstream address right?"}
	case c == 503:
		return []string{"the server is unavailable (shutting down or overloaded): retry shortly" + retryAfter(resp)}
	}
	return []string{"read the body above for the server's reason"}
}

func retryAfter(resp *http.Response) string {
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		return ", after " + ra + "s"
	}
	return ""
}

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

// readFirstFrame reads server frames until a data or close frame, and
// reports it. Pings and pongs are noted and skipped.
func readFirstFrame(rep report, br *bufio.Reader, wait time.Duration) {
	for {
		f, err := readFrame(br, 1<<20)
		if err != nil {
			if isTimeout(err) {
				rep.warn("no frame within %s: the link works but the server sent nothing (dashd: the charts have no data yet, or the ids name no chart)", wait)
			} else {
				rep.warn("reading the first frame: %v", err)
			}
			return
		}
		if f.masked {
			rep.warn("the server masked its frame: RFC 6455 forbids it; browsers fail the connection")
		}
		switch f.opcode {
		case opPing, opPong:
			rep.info("%s frame (%d bytes)", map[byte]string{opPing: "ping", opPong: "pong"}[f.opcode], f.length)
			continue
		case opClose:
			code, reason := 1005, ""
			if len(f.payload) >= 2 {
				code = int(binary.BigEndian.Uint16(f.payload))
				reason = string(f.payload[2:])
			}
			rep.warn("the server closed at once: code %d %q", code, reason)
			return
		case opText, opBinary, opCont:
			kind := map[byte]string{opText: "text", opBinary: "binary", opCont: "continuation"}[f.opcode]
			rep.ok("first frame: %s, %d bytes%s", kind, f.length, map[bool]string{false: " (fragmented)", true: ""}[f.fin])
			shown := f.payload
			if len(shown) > 200 {
				n := 200
				for n > 0 && f.opcode != opBinary && !utf8.RuneStart(shown[n]) {
					n-- // cut text between characters, not inside one
				}
				shown = shown[:n]
			}
			if f.opcode == opBinary {
				rep.info("%x…", shown)
			} else {
				rep.info("%s%s", shown, map[bool]string{true: "…", false: ""}[int64(len(shown)) < f.length])
			}
			return
		default:
			rep.warn("frame with unknown opcode %#x", f.opcode)
			return
		}
	}
}
