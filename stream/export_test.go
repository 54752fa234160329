package stream

// Beat runs one heartbeat tick now, for tests that set HeartbeatEvery < 0
// and drive the ticks themselves.
func Beat(h *Hub) { h.heartbeat() }
