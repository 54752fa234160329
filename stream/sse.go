package stream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ServeSSE streams topics as Server-Sent Events: each message is an event
// "frame" with id "TOPIC:N", the current message of each topic first, then
// every tick, with the same conflation as WebSocket. On reconnect, a topic
// whose current id equals Last-Event-ID is not resent. A heartbeat comment
// goes out every PingPeriod. ServeSSE blocks until the client leaves, the
// viewer is stuck past StuckAfter, the lease ends, or the Hub closes.
//
// lease bounds the stream's life as for ServeWS: once it is done, nothing
// more is delivered; the last event is "end" with data
// {"type":"end","reason":CAUSE}, CAUSE being context.Cause(lease).Error(),
// and ServeSSE returns. A lease already done gets that event instead of
// its snapshot. A nil lease, or one never done, never ends the stream. It
// costs nothing per viewer: the handler's goroutine waits on it.
//
// The stream outlives the server's ReadTimeout and WriteTimeout: ServeSSE
// clears the read deadline (which would otherwise cancel r's context once
// passed) and sets a write deadline of StuckAfter before each write.
func (h *Hub) ServeSSE(w http.ResponseWriter, r *http.Request, topics []string, lease context.Context) {
	names, key := canonical(topics)
	if len(names) == 0 {
		h.refuse(w, r, refusal{status: http.StatusBadRequest, reason: reasonNoTopics,
			body: "The stream request names no topics to subscribe to.\n"})
		return
	}
	lastTopic, lastN, hasLast := parseEventID(r.Header.Get("Last-Event-ID"))
	var leaseDone <-chan struct{} // nil: never
	if lease != nil {
		leaseDone = lease.Done()
	}

	v := &viewer{h: h, slot: -1, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.refuse(w, r, closedRefusal())
		return
	}
	h.conns.Add(1)
	defer h.conns.Done()
	g := h.join(v, names, key)
	h.mu.Unlock()
	v.spare = make([][]byte, len(names))
	v.spareN = make([]uint64, len(names))
	snap := make([][]byte, len(names))
	snapN := make([]uint64, len(names))
	for i, name := range g.names {
		if g.cur[i] != nil && !(hasLast && name == lastTopic && g.curN[i] == lastN) {
			snap[i], snapN[i] = g.cur[i], g.curN[i]
		}
	}
	v.mu.Lock()
	v.conflate(snap, snapN, time.Now())
	v.active = v.npending > 0 // the snapshot is data: no heartbeat this tick
	v.mu.Unlock()
	g.sh.mu.Unlock()
	h.met.viewersSSE.Inc()
	defer func() {
		v.stop()
		h.leave(v)
		h.met.viewersSSE.Dec()
	}()

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// The server's ReadTimeout must not end the stream: HTTP/1.1 clears the
	// connection's read deadline while a handler runs (net/http's
	// background read), HTTP/2 keeps a timer per stream; cleared here so
	// that neither matters. (ErrNotSupported: no deadlines to clear.)
	_ = rc.SetReadDeadline(time.Time{})

	ping := time.NewTicker(h.cfg.PingPeriod)
	defer ping.Stop()
	buf := []byte(": stream open\n\n") // sends the headers now: EventSource opens
	for {
		if leaseDone != nil {
			// Checked before every write, so that nothing leaves after
			// the lease has ended, not even what buf holds.
			select {
			case <-leaseDone:
				h.sseLeaseEnd(w, rc, buf[:0], r.RemoteAddr, lease)
				return
			default:
			}
		}
		if len(buf) > 0 {
			if err := h.sseWrite(w, rc, buf); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) && v.stuck.CompareAndSwap(false, true) {
					h.met.stuckSSE.Inc()
					h.log.Warn("stream: SSE viewer too slow, ending its stream", "remote", r.RemoteAddr, "stuck_after", h.cfg.StuckAfter)
				}
				return
			}
		}
		buf = buf[:0]
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-leaseDone: // ended at the top of the loop
		case <-ping.C:
			buf = append(buf, ": ping\n\n"...)
		case <-v.wake:
			var n int
			buf, n = v.appendEvents(buf)
			h.met.sentSSE.Add(float64(n))
		}
	}
}

