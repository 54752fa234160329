package stream

import "time"

// A heartbeat tells a client that its stream is alive while nothing else
// comes: every Config.HeartbeatEvery, each viewer that was sent no data
// since the previous tick gets
//
//	{"type":"heartbeat","time":"2026-12-03T13:43:39Z"}
//
// as a WebSocket text message, or as the SSE event "heartbeat" with that
// data. time is the server's clock (RFC 3339, seconds). Clients that do
// not know the type ignore it (CONTRACT.md); a client that knows it can
// call a stream stale when neither a frame nor a heartbeat came for a few
// intervals.
//
// The Hub's one heartbeat goroutine drives it, not a timer per viewer: a
// tick encodes the message once (and, for WebSocket, frames and compresses
// it once for all viewers), then visits the viewers one shard at a time.
// A WebSocket viewer idle since the last tick but with a message still in
// flight (queued before that tick; the writer has not reported it written,
// though the client may already have read it) owes a heartbeat: it leaves
// right after that message (viewer.sent), unless data does. Skipping such
// a viewer lost the heartbeat of that tick, so a client that read the
// message before the writer said so saw no heartbeat for two intervals
// (the cause of TestCompressionEveryMessage's rare timeout).

// heartbeatLoop runs the ticks until Close.
func (h *Hub) heartbeatLoop() {
	defer h.beats.Done()
	t := time.NewTicker(h.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			h.heartbeat()
		}
	}
}

// beat is one tick's heartbeat, shared by every viewer.
type beat struct {
	msg []byte
	pm  *prepared // built on first need
	now time.Time
}

func (b *beat) prepared() *prepared {
	if b.pm == nil {
		b.pm = prepare(b.msg)
	}
	return b.pm
}

// appendHeartbeat appends the heartbeat message of t.
func appendHeartbeat(dst []byte, t time.Time) []byte {
	dst = append(dst, `{"type":"heartbeat","time":"`...)
	dst = t.UTC().AppendFormat(dst, time.RFC3339)
	return append(dst, `"}`...)
}

// heartbeat is one tick: a heartbeat to every viewer idle since the last.
func (h *Hub) heartbeat() {
	b := &beat{msg: appendHeartbeat(nil, h.cfg.Now()), now: time.Now()}
	// eachViewer holds one shard's lock at a time; b.pm is built under
	// the first, then only read.
	h.eachViewer(func(v *viewer) { v.heartbeat(b) })
}

// heartbeat sends b to v if v was sent nothing since the last tick. The
// shard's mu held.
func (v *viewer) heartbeat(b *beat) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gone {
		return
	}
	if v.active {
		v.active = false
		return
	}
	if v.ws != nil {
		if v.busy {
			v.owed = b.prepared()
		} else {
			v.write(b.prepared(), b.now)
		}
		return
	}
	v.beat = b.msg
	v.wakeUp()
}
