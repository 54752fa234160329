package stream

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// viewer is one open stream, WebSocket (ws set) or SSE (wake set).
//
// Lock order: Hub.mu, then its shard's mu, then viewer.mu. The session's
// writer goroutine takes none of them but viewer.mu (in sent).
type viewer struct {
	h      *Hub
	ws     *wsConn       // nil for SSE
	wake   chan struct{} // SSE: pending data to write; capacity 1
	remote string        // the peer's address, for logs
	delta  bool          // ws: takes delta frames (?delta=1)

	// Guarded by the group's shard mu.
	g    *group
	slot int // index in g.members; -1 once left

	stuck atomic.Bool // disconnected as stuck (counted once)

	mu        sync.Mutex
	gone      bool      // closing: deliver nothing more
	busy      bool      // ws: a data message is queued or being written
	armed     bool      // ws: timer runs (placed here, it fits in padding)
	active    bool      // data was sent since the last heartbeat tick
	owed      *prepared // ws: a heartbeat due while busy, sent after the message in flight
	since     time.Time // ws: when the oldest undelivered data was queued
	pending   [][]byte  // newest undelivered message by topic index; nil until needed
	pendingN  []uint64  // their ids (SSE)
	npending  int
	pendSince time.Time
	beat      []byte   // SSE: a heartbeat to send, nil if none
	spare     [][]byte // SSE: the other half of the double buffer
	spareN    []uint64
	timer     *time.Timer // ws: stuck check
	leaseStop func() bool // ws: releases the lease's AfterFunc; nil without a lease
}

// deliver hands the group's tick to v. The shard's mu held.
func (v *viewer) deliver(g *group, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gone {
		return
	}
	v.active = true
	if v.ws != nil && !v.busy {
		// Not busy: v has every frame of the group's topics up to the
		// previous tick, the ones deltas are made against. A busy viewer
		// gets its conflated frames whole.
		if v.delta {
			v.write(g.tickDeltaPayload(v.h.met), now)
		} else {
			v.write(g.tickPayload(v.h.met), now)
		}
		return
	}
	v.conflate(g.frames, g.ns, now)
}

// conflate keeps the newest message per topic until v can take it. v.mu held.
func (v *viewer) conflate(frames [][]byte, ns []uint64, now time.Time) {
	if v.pending == nil {
		// Made on first need: a WebSocket viewer that keeps up, or sits
		// idle, never needs them.
		v.pending = make([][]byte, len(frames))
		v.pendingN = make([]uint64, len(frames))
	}
	for i, f := range frames {
		if f == nil {
			continue
		}
		if v.pending[i] != nil {
			v.h.met.conflated.Inc()
		} else {
			if v.npending == 0 {
				v.pendSince = now
			}
			v.npending++
		}
		v.pending[i] = f
		v.pendingN[i] = ns[i]
	}
	if v.wake != nil && v.npending > 0 {
		v.wakeUp()
	}
}

// wakeUp tells an SSE viewer's handler that there is something to write.
func (v *viewer) wakeUp() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// write queues msg on the WebSocket session; it becomes v's one message in
// flight. queued is when its oldest data was first queued. v.mu held.
func (v *viewer) write(msg *prepared, queued time.Time) {
	v.busy = true
	v.since = queued
	if !v.armed {
		v.armed = true
		if v.timer == nil {
			v.timer = time.AfterFunc(v.h.cfg.StuckAfter, v.checkStuck)
		} else {
			v.timer.Reset(v.h.cfg.StuckAfter)
		}
	}
	// Never blocks: the session's queue holds more than the one message
	// in flight. A full queue is a bug, counted.
	v.ws.send(wsOut{pm: msg})
}

