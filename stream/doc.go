// Package stream moves encoded frames from the board to browsers: topics to
// sessions, over WebSocket (gorilla/websocket) with a Server-Sent Events
// fallback. It knows topics and bytes, nothing of charts, besides the
// envelope of CONTRACT.md's messages (a frame's leading type and chart, for
// deltas; batch and heartbeat, which it writes).
//
// # What it owns
//
//   - The current (retained) message of every topic, sent first to each new
//     subscriber as its snapshot, then the live ticks, with no gap and no
//     reorder in between.
//   - The index of subscribers: viewers are grouped by their sorted topic set
//     (all viewers of one dashboard form one group) and groups are indexed
//     per topic, so a tick costs one pass over the groups that read a changed
//     topic, and one batch payload per group, not per viewer. Groups are
//     spread over shards, each with its own lock: a tick is committed
//     under the Hub's lock, then handed to viewers one shard at a time,
//     so no one lock is held across all viewers (as centrifuge shards
//     its hub).
//   - The write side of each WebSocket: one writer goroutine per session,
//     its only writer, writing gorilla PreparedMessages, so that a group's
//     message is framed once and, where the client offered
//     permessage-deflate (browsers do), compressed once for all its
//     viewers (melody, used before, could not write a prepared message).
//     Messages under 128 bytes go uncompressed. Pings every PingPeriod.
//   - Heartbeats (heartbeat.go): every HeartbeatEvery, one goroutine of
//     the Hub's sends {"type":"heartbeat","time":RFC3339} to the viewers
//     that were sent nothing since the last tick (SSE: event heartbeat).
//   - Delta frames (delta.go) for WebSocket viewers that ask (?delta=1):
//     made once per topic and tick against the group's previous frame,
//     sent only to viewers that have it (not busy); others get frames
//     whole.
//   - The slow-viewer policy. Each viewer has at most one message in flight.
//     While it is in flight, newer ticks are conflated into one pending slot
//     per topic (frames are full state: the newest wins); when the write
//     completes, the pending frames leave as one batch. A viewer with
//     undelivered data older than Config.StuckAfter is closed with 1013
//     (try again later) and counted.
//   - The WebSocket handshake policy: same origin, or an origin listed in
//     Config.AllowedOrigins (the setting stream.allowed_origins); every
//     refusal gets a status and a plain-text body that says what was wrong
//     and what to do, is logged once and counted by reason.
//   - Each viewer's lease: a context.Context given to ServeWS or ServeSSE
//     (an embed token's life, say; stream knows nothing of tokens). When it
//     is done, nothing more is delivered to that viewer and its stream ends
//     at once, saying why (context.Cause): see Wire. The caller ends a lease
//     by cancelling it with a cause, or makes it with a deadline.
//   - Streams that outlive the HTTP server's ReadTimeout and WriteTimeout:
//     a WebSocket is hijacked (net/http and gorilla clear its deadlines)
//     and its session sets its own (PongWait, WriteWait); SSE clears the read
//     deadline and sets a write deadline of StuckAfter before each write.
//
// # Wire
//
// Each WebSocket text message is one message as published, or, when several
// of a viewer's topics changed together, {"type":"batch","frames":[m1,m2,…]}
// made by concatenating the published bytes. Messages are never re-encoded.
// With ?delta=1, a frame may come as a delta instead (delta.go). An idle
// viewer gets heartbeats (heartbeat.go).
// SSE sends each message as its own event: "event: frame", "id: TOPIC:N",
// "data: MSG". N is opaque: a per-topic counter that starts at a random base
// chosen when the Hub is made, so an id issued by another process (a restart,
// another node) practically never matches and the frame is resent.
//
// How a stream ends, and why:
//
//   - WebSocket close 1001 (going away): the Hub closed (shutdown).
//   - WebSocket close 1013 (try again later): the viewer was stuck.
//   - WebSocket close 1008 (policy violation): its lease ended; the reason
//     is the lease's cause (context.Cause(lease).Error(), made valid UTF-8
//     and cut at a rune boundary to the 123 bytes a close reason holds),
//     e.g. "embed token expired". A client should not reconnect with the
//     same credentials.
//   - SSE: when its lease ends, the last event is
//     "event: end" with data {"type":"end","reason":"…"} (the whole cause),
//     then the response ends. An EventSource would reconnect: a client
//     closes it on this event (clients that ignore unknown types reconnect
//     and are refused by the caller's authorisation, which ends an
//     EventSource too). On Close or when stuck, the response just ends.
//
// # Concurrency
//
// Publish and Flush are called from one goroutine (the board's). ServeWS and
// ServeSSE are called from many (one per request). ServeSSE blocks for the
// life of the connection; ServeWS returns once the connection is upgraded,
// and the session goes on in two goroutines of its own, a reader and a
// writer (so that net/http's per-connection buffers and the handler's stack
// are not kept for the viewer's life). Locks: Hub.mu, then a shard's, then
// a viewer's (hub.go says what each guards). Close may be called once from any goroutine; after it,
// Publish and Flush return at once and new requests are answered 503, and
// Close waits for the sessions to end.
package stream
