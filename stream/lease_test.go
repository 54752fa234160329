package stream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
)

// readClose reads until the connection ends and returns its close error.
func readClose(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := c.ReadMessage()
		if err == nil {
			t.Logf("message before the close: %.100s", msg)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("want a close frame, got %v", err)
		}
		return ce
	}
}

// sseEnd returns the end event that closes an SSE stream, failing if a
// frame comes first or the stream does not end right after it.
func sseEnd(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	ev := next(t, ch)
	if ev.event != "end" {
		t.Fatalf("want the end event, got %+v", ev)
	}
	select {
	case extra, ok := <-ch:
		if ok {
			t.Fatalf("event after end: %+v", extra)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SSE stream still open after its end event")
	}
	return ev
}

type endData struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// A lease cancelled with a cause ends its viewers, WebSocket with 1008 and
// the cause as reason, SSE with an end event; viewers without a lease, or
// with another, go on.
func TestLeaseEndsViewers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	lease, revoke := context.WithCancelCause(context.Background())
	other, cancelOther := context.WithCancelCause(context.Background())
	defer cancelOther(nil)
	e.setLease("tok", lease)
	e.setLease("other", other)
	e.hub.Publish("a", frame("a", 1))
	e.hub.Flush()

	leased := e.dial(t, "a&lease=tok")
	free := e.dial(t, "a")
	otherWS := e.dial(t, "a&lease=other")
	_, leasedSSE := sseOpen(t, e, "a&lease=tok", "")
	_, freeSSE := sseOpen(t, e, "a", "")
	for _, c := range []*websocket.Conn{leased, free, otherWS} {
		if got := read(t, c); !bytes.Equal(got, frame("a", 1)) {
			t.Fatalf("snapshot: %s", got)
		}
	}
	for _, ch := range []<-chan sseEvent{leasedSSE, freeSSE} {
		if ev := next(t, ch); ev.data != string(frame("a", 1)) {
			t.Fatalf("SSE snapshot: %+v", ev)
		}
	}

	const why = "embed token 7f3a revoked"
	start := time.Now()
	revoke(errors.New(why))
	ce := readClose(t, leased)
	t.Logf("WebSocket closed %v after the lease ended", time.Since(start))
	if ce.Code != websocket.ClosePolicyViolation || ce.Text != why {
		t.Fatalf("close %d %q, want 1008 %q", ce.Code, ce.Text, why)
	}
	ev := sseEnd(t, leasedSSE)
	t.Logf("SSE ended %v after the lease ended", time.Since(start))
	var d endData
	if err := json.Unmarshal([]byte(ev.data), &d); err != nil || d.Type != "end" || d.Reason != why {
		t.Fatalf("end event data %q (%v), want type end, reason %q", ev.data, err, why)
	}

	e.hub.Publish("a", frame("a", 2))
	e.hub.Flush()
	for _, c := range []*websocket.Conn{free, otherWS} {
		if got := read(t, c); !bytes.Equal(got, frame("a", 2)) {
			t.Fatalf("viewer without the lease: %s", got)
		}
	}
	if ev := next(t, freeSSE); ev.data != string(frame("a", 2)) {
		t.Fatalf("SSE viewer without lease: %+v", ev)
	}
	for transport, want := range map[string]float64{"ws": 2, "sse": 1} {
		waitFor(t, transport+" viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport="+transport) == want })
		if got := e.metric(t, "dashd_stream_lease_ends_total", "transport="+transport); got != 1 {
			t.Errorf("%s lease ends %v, want 1", transport, got)
		}
	}
}

