package stream

// Watched reports whether some viewer (WebSocket or SSE) is subscribed to
// the topic now. The board asks it before it drops a filtered view as
// idle (charts.Config.Watched). Safe from any goroutine; it takes the
// hub's lock briefly.
func (h *Hub) Watched(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[name]
	return t != nil && len(t.refs) > 0
}
