// Package stream moves encoded frames from the board to browsers: topics to
// sessions, over WebSocket (melody on gorilla/websocket) with a Server-Sent
// Events fallback. It knows topics and bytes, nothing of charts.
//
// # What it owns
//
//   - The current (retained) message of every topic, sent first to each new
//     subscriber as its snapshot, then the live ticks, with no gap and no
//     reorder in between.
//   - The index of subscribers: viewers are grouped by their sorted topic set
//     (all viewers of one dashboard form one group) and groups are indexed
//     per topic, so a tick costs one pass over the groups that read a changed
//     topic, and one batch payload per group, not per viewer.
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
//     and melody sets its own (PongWait, WriteWait); SSE clears the read
//     deadline and sets a write deadline of StuckAfter before each write.
//
// # Wire
//
// Each WebSocket text message is one message as published, or, when several
// of a viewer's topics changed together, {"type":"batch","frames":[m1,m2,…]}
// made by concatenating the published bytes. Messages are never re-encoded.
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
// and the session goes on in a goroutine of its own (so that net/http's
// per-connection buffers and the handler's stack are not kept for the
// viewer's life). Close may be called once from any goroutine; after it,
// Publish and Flush return at once and new requests are answered 503, and
// Close waits for the sessions to end.
package stream