// A lease with a deadline ends by itself: an expired embed token.
func TestLeaseDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	lease, cancel := context.WithTimeoutCause(context.Background(), 200*time.Millisecond, errors.New("embed token expired"))
	defer cancel()
	e.setLease("tok", lease)
	c := e.dial(t, "a&lease=tok")
	_, ch := sseOpen(t, e, "a&lease=tok", "")
	if ce := readClose(t, c); ce.Code != websocket.ClosePolicyViolation || ce.Text != "embed token expired" {
		t.Fatalf("close %d %q", ce.Code, ce.Text)
	}
	if ev := sseEnd(t, ch); !strings.Contains(ev.data, `"reason":"embed token expired"`) {
		t.Fatalf("end event %+v", ev)
	}
}

// A lease that ended before the viewer connected gives no snapshot: the
// WebSocket is upgraded and closed with 1008, SSE gets only the end event.
func TestLeaseEndedBeforeConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Flush()
	lease, revoke := context.WithCancelCause(context.Background())
	revoke(errors.New("revoked"))
	e.setLease("tok", lease)

	c := e.dial(t, "a&lease=tok")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("first read: %q, %v; want close 1008 and no snapshot", msg, err)
	}
	_, ch := sseOpen(t, e, "a&lease=tok", "")
	if ev := sseEnd(t, ch); !strings.Contains(ev.data, `"reason":"revoked"`) {
		t.Fatalf("end event %+v", ev)
	}
	if got := e.metric(t, "dashd_stream_viewers", "transport=ws"); got != 0 {
		t.Errorf("ws viewers %v, want 0", got)
	}
}

// The close reason is the cause's message as valid UTF-8, cut at a rune
// boundary to the 123 bytes a close frame holds.
func TestLeaseCloseReason(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100) // 200 bytes; 123 falls inside a rune
	tests := map[string]struct {
		cause error
		want  string
	}{
		"short":          {errors.New("embed token expired"), "embed token expired"},
		"cut on a rune":  {errors.New(long), strings.Repeat("é", 61)},
		"exactly 123":    {errors.New(strings.Repeat("x", 123)), strings.Repeat("x", 123)},
		"ascii cut":      {errors.New(strings.Repeat("x", 300)), strings.Repeat("x", 123)},
		"invalid UTF-8":  {errors.New("bad \xff byte"), "bad \uFFFD byte"},
		"no cause given": {nil, context.Canceled.Error()},
	}
	e := newEnv(t, stream.Config{})
	for name, tc := range tests {
		lease, revoke := context.WithCancelCause(context.Background())
		e.setLease(name, lease)
		c := e.dial(t, "a&lease="+strings.ReplaceAll(name, " ", "+"))
		waitFor(t, "the viewer", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 1 })
		revoke(tc.cause)
		ce := readClose(t, c)
		if ce.Code != websocket.ClosePolicyViolation || ce.Text != tc.want {
			t.Errorf("%s: close %d %q, want 1008 %q", name, ce.Code, ce.Text, tc.want)
		}
		if len(ce.Text) > 123 || !utf8.ValidString(ce.Text) {
			t.Errorf("%s: reason of %d bytes, valid UTF-8 %v", name, len(ce.Text), utf8.ValidString(ce.Text))
		}
		waitFor(t, "the viewer to leave", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 0 })
	}
}

// countingLease counts the AfterFunc registrations on it that are neither
// fired nor stopped. context.AfterFunc uses a context's own AfterFunc
// method when it has one (and Value hides the inner cancelCtx, which it
// would use instead).
type countingLease struct {
	context.Context
	live, made atomic.Int64
}

func (l *countingLease) Value(any) any { return nil }

func (l *countingLease) AfterFunc(f func()) func() bool {
	l.live.Add(1)
	l.made.Add(1)
	var once sync.Once
	release := func() { once.Do(func() { l.live.Add(-1) }) }
	stop := context.AfterFunc(l.Context, func() { release(); f() })
	return func() bool {
		release()
		return stop()
	}
}