// sseLeaseEnd sends the last event of a stream whose lease has ended.
func (h *Hub) sseLeaseEnd(w http.ResponseWriter, rc *http.ResponseController, buf []byte, remote string, lease context.Context) {
	reason := context.Cause(lease).Error()
	h.met.leaseEndsSSE.Inc()
	h.log.Debug("stream: lease ended, ending the stream", "transport", "sse", "remote", remote, "reason", reason)
	// Marshal escapes what would end the data line, and makes invalid
	// UTF-8 valid.
	quoted, _ := json.Marshal(reason)
	buf = append(buf, "event: end\ndata: "+`{"type":"end","reason":`...)
	buf = append(buf, quoted...)
	buf = append(buf, "}\n\n"...)
	_ = h.sseWrite(w, rc, buf)
}

// sseWrite writes and flushes buf; a write that takes longer than
// StuckAfter fails (over HTTP/1.1 with os.ErrDeadlineExceeded).
//
// The write deadline is set before each write and cleared after it. It
// replaces the one the server's WriteTimeout set for the whole response,
// and over HTTP/2 a write deadline that passes resets the stream even when
// no write is under way: left set, it would end a stream that stays idle
// (no frame, the next ping up to PingPeriod away) for StuckAfter.
func (h *Hub) sseWrite(w http.ResponseWriter, rc *http.ResponseController, buf []byte) error {
	// ErrNotSupported (a ResponseWriter without deadlines) leaves the
	// viewer without a stuck check, not without a stream.
	_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.StuckAfter))
	_, err := w.Write(buf)
	if err == nil {
		err = rc.Flush()
	}
	_ = rc.SetWriteDeadline(time.Time{})
	return err
}

// appendEvents takes v's pending messages and appends them as events, in
// topic order. It returns how many.
func (v *viewer) appendEvents(buf []byte) ([]byte, int) {
	v.mu.Lock()
	v.pending, v.spare = v.spare, v.pending
	v.pendingN, v.spareN = v.spareN, v.pendingN
	v.npending = 0
	msgs, ns, names := v.spare, v.spareN, v.g.names
	hb := v.beat
	v.beat = nil
	v.mu.Unlock()

	n := 0
	if hb != nil {
		n++
		buf = append(buf, "event: heartbeat\n"...)
		buf = appendData(buf, hb)
		buf = append(buf, '\n')
	}
	for i, m := range msgs {
		if m == nil {
			continue
		}
		n++
		buf = append(buf, "event: frame\nid: "...)
		buf = append(buf, names[i]...)
		buf = append(buf, ':')
		buf = strconv.AppendUint(buf, ns[i], 10)
		buf = append(buf, '\n')
		buf = appendData(buf, m)
		buf = append(buf, '\n')
	}
	clear(msgs)
	return buf, n
}

// appendData appends m as data lines: one per line of m, since a newline
// would otherwise end the field (compact JSON has none).
func appendData(buf, m []byte) []byte {
	for {
		i := -1
		for j, c := range m {
			if c == '\n' || c == '\r' {
				i = j
				break
			}
		}
		buf = append(buf, "data: "...)
		if i < 0 {
			buf = append(buf, m...)
			return append(buf, '\n')
		}
		buf = append(buf, m[:i]...)
		buf = append(buf, '\n')
		if m[i] == '\r' && i+1 < len(m) && m[i+1] == '\n' {
			i++
		}
		m = m[i+1:]
	}
}

// parseEventID splits "TOPIC:N".
func parseEventID(id string) (string, uint64, bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return id[:i], n, true
}
