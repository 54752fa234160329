package stream

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
)

const viewerKey = "dashd.stream.viewer"

// ServeWS checks the WebSocket handshake (refusing it with a status and a
// body that says why), upgrades, and streams topics to the connection: first
// the current message of each topic (one batch if several), then every
// tick. The caller resolves the request (?charts=, ?dashboard=) into topics
// and authorises it. ServeWS blocks until the connection ends.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, topics []string) {
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
	defer h.conns.Done()

	v := &viewer{h: h, slot: -1}
	err := h.m.HandleRequestWithKeys(w, r, map[string]any{viewerKey: &wsJoin{v: v, names: names, key: key}})
	if errors.Is(err, melody.ErrClosed) {
		h.refuse(w, r, closedRefusal())
	}
	// Other errors were answered by upgradeError.
}

// wsJoin carries a viewer and its subscription to wsConnect.
type wsJoin struct {
	v     *viewer
	names []string
	key   string
}

func joinOf(s *melody.Session) *wsJoin {
	j, _ := s.Keys[viewerKey].(*wsJoin)
	return j
}

// wsConnect subscribes a new session and queues its snapshot, under the
// same lock as Flush: a tick is either in the snapshot or delivered live
// after it, never both, never neither.
func (h *Hub) wsConnect(s *melody.Session) {
	j := joinOf(s)
	v := j.v
	v.ws = s
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = s.CloseWithMsg(websocket.FormatCloseMessage(websocket.CloseGoingAway, "server going away"))
		return
	}
	h.join(v, j.names, j.key)
	var snap [][]byte
	n := 0
	for _, t := range v.g.topics {
		if t.cur != nil {
			n++
		}
	}
	if n > 0 {
		snap = make([][]byte, len(v.g.topics))
		for i, t := range v.g.topics {
			snap[i] = t.cur
		}
	}
	v.mu.Lock()
	switch {
	case n == 1:
		for _, f := range snap {
			if f != nil {
				v.write(f, time.Now())
			}
		}
	case n > 1:
		h.met.batches.Inc()
		v.write(appendBatch(nil, snap), time.Now())
	}
	v.mu.Unlock()
	h.mu.Unlock()
	h.met.viewersWS.Inc()
	h.log.Debug("stream: viewer connected", "transport", "ws", "remote", s.Request.RemoteAddr, "topics", len(j.names))
}

func (h *Hub) wsDisconnect(s *melody.Session) {
	v := joinOf(s).v
	v.stop()
	h.mu.Lock()
	joined := v.slot >= 0
	h.leave(v)
	h.mu.Unlock()
	if joined {
		h.met.viewersWS.Dec()
	}
	h.log.Debug("stream: viewer disconnected", "transport", "ws", "remote", s.Request.RemoteAddr)
}

func (h *Hub) wsSent(s *melody.Session, _ []byte) {
	h.met.sentWS.Inc()
	joinOf(s).v.sent()
}

// wsError must not take Hub.mu or viewer.mu: melody calls it from inside
// Session.Write, which stream calls holding them.
func (h *Hub) wsError(s *melody.Session, err error) {
	if errors.Is(err, melody.ErrMessageBufferFull) {
		h.met.overflows.Inc()
		h.log.Error("stream: bug: melody session buffer full, message dropped", "remote", s.Request.RemoteAddr)
		return
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "write" && ne.Timeout() {
		if v := joinOf(s).v; v.stuck.CompareAndSwap(false, true) {
			h.met.stuckWS.Inc()
			h.log.Warn("stream: write timed out, viewer disconnected", "remote", s.Request.RemoteAddr, "write_wait", h.cfg.WriteWait)
		}
		return
	}
	h.log.Debug("stream: session ended", "remote", s.Request.RemoteAddr, "err", err)
}