// Viewers that leave before their lease ends release its AfterFunc:
// one long-lived lease (a token good for a day) shared by many short
// visits holds nothing of them.
func TestLeaseReleasedWhenViewerLeaves(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	inner, revoke := context.WithCancelCause(context.Background())
	defer revoke(nil)
	lease := &countingLease{Context: inner}
	e.setLease("day", lease)

	const rounds, per = 10, 20
	for round := range rounds {
		var cs []*websocket.Conn
		for range per {
			cs = append(cs, e.dial(t, "a&lease=day"))
		}
		resp, _ := sseOpen(t, e, "a&lease=day", "")
		waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == per })
		if got := lease.live.Load(); got != per {
			t.Fatalf("round %d: %d AfterFuncs registered for %d WebSocket viewers", round, got, per)
		}
		for _, c := range cs {
			c.Close()
		}
		resp.Body.Close()
		waitFor(t, "viewers to leave", func() bool {
			return e.metric(t, "dashd_stream_viewers", "transport=ws") == 0 && e.metric(t, "dashd_stream_viewers", "transport=sse") == 0
		})
	}
	// Closed by the Hub (1001) rather than by the viewer: released too.
	for range per {
		e.dial(t, "a&lease=day")
	}
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == per })
	e.hub.Close()
	if got := lease.live.Load(); got != 0 {
		t.Fatalf("%d AfterFuncs of %d still registered on the lease after every viewer left", got, lease.made.Load())
	}
	if got := lease.made.Load(); got != (rounds+1)*per {
		t.Fatalf("%d AfterFuncs made, want %d", got, (rounds+1)*per)
	}
	if got := e.metric(t, "dashd_stream_lease_ends_total", "transport=ws"); got != 0 {
		t.Fatalf("%v lease ends counted, want 0", got)
	}
}

// Streams outlive the HTTP server's ReadTimeout and WriteTimeout: each
// viewer keeps getting a frame every 100 ms for five times as long.
func TestStreamsOutliveServerTimeouts(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	e := newEnvServer(t, stream.Config{}, func(s *httptest.Server) {
		s.Config.ReadTimeout, s.Config.WriteTimeout, s.Config.IdleTimeout = timeout, timeout, timeout
	})
	ws := e.dial(t, "a")
	_, sse := sseOpen(t, e, "a", "")
	waitFor(t, "viewers", func() bool {
		return e.metric(t, "dashd_stream_viewers", "transport=ws") == 1 && e.metric(t, "dashd_stream_viewers", "transport=sse") == 1
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for seq := 1; time.Since(start) < 5*timeout; seq++ {
		<-tick.C
		e.hub.Publish("a", frame("a", seq))
		e.hub.Flush()
		if got := read(t, ws); !bytes.Equal(got, frame("a", seq)) {
			t.Fatalf("WebSocket after %v: %s, want seq %d", time.Since(start), got, seq)
		}
		if ev := next(t, sse); ev.data != string(frame("a", seq)) {
			t.Fatalf("SSE after %v: %+v, want seq %d", time.Since(start), ev, seq)
		}
	}
}

// Over HTTP/2 a write deadline that passes resets the stream, written to
// or not: an SSE stream idle for longer than StuckAfter (and than the
// server's WriteTimeout) between two frames lives on. The idle spell is
// real time, since the deadline is net/http's own timer.
func TestSSEOutlivesIdleOverHTTP2(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	e := newEnvServer(t, stream.Config{StuckAfter: 200 * time.Millisecond, PingPeriod: time.Hour}, func(s *httptest.Server) {
		s.EnableHTTP2 = true
		s.Config.ReadTimeout, s.Config.WriteTimeout = timeout, timeout
	})
	resp, ch := sseOpen(t, e, "a", "")
	if resp.ProtoMajor != 2 {
		t.Fatalf("served over %s, want HTTP/2", resp.Proto)
	}
	for seq := 1; seq <= 3; seq++ {
		e.hub.Publish("a", frame("a", seq))
		e.hub.Flush()
		if ev := next(t, ch); ev.data != string(frame("a", seq)) {
			t.Fatalf("frame %d: %+v", seq, ev)
		}
		time.Sleep(3 * timeout)
	}
}
