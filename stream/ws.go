package stream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ServeWS checks the WebSocket handshake (refusing it with a status and a
// body that says why), upgrades, and streams topics to the connection: first
// the current message of each topic (one batch if several), then every
// tick. The caller resolves the request (?charts=, ?dashboard=) into topics
// and authorises it.
//
// ServeWS returns once the connection is upgraded (or refused); the session
// lives on in goroutines of its own until the connection ends, and Close
// waits for it. The caller must not touch w after ServeWS returns (an
// upgraded connection is hijacked anyway), and r's context is cancelled
// when the caller returns: nothing of a live session depends on it.
//
// When the client offers permessage-deflate (browsers do), it is
// negotiated, and each message is compressed once for all the viewers it
// goes to. A request with ?delta=1 gets delta frames (see makeDelta)
// where they are shorter; without it, the frames as published.
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
	upgraded := false
	defer func() {
		if !upgraded { // refused inside the upgrade, or a panic: no session
			h.conns.Done()
		}
	}()

	// The upgrade runs here; the session's read loop and writer run on
	// goroutines of their own, and this handler returns once the
	// connection is hijacked: net/http then forgets the connection, its
	// 4 KiB bufio reader and writer and the deep stack of the handler
	// chain (about 12 KiB per idle viewer), and its serve goroutine ends.
	c, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return // answered by upgradeError
	}
	upgraded = true
	v := &viewer{h: h, slot: -1, remote: r.RemoteAddr, delta: r.URL.Query().Get("delta") == "1"}
	go h.runSession(v, c, names, key, lease)
}

// wsOut is one message for a session's writer: data, or a close frame's
// payload (the last message).
type wsOut struct {
	pm    *prepared
	close []byte
}

// wsConn is the write side of one WebSocket session: a queue drained by
// one writer goroutine, the connection's only writer (gorilla allows one),
// which also sends the pings.
type wsConn struct {
	h    *Hub
	c    *websocket.Conn
	out  chan wsOut    // capacity wsQueue
	quit chan struct{} // closed when the session ends
	once sync.Once
}

// wsQueue bounds a session's queue. A viewer has at most one data message
// in flight, plus a heartbeat and a close or two: a full queue is a bug,
// counted in dashd_stream_buffer_overflows_total.
const wsQueue = 4

// send queues m without blocking. After the session ended it is dropped.
func (ws *wsConn) send(m wsOut) {
	select {
	case <-ws.quit:
		return
	default:
	}
	select {
	case ws.out <- m:
	default:
		ws.h.met.overflows.Inc()
		ws.h.log.Error("stream: bug: session queue full, message dropped", "remote", ws.c.RemoteAddr().String())
	}
}

// end stops the writer; idempotent.
func (ws *wsConn) end() { ws.once.Do(func() { close(ws.quit) }) }

// runSession is the life of one upgraded WebSocket session on its own
// goroutine: connect, then the read loop until the connection ends.
func (h *Hub) runSession(v *viewer, c *websocket.Conn, names []string, key string, lease context.Context) {
	defer h.conns.Done()
	defer func() {
		if p := recover(); p != nil {
			// Nobody else will report it: net/http has let go.
			h.log.Error("stream: bug: panic in a WebSocket session", "panic", p,
				"remote", v.remote, "stack", string(debug.Stack()))
			_ = c.Close()
		}
	}()
	v.ws = &wsConn{h: h, c: c, out: make(chan wsOut, wsQueue), quit: make(chan struct{})}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(v)
	}()
	joined := h.wsConnect(v, names, key, lease)

	// Viewers send nothing meaningful; anything large is abuse (gorilla
	// closes with 1009). Pongs keep the read deadline moving.
	c.SetReadLimit(maxInbound)
	_ = c.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
	c.SetPongHandler(func(string) error {
		return c.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
	})
	for {
		if _, _, err := c.NextReader(); err != nil {
			h.wsError(v, err)
			break
		}
	}
	v.ws.end()
	<-writerDone
	if joined {
		h.wsDisconnect(v)
	}
}

