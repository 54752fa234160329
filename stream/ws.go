package stream

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
)

const viewerKey = "dashd.stream.viewer"

// ServeWS checks the WebSocket handshake (refusing it with a status and a
// body that says why), upgrades, and streams topics to the connection: first
// the current message of each topic (one batch if several), then every
// tick. The caller resolves the request (?charts=, ?dashboard=) into topics
// and authorises it.
//
// ServeWS returns once the connection is upgraded (or refused); the session
// lives on in a goroutine of its own until the connection ends, and Close
// waits for it. The caller must not touch w after ServeWS returns (an
// upgraded connection is hijacked anyway), and r's context is cancelled
// when the caller returns: nothing of a live session depends on it.
//
// lease bounds the session's life (an embed token's expiry or
// revocation): once it is done, nothing more is delivered and the
// connection is closed with 1008 (policy violation), its reason being
// context.Cause(lease).Error() cut to the 123 bytes a close reason holds;
// counted in dashd_stream_lease_ends_total. A lease already done when the
// connection is upgraded gets that close instead of its snapshot. A nil
// lease, or one never done (context.Background()), never ends the
// session. It must not be r's context, nor derived from it: that one ends
// when ServeWS returns, and the session would end with it.
//
// The lease is watched with context.AfterFunc, released when the session
// ends first. A lease made by the context package (WithCancelCause,
// WithDeadlineCause, …) costs no goroutine while it waits, only its
// registration: about 200 bytes per viewer (BenchmarkIdleViewer), more if
// each viewer has a lease of its own rather than sharing one per token.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, topics []string, lease context.Context) {
	if ref, refused := h.checkHandshake(r); refused {
		h.refuse(w, r, ref)
		return
	}
	names, key := canonical(topics)
	if len(names) == 0 {
		h.refuse(w, r, refusal{status: http.StatusBadRequest, reason: reasonNoTopics,
			body: "The stream request names no topics to subscribe to.\n"})
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.refuse(w, r, closedRefusal())
		return
	}
	h.conns.Add(1)
	h.mu.Unlock()

	// melody runs the session's read loop on the goroutine that calls
	// HandleRequest. Run on this one, it would keep net/http's connection
	// alive for the viewer's life: its 4 KiB bufio reader and writer and
	// the deep stack of the handler chain (about 12 KiB per idle viewer).
	// So melody runs on a fresh goroutine, and this handler returns as soon
	// as the connection is hijacked: net/http then forgets the connection
	// and its serve goroutine ends. Until the hijack, melody may answer on
	// w (a refused upgrade), so the handler waits for that too.
	v := &viewer{h: h, slot: -1, remote: r.RemoteAddr}
	keys := map[string]any{viewerKey: &wsJoin{v: v, names: names, key: key, lease: lease}}
	signal := make(chan wsResult, 1)
	go h.runSession(&hijackWriter{w: w, signal: signal}, r, keys)
	out := <-signal
	switch {
	case out.hijacked:
	case out.panicked != nil:
		// As if it had happened here: the router's recovery answers it.
		panic(out.panicked)
	case errors.Is(out.err, melody.ErrClosed):
		h.refuse(w, r, closedRefusal())
	}
	// Other errors were answered by upgradeError.
}

// wsResult tells ServeWS that its session's goroutine hijacked the
// connection, or else how it ended.
type wsResult struct {
	hijacked bool
	err      error
	panicked any
}

// runSession is the goroutine of one WebSocket session: the upgrade, then
// melody's read loop until the connection ends.
func (h *Hub) runSession(hw *hijackWriter, r *http.Request, keys map[string]any) {
	defer h.conns.Done()
	remote := r.RemoteAddr
	var out wsResult
	defer func() {
		if p := recover(); p != nil {
			out.panicked = p
			if hw.hijacked {
				// Nobody else will report it: net/http has let go.
				h.log.Error("stream: bug: panic in a WebSocket session", "panic", p,
					"remote", remote, "stack", string(debug.Stack()))
			}
		}
		if !hw.hijacked {
			hw.signal <- out
		}
	}()
	out.err = h.m.HandleRequestWithKeys(hw, r, keys)
}

// hijackWriter is the ResponseWriter melody gets: it tells ServeWS when
// gorilla has hijacked the connection, so that the handler can return.
// After the hijack it no longer reaches the caller's writer, which the
// router may reuse for another request once the handler has returned.
// Only the session's goroutine uses it.
type hijackWriter struct {
	w        http.ResponseWriter // nil after the hijack
	signal   chan<- wsResult     // to ServeWS, once; nil after the hijack
	hijacked bool
}

func (hw *hijackWriter) Header() http.Header {
	if hw.hijacked {
		return http.Header{}
	}
	return hw.w.Header()
}

func (hw *hijackWriter) Write(p []byte) (int, error) {
	if hw.hijacked {
		return 0, http.ErrHijacked
	}
	return hw.w.Write(p)
}