// sent is called by the session's writer when v's message in flight has
// been written: what was conflated meanwhile leaves as one message.
func (v *viewer) sent() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gone {
		return
	}
	if v.npending == 0 {
		if b := v.owed; b != nil {
			// A heartbeat tick found v busy and idle since the last:
			// the heartbeat follows the message in flight now.
			v.owed = nil
			v.write(b, time.Now())
			return
		}
		v.busy = false
		return
	}
	v.owed = nil // data follows: it tells the client as much as a heartbeat
	var msg []byte
	if v.npending == 1 {
		for _, f := range v.pending {
			if f != nil {
				msg = f
				break
			}
		}
	} else {
		msg = appendBatch(nil, v.pending)
		v.h.met.batches.Inc()
	}
	clear(v.pending)
	v.npending = 0
	v.active = true
	v.write(prepare(msg), v.pendSince)
}

// checkStuck runs on v's timer: a WebSocket viewer whose data stayed
// undelivered for StuckAfter is closed with 1013 (try again later).
func (v *viewer) checkStuck() {
	v.mu.Lock()
	v.armed = false
	if v.gone || !v.busy {
		// Keeping up or idle: the next write makes a new timer; a quiet
		// viewer does not hold one meanwhile.
		v.timer = nil
		v.mu.Unlock()
		return
	}
	age := time.Since(v.since)
	if limit := v.h.cfg.StuckAfter; age < limit {
		v.armed = true
		v.timer.Reset(limit - age)
		v.mu.Unlock()
		return
	}
	v.goneLocked()
	v.mu.Unlock()

	if v.stuck.CompareAndSwap(false, true) {
		v.h.met.stuckWS.Inc()
		v.h.log.Warn("stream: viewer too slow, closing with 1013",
			"remote", v.remote, "undelivered_for", age.Round(time.Millisecond))
	}
	// Queued behind the write in flight: a viewer that wakes up before
	// WriteWait reads its data, then this close.
	v.ws.send(wsOut{close: websocket.FormatCloseMessage(websocket.CloseTryAgainLater,
		"too slow: data undelivered for "+age.Round(time.Second).String()+"; reconnect")})
}

// leaseEnded runs, on a goroutine of context.AfterFunc's, when the lease
// of a connected WebSocket viewer ends: nothing more is delivered, and the
// close (1008) follows the message in flight, if any. A viewer that is
// not reading gets it when it reads again, or is closed as stuck.
func (v *viewer) leaseEnded(lease context.Context) {
	v.mu.Lock()
	if v.gone {
		v.mu.Unlock()
		return
	}
	v.goneLocked()
	v.mu.Unlock()
	v.h.leaseEndWS(v, lease)
}

// leaseEndWS closes v's session with 1008 and the lease's cause, counted.
func (h *Hub) leaseEndWS(v *viewer, lease context.Context) {
	reason := closeReason(context.Cause(lease))
	h.met.leaseEndsWS.Inc()
	h.log.Debug("stream: lease ended, closing with 1008", "transport", "ws", "remote", v.remote, "reason", reason)
	v.ws.send(wsOut{close: websocket.FormatCloseMessage(websocket.ClosePolicyViolation, reason)})
}

// maxCloseReason is what a close frame holds besides its status: control
// frames carry at most 125 bytes (RFC 6455, 5.5).
const maxCloseReason = 123

// closeReason is err's message as a close reason: valid UTF-8 (a peer
// fails the connection otherwise) cut at a rune boundary to maxCloseReason
// bytes.
func closeReason(err error) string {
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	if len(s) <= maxCloseReason {
		return s
	}
	i := maxCloseReason
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// closeWith queues a close frame with payload msg behind what is in
// flight, and delivers nothing more. For WebSocket viewers.
func (v *viewer) closeWith(msg []byte) {
	v.mu.Lock()
	v.goneLocked()
	v.mu.Unlock()
	v.ws.send(wsOut{close: msg})
}

// stop ends deliveries to v, and releases its lease.
func (v *viewer) stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.goneLocked()
	clear(v.spare)
	if v.timer != nil {
		v.timer.Stop()
	}
	if v.leaseStop != nil {
		v.leaseStop()
		v.leaseStop = nil
	}
}

// goneLocked marks the viewer gone and drops what it had pending: nothing
// more is delivered to it. Needs v.mu.
func (v *viewer) goneLocked() {
	v.gone = true
	v.owed = nil
	clear(v.pending)
	v.npending = 0
}