// maxInbound is the largest message a viewer may send.
const maxInbound = 512

// writeLoop is the session's writer: queued messages in order, and a ping
// every PingPeriod. It closes the connection when it ends: after a close
// frame, a failed write, or when the session ends.
func (h *Hub) writeLoop(v *viewer) {
	ws := v.ws
	defer ws.c.Close()
	ping := time.NewTicker(h.cfg.PingPeriod)
	defer ping.Stop()
	for {
		select {
		case m := <-ws.out:
			deadline := time.Now().Add(h.cfg.WriteWait)
			if m.close != nil {
				_ = ws.c.WriteControl(websocket.CloseMessage, m.close, deadline)
				return
			}
			_ = ws.c.SetWriteDeadline(deadline)
			// Without compression negotiated, this changes nothing.
			ws.c.EnableWriteCompression(m.pm.compress)
			if err := ws.c.WritePreparedMessage(m.pm.pm); err != nil {
				h.wsError(v, err)
				return
			}
			v.sent()
			h.met.sentWS.Inc() // after sent: a test that sees it sees v idle
		case <-ping.C:
			if err := ws.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteWait)); err != nil {
				h.wsError(v, err)
				return
			}
		case <-ws.quit:
			return
		}
	}
}

// wsConnect subscribes a new session and queues its snapshot, under the
// same lock as Flush hands a tick to the group: a tick is either in the
// snapshot or delivered live after it, never both, never neither. It
// reports whether the viewer joined.
func (h *Hub) wsConnect(v *viewer, names []string, key string, lease context.Context) bool {
	if lease != nil && lease.Done() == nil {
		lease = nil // never done: nothing to watch
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		v.ws.send(wsOut{close: websocket.FormatCloseMessage(websocket.CloseGoingAway, "server going away")})
		return false
	}
	if lease != nil && lease.Err() != nil {
		// Ended before it began: no snapshot, the close says why.
		h.mu.Unlock()
		h.leaseEndWS(v, lease)
		return false
	}
	g := h.join(v, names, key)
	h.mu.Unlock()
	if snap := g.snapshot(h.met); snap != nil {
		v.mu.Lock()
		v.active = true
		v.write(snap, time.Now())
		v.mu.Unlock()
	}
	g.sh.mu.Unlock()
	if lease != nil {
		// wsDisconnect, which releases it, runs after this returns (both
		// on the session's goroutine); f may run at once, on a goroutine
		// of its own, if the lease ended meanwhile.
		stop := context.AfterFunc(lease, func() { v.leaseEnded(lease) })
		v.mu.Lock()
		v.leaseStop = stop
		v.mu.Unlock()
	}
	h.met.viewersWS.Inc()
	h.log.Debug("stream: viewer connected", "transport", "ws", "remote", v.remote, "topics", len(names))
	return true
}

func (h *Hub) wsDisconnect(v *viewer) {
	v.stop()
	h.leave(v)
	h.met.viewersWS.Dec()
	h.log.Debug("stream: viewer disconnected", "transport", "ws", "remote", v.remote)
}

// wsError reports how a session's read or write ended. It takes no lock
// of the Hub's.
func (h *Hub) wsError(v *viewer, err error) {
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "write" && ne.Timeout() {
		if v.stuck.CompareAndSwap(false, true) {
			h.met.stuckWS.Inc()
			h.log.Warn("stream: write timed out, viewer disconnected", "remote", v.remote, "write_wait", h.cfg.WriteWait)
		}
		return
	}
	h.log.Debug("stream: session ended", "remote", v.remote, "err", err)
}

// upgradeHint adds what to do to gorilla's reason for a failed upgrade.
func upgradeHint(reason string) string {
	if strings.Contains(reason, "hijack") {
		return reason + " (the server's ResponseWriter cannot be hijacked: HTTP/2 or a wrapper; WebSocket needs HTTP/1.1)"
	}
	return reason
}
