package stream

import "time"

// HeartbeatPeriod is how often a quiet stream carries a heartbeat: a
// WebSocket text message {"type":"heartbeat","time":"RFC3339"}, an SSE
// event "heartbeat" with the same data. A viewer gets one when nothing of
// its topics went out during the last period, so that a client can tell a
// quiet server from a frozen one (a browser sees no WebSocket ping): the
// client turns stale after three periods with neither a frame nor a
// heartbeat (web/static/dashd-core.js). Clients ignore the types they do
// not know, so a heartbeat costs an older client nothing.
//
// Added by issue 19 (charts19-web) on the contract agreed with issue 17's
// stream work: one file, started from New, stopped by Close.
const HeartbeatPeriod = 2 * time.Second

// appendHeartbeat appends the heartbeat message of now.
func appendHeartbeat(b []byte, now time.Time) []byte {
	b = append(b, `{"type":"heartbeat","time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}

// appendSSEHeartbeat appends the heartbeat event of now.
func appendSSEHeartbeat(b []byte, now time.Time) []byte {
	b = append(b, "event: heartbeat\ndata: "...)
	b = appendHeartbeat(b, now)
	return append(b, "\n\n"...)
}

// heartbeats sends the WebSocket heartbeats every HeartbeatPeriod until
// the Hub closes. One goroutine per Hub; SSE viewers beat in their own
// handler's loop (ServeSSE), which has a goroutine anyway.
func (h *Hub) heartbeats() {
	t := time.NewTicker(HeartbeatPeriod)
	defer t.Stop()
	seen := map[*group]uint64{}
	for {
		select {
		case <-h.done:
			return
		case now := <-t.C:
			h.beat(now, seen)
		}
	}
}

// beat sends a heartbeat to each WebSocket viewer of a group none of whose
// topics published since the previous beat, and that has no message in
// flight (one in flight says enough, and a stuck viewer stays stuck).
// seen holds, per group, the sum of its topics' ids at the previous beat:
// it changes with every message published to the group. A group seen for
// the first time gets no beat: its viewers have just had their snapshot.
//
// Hub.mu is held only to pick the viewers (so that Publish and Flush do
// not wait for the writes); each write then takes its viewer's mu, and a
// viewer that left meanwhile is gone and skipped.
func (h *Hub) beat(now time.Time, seen map[*group]uint64) {
	var quiet []*viewer
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	for g := range seen {
		if h.groups[g.key] != g {
			delete(seen, g)
		}
	}
	for _, g := range h.groups {
		var sum uint64
		for _, t := range g.topics {
			sum += t.n
		}
		last, known := seen[g]
		seen[g] = sum
		if !known || last != sum {
			continue
		}
		for _, v := range g.members {
			if v.ws != nil {
				quiet = append(quiet, v)
			}
		}
	}
	h.mu.Unlock()
	if len(quiet) == 0 {
		return
	}
	msg := appendHeartbeat(nil, now)
	for _, v := range quiet {
		v.mu.Lock()
		if !v.gone && !v.busy {
			v.write(msg, now)
		}
		v.mu.Unlock()
	}
}
