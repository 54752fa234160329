package stream

import (
	"testing"
	"time"
)

// The writer reports a message written (viewer.sent) after the client may
// already have read it. A heartbeat tick that falls in between finds the
// viewer busy though idle since the last tick: its heartbeat must follow
// the message in flight, not be lost (it was, and the client then heard
// nothing for two intervals: TestCompressionEveryMessage timed out in CI
// once). Deterministic: the writer is this test.
func TestHeartbeatOwedWhileAMessageIsInFlight(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pending bool // a frame conflated while the message was in flight
		want    []string
	}{
		"idle: the heartbeat follows":   {want: []string{"snapshot", "heartbeat"}},
		"data pending: it goes instead": {pending: true, want: []string{"snapshot", "frame"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := New(Config{HeartbeatEvery: -1})
			t.Cleanup(h.Close)
			v := &viewer{h: h, slot: -1, ws: &wsConn{h: h, out: make(chan wsOut, wsQueue), quit: make(chan struct{})}}
			t.Cleanup(v.stop)
			labels := map[*prepared]string{}
			snap := prepare([]byte(`{"type":"frame","chart":"a","seq":1}`))
			labels[snap] = "snapshot"

			v.mu.Lock() // as wsConnect queues the snapshot
			v.active = true
			v.write(snap, time.Now())
			v.mu.Unlock()
			if tc.pending {
				v.mu.Lock()
				v.conflate([][]byte{[]byte(`{"type":"frame","chart":"a","seq":2}`)}, []uint64{2}, time.Now())
				v.mu.Unlock()
			}
			// The client has read the snapshot; the writer has not yet
			// said so. Two ticks: the first clears "active", the second
			// finds v idle since, with the snapshot still in flight.
			for range 2 {
				b := &beat{msg: appendHeartbeat(nil, time.Now()), now: time.Now()}
				v.heartbeat(b)
				if b.pm != nil {
					labels[b.pm] = "heartbeat"
				}
			}
			var got []string
			for range 2 { // the writer: each message written, then sent()
				select {
				case m := <-v.ws.out:
					l, ok := labels[m.pm]
					if !ok {
						l = "frame"
					}
					got = append(got, l)
					v.sent()
				default:
				}
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1] {
				t.Fatalf("written %q, want %q", got, tc.want)
			}
			v.mu.Lock()
			defer v.mu.Unlock()
			if v.busy {
				t.Fatal("still busy after its writes")
			}
		})
	}
}
