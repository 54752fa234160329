package stream_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
)

type sseEvent struct {
	comment         string
	event, id, data string
}

// sseOpen starts an SSE request and parses its events into a channel,
// closed at the end of the stream.
func sseOpen(t *testing.T, e *env, topics, lastID string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/sse?topics="+topics, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				ch <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "event":
					ev.event = v
				case "id":
					ev.id = v
				case "data":
					ev.data += v
				}
			}
		}
	}()
	return resp, ch
}

// next returns the next frame event, skipping comments.
func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.comment != "" && ev.event == "" {
				continue
			}
			return ev
		case <-timeout:
			t.Fatal("no event within 10s")
		}
	}
}

func TestSSE(t *testing.T) {
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Publish("b", frame("b", 1))
	e.hub.Flush()

	resp, ch := sseOpen(t, e, "a,b", "")
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	a1, b1 := next(t, ch), next(t, ch)
	if a1.event != "frame" || a1.data != string(frame("a", 1)) || !strings.HasPrefix(a1.id, "a:") {
		t.Fatalf("snapshot a: %+v", a1)
	}
	if b1.data != string(frame("b", 1)) || !strings.HasPrefix(b1.id, "b:") {
		t.Fatalf("snapshot b: %+v", b1)
	}
	// A tick of two topics: two events.
	e.hub.Publish("a", frame("a", 2))
	e.hub.Publish("b", frame("b", 2))
	e.hub.Flush()
	if ev := next(t, ch); ev.data != string(frame("a", 2)) {
		t.Fatalf("live a: %+v", ev)
	}
	if ev := next(t, ch); ev.data != string(frame("b", 2)) {
		t.Fatalf("live b: %+v", ev)
	}
	e.hub.Publish("a", frame("a", 3))
	e.hub.Flush()
	a3 := next(t, ch)
	if a3.data != string(frame("a", 3)) {
		t.Fatalf("live a3: %+v", a3)
	}
	resp.Body.Close()
	waitFor(t, "SSE viewer to leave", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=sse") == 0 })

	// Reconnecting with the id of a3: a is current, only b is resent.
	_, ch = sseOpen(t, e, "a,b", a3.id)
	if ev := next(t, ch); ev.data != string(frame("b", 2)) {
		t.Fatalf("after reconnect with %s: %+v, want b's current frame only", a3.id, ev)
	}
	e.hub.Publish("a", frame("a", 4))
	e.hub.Flush()
	if ev := next(t, ch); ev.data != string(frame("a", 4)) {
		t.Fatalf("after reconnect: %+v, want a4", ev)
	}
	// An id of another process (or a stale one) resends.
	_, ch = sseOpen(t, e, "a", "a:12")
	if ev := next(t, ch); ev.data != string(frame("a", 4)) {
		t.Fatalf("stale id: %+v", ev)
	}
	if got := e.metric(t, "dashd_stream_messages_sent_total", "transport=sse"); got != 8 {
		t.Errorf("sse messages sent %v, want 8", got)
	}
}

func TestSSEHeartbeatAndClose(t *testing.T) {
	e := newEnv(t, stream.Config{PingPeriod: 20 * time.Millisecond})
	_, ch := sseOpen(t, e, "a", "")
	pings := 0
	for pings < 2 {
		select {
		case ev := <-ch:
			if ev.comment == "ping" {
				pings++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
	e.hub.Close()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return // the stream ended
			}
		case <-timeout:
			t.Fatal("SSE stream still open after Close")
		}
	}
}
