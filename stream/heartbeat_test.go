package stream_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
)

type heartbeat struct {
	Type string `json:"type"`
	Time string `json:"time"`
}

// checkHeartbeat fails unless data is a heartbeat message of about now.
func checkHeartbeat(t *testing.T, data []byte) {
	t.Helper()
	var hb heartbeat
	if err := json.Unmarshal(data, &hb); err != nil || hb.Type != "heartbeat" {
		t.Fatalf("not a heartbeat: %s (%v)", data, err)
	}
	at, err := time.Parse(time.RFC3339, hb.Time)
	if err != nil || time.Since(at) > time.Minute || time.Until(at) > time.Minute {
		t.Fatalf("heartbeat time %q: %v", hb.Time, err)
	}
}

// A quiet WebSocket stream carries a heartbeat within two periods (the
// first period after the snapshot is spared); one with frames flowing
// carries none.
func TestWebSocketHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Flush()
	c := e.dial(t, "a")
	if f := decode(t, read(t, c)); f[0].Seq != 1 {
		t.Fatalf("snapshot: %+v", f)
	}
	_ = c.SetReadDeadline(time.Now().Add(3*stream.HeartbeatPeriod + time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("no heartbeat on a quiet stream: %v", err)
	}
	checkHeartbeat(t, msg)

	// Frames every half period: only frames arrive.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(stream.HeartbeatPeriod / 4)
		defer tick.Stop()
		for seq := 2; ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				e.hub.Publish("a", frame("a", seq))
				e.hub.Flush()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	until := time.Now().Add(3 * stream.HeartbeatPeriod)
	for time.Now().Before(until) {
		for _, f := range decode(t, read(t, c)) {
			if f.Type != "frame" {
				t.Fatalf("a %q message while frames flow", f.Type)
			}
		}
	}
}

// A quiet SSE stream carries an event "heartbeat" with the same data.
func TestSSEHeartbeatEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Flush()
	_, events := sseOpen(t, e, "a", "")
	deadline := time.After(2*stream.HeartbeatPeriod + 2*time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.event == "heartbeat" {
				checkHeartbeat(t, []byte(ev.data))
				return
			}
		case <-deadline:
			t.Fatal("no heartbeat event on a quiet SSE stream")
		}
	}
}
