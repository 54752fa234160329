package stream_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
)

var beatTime = time.Date(2026, 12, 3, 13, 43, 39, 500, time.FixedZone("CET", 3600))

const beatMsg = `{"type":"heartbeat","time":"2026-12-03T12:43:39Z"}`

// A WebSocket viewer that was sent nothing since the last tick gets a
// heartbeat; one that got a frame in the interval does not.
func TestHeartbeatWS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{Now: func() time.Time { return beatTime }})
	idle := e.dial(t, "a")
	busy := e.dial(t, "b")
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 2 })

	e.hub.Publish("b", frame("b", 1))
	e.hub.Flush()
	if got := read(t, busy); !bytes.Equal(got, frame("b", 1)) {
		t.Fatalf("busy viewer: %s", got)
	}
	stream.Beat(e.hub)
	if got := read(t, idle); string(got) != beatMsg {
		t.Fatalf("idle viewer got %s, want %s", got, beatMsg)
	}
	// busy was sent a frame in the interval: no heartbeat. The next frame
	// is the next thing it reads.
	e.hub.Publish("b", frame("b", 2))
	e.hub.Flush()
	if got := read(t, busy); !bytes.Equal(got, frame("b", 2)) {
		t.Fatalf("busy viewer after the tick: %s, want its frame, no heartbeat", got)
	}
	// A tick later, with nothing sent since, both are idle. busy got b2
	// after the first tick, so only the second tick after it beats.
	waitFor(t, "the writes to complete", func() bool { return e.metric(t, "dashd_stream_messages_sent_total", "transport=ws") == 3 })
	stream.Beat(e.hub)
	stream.Beat(e.hub)
	if got := read(t, busy); string(got) != beatMsg {
		t.Fatalf("busy viewer, idle for a tick: %s", got)
	}
	if got := read(t, idle); string(got) != beatMsg {
		t.Fatalf("idle viewer, second tick: %s", got)
	}
}

// SSE viewers get the event "heartbeat" with the same data, and no id
// (Last-Event-ID still names the last frame).
func TestHeartbeatSSE(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{Now: func() time.Time { return beatTime }})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Flush()
	_, ch := sseOpen(t, e, "a", "")
	if ev := next(t, ch); ev.data != string(frame("a", 1)) {
		t.Fatalf("snapshot: %+v", ev)
	}
	stream.Beat(e.hub) // the snapshot was sent in this interval
	stream.Beat(e.hub)
	ev := next(t, ch)
	if ev.event != "heartbeat" || ev.data != beatMsg || ev.id != "" {
		t.Fatalf("got %+v, want event heartbeat with %s and no id", ev, beatMsg)
	}
}

// The Hub's own ticker drives heartbeats (HeartbeatEvery > 0).
func TestHeartbeatTicks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{HeartbeatEvery: 10 * time.Millisecond, Now: func() time.Time { return beatTime }})
	c := e.dial(t, "a")
	for range 2 {
		if got := read(t, c); string(got) != beatMsg {
			t.Fatalf("got %s, want %s", got, beatMsg)
		}
	}
}
