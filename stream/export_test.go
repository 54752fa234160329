package stream

// Beat runs one heartbeat tick now, for tests that set HeartbeatEvery < 0
// and drive the ticks themselves.
func Beat(h *Hub) { h.heartbeat() }

// ApplyDelta rebuilds a frame from the previous one and a delta message.
var ApplyDelta = applyDelta
