package stream_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// ServeWS returns once the connection is upgraded: the session lives on
// without the HTTP handler (and net/http's buffers for the connection),
// still gets its frames, and is still closed with 1001 by Close.
func TestServeWSReturnsOnceUpgraded(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := stream.New(stream.Config{Registerer: reg})
	e := &env{hub: hub, reg: reg}
	var running, returned atomic.Int32
	var mu sync.Mutex
	hijacked := map[net.Conn]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer returned.Add(1)
		hub.ServeWS(w, r, strings.Split(r.URL.Query().Get("topics"), ","), nil)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateHijacked {
			mu.Lock()
			hijacked[c] = true
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	e.srv = srv

	hub.Publish("a", frame("a", 1))
	hub.Flush()
	cs := []*websocket.Conn{e.dial(t, "a"), e.dial(t, "a")}
	for _, c := range cs {
		if got := read(t, c); !bytes.Equal(got, frame("a", 1)) {
			t.Fatalf("snapshot: got %s", got)
		}
	}
	// Both handlers return while their viewers stay connected; with the
	// read loop on the handler goroutine they would not until Close.
	waitFor(t, "the handlers to return", func() bool { return returned.Load() == 2 })
	mu.Lock()
	n := len(hijacked)
	mu.Unlock()
	if n != 2 {
		t.Fatalf("%d connections hijacked, want 2", n)
	}
	if got := e.metric(t, "dashd_stream_viewers", "transport=ws"); got != 2 {
		t.Fatalf("%v viewers after the handlers returned, want 2", got)
	}

	// Live ticks and pongs still flow.
	hub.Publish("a", frame("a", 2))
	hub.Flush()
	for _, c := range cs {
		if got := read(t, c); !bytes.Equal(got, frame("a", 2)) {
			t.Fatalf("live: got %s", got)
		}
	}
	// Still closed with 1001 on shutdown, and Close waits for the sessions.
	hub.Close()
	for _, c := range cs {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("want close 1001, got %v", err)
		}
	}
	if got := e.metric(t, "dashd_stream_viewers", "transport=ws"); got != 0 {
		t.Fatalf("%v viewers after Close returned, want 0", got)
	}
	if got := running.Load(); got != 2 {
		t.Fatalf("%d handler calls, want 2", got)
	}
}

// upgradeRequest is a valid WebSocket handshake for topic a.
func upgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/ws?topics=a", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", sampleKey)
	return r
}

// A handshake refused inside the upgrade (here: a ResponseWriter that
// cannot be hijacked) is answered, status and body, before ServeWS
// returns, and counted.
func TestServeWSRefusalInsideUpgrade(t *testing.T) {
	e := newEnv(t, stream.Config{})
	rec := httptest.NewRecorder() // not an http.Hijacker
	e.hub.ServeWS(rec, upgradeRequest(), []string{"a"}, nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "WebSocket handshake failed") || !strings.Contains(body, "HTTP/1.1") {
		t.Fatalf("body %q does not say what failed", body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q", ct)
	}
	if got := e.metric(t, "dashd_stream_handshake_refusals_total", "reason=other"); got != 1 {
		t.Fatalf("%v refusals counted, want 1", got)
	}
	// The session's goroutine is gone: Close does not wait for it.
	closed := make(chan struct{})
	go func() {
		e.hub.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a session that was refused")
	}
	if strings.Contains(e.log.String(), "still open") {
		t.Fatalf("Close waited for a refused session:\n%s", e.log.String())
	}
}

// panicHeader is a ResponseWriter whose Header panics, as a bug in the
// upgrade would.
type panicHeader struct{ http.ResponseWriter }

func (panicHeader) Header() http.Header { panic("boom") }

// A panic in the session's goroutine before the hijack reaches the
// caller of ServeWS, as it did when the upgrade ran on its goroutine (the
// router's recovery answers it), and the Hub does not count the session.
func TestServeWSPanicBeforeHijackReachesCaller(t *testing.T) {
	e := newEnv(t, stream.Config{})
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the session's panic", p)
			}
		}()
		e.hub.ServeWS(panicHeader{httptest.NewRecorder()}, upgradeRequest(), []string{"a"}, nil)
		t.Fatal("ServeWS returned")
	}()
	e.hub.Close()
	if strings.Contains(e.log.String(), "still open") {
		t.Fatalf("Close waited for the session:\n%s", e.log.String())
	}
}

// The snapshot a group shares between its new viewers follows every
// change of its topics, retraction included.
func TestSharedSnapshotFollowsChanges(t *testing.T) {
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Publish("b", frame("b", 1))
	e.hub.Flush()
	batch := func(fs ...[]byte) string {
		return `{"type":"batch","frames":[` + string(bytes.Join(fs, []byte(","))) + "]}"
	}
	before := e.metric(t, "dashd_stream_batches_encoded_total")
	for range 3 {
		if got, want := string(read(t, e.dial(t, "a,b"))), batch(frame("a", 1), frame("b", 1)); got != want {
			t.Fatalf("snapshot %s, want %s", got, want)
		}
	}
	if got := e.metric(t, "dashd_stream_batches_encoded_total") - before; got != 1 {
		t.Fatalf("%v snapshot batches encoded for 3 viewers of one state, want 1", got)
	}

	e.hub.Publish("b", frame("b", 2))
	e.hub.Flush()
	if got, want := string(read(t, e.dial(t, "b,a"))), batch(frame("a", 1), frame("b", 2)); got != want {
		t.Fatalf("after a tick: snapshot %s, want %s", got, want)
	}
	e.hub.Publish("z", frame("z", 1)) // another topic: the snapshot stays
	e.hub.Flush()
	if got, want := string(read(t, e.dial(t, "a,b"))), batch(frame("a", 1), frame("b", 2)); got != want {
		t.Fatalf("after another topic's tick: snapshot %s, want %s", got, want)
	}

	e.hub.Publish("a", nil)
	e.hub.Flush()
	c := e.dial(t, "a,b")
	if got := read(t, c); !bytes.Equal(got, frame("b", 2)) {
		t.Fatalf("after a retraction: snapshot %s, want b alone", got)
	}
	// Nothing else is queued for it: the next message is the next tick.
	e.hub.Publish("a", frame("a", 3))
	e.hub.Flush()
	if got := read(t, c); !bytes.Equal(got, frame("a", 3)) {
		t.Fatalf("after the snapshot: %s", got)
	}
}