func (hw *hijackWriter) WriteHeader(status int) {
	if !hw.hijacked {
		hw.w.WriteHeader(status)
	}
}

// Hijack hijacks the caller's connection and lets ServeWS return.
func (hw *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hw.hijacked {
		return nil, nil, http.ErrHijacked
	}
	hj, ok := hw.w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the server's ResponseWriter cannot be hijacked (HTTP/2 or a wrapper); WebSocket needs HTTP/1.1")
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	hw.hijacked = true
	hw.signal <- wsResult{hijacked: true}
	hw.w, hw.signal = nil, nil
	return c, brw, nil
}

// wsJoin carries a viewer and its subscription to wsConnect, in the
// session's Keys, which wsConnect then drops.
type wsJoin struct {
	v     *viewer
	names []string
	key   string
	lease context.Context // nil: none
}

// viewerOf returns the viewer of a session, nil before wsConnect and
// after wsDisconnect.
func (h *Hub) viewerOf(s *melody.Session) *viewer {
	v, _ := h.sessions.Load(s)
	vv, _ := v.(*viewer)
	return vv
}

// wsConnect subscribes a new session and queues its snapshot, under the
// same lock as Flush: a tick is either in the snapshot or delivered live
// after it, never both, never neither.
func (h *Hub) wsConnect(s *melody.Session) {
	j := s.Keys[viewerKey].(*wsJoin)
	v, names, key, lease := j.v, j.names, j.key, j.lease
	if lease != nil && lease.Done() == nil {
		lease = nil // never done: nothing to watch
	}
	v.ws = s
	// Kept, the handshake request (its headers, URL and context: about 1.5
	// KiB) and the Keys map (about 340 bytes) would stay for the viewer's
	// life. Nothing reads them after this: melody does not, and stream
	// finds the viewer in h.sessions and its address in v.remote. (A
	// write timeout reported after wsDisconnect, when the read side
	// failed first, is then not counted as stuck: the peer was gone.)
	s.Request, s.Keys = nil, nil
	h.sessions.Store(s, v)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = s.CloseWithMsg(websocket.FormatCloseMessage(websocket.CloseGoingAway, "server going away"))
		return
	}
	if lease != nil && lease.Err() != nil {
		// Ended before it began: no snapshot, the close says why.
		h.mu.Unlock()
		h.leaseEndWS(v, lease)
		return
	}
	h.join(v, names, key)
	if snap := v.g.snapshot(h.met); snap != nil {
		v.mu.Lock()
		v.write(snap, time.Now())
		v.mu.Unlock()
	}
	h.mu.Unlock()
	if lease != nil {
		// wsDisconnect, which releases it, runs after this returns (melody
		// calls both on the session's goroutine); f may run at once, on a
		// goroutine of its own, if the lease ended meanwhile.
		stop := context.AfterFunc(lease, func() { v.leaseEnded(lease) })
		v.mu.Lock()
		v.leaseStop = stop
		v.mu.Unlock()
	}
	h.met.viewersWS.Inc()
	h.log.Debug("stream: viewer connected", "transport", "ws", "remote", v.remote, "topics", len(names))
}

func (h *Hub) wsDisconnect(s *melody.Session) {
	vv, _ := h.sessions.LoadAndDelete(s)
	v, _ := vv.(*viewer)
	if v == nil {
		return // not connected (melody always calls wsConnect first)
	}
	v.stop()
	h.mu.Lock()
	joined := v.slot >= 0
	h.leave(v)
	h.mu.Unlock()
	if joined {
		h.met.viewersWS.Dec()
	}
	h.log.Debug("stream: viewer disconnected", "transport", "ws", "remote", v.remote)
}

func (h *Hub) wsSent(s *melody.Session, _ []byte) {
	h.met.sentWS.Inc()
	if v := h.viewerOf(s); v != nil {
		v.sent()
	}
}

// wsError must not take Hub.mu or viewer.mu: melody calls it from inside
// Session.Write, which stream calls holding them.
func (h *Hub) wsError(s *melody.Session, err error) {
	v := h.viewerOf(s) // nil while melody closes a session not yet connected
	remote := ""
	if v != nil {
		remote = v.remote
	}
	if errors.Is(err, melody.ErrMessageBufferFull) {
		h.met.overflows.Inc()
		h.log.Error("stream: bug: melody session buffer full, message dropped", "remote", remote)
		return
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "write" && ne.Timeout() {
		if v != nil && v.stuck.CompareAndSwap(false, true) {
			h.met.stuckWS.Inc()
			h.log.Warn("stream: write timed out, viewer disconnected", "remote", remote, "write_wait", h.cfg.WriteWait)
		}
		return
	}
	h.log.Debug("stream: session ended", "remote", remote, "err", err)
}
