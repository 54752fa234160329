// Package journal is dashd's memory: the log of accepted samples and the
// store of dashboard definitions, both in NATS JetStream.
//
// It owns an embedded nats-server (no port, its store under Config.Dir/nats,
// or in memory when Dir is empty) or, with Config.URL, a connection to an
// external NATS; the code path after connecting is the same.
//
// The log is the stream DASHD_SAMPLES. Accept (an ingest.Sink) encodes a
// request's samples as one message in a compact, versioned binary format
// (see formatV1 in codec.go) and returns only once JetStream acknowledged it:
// a 2xx answered for a sample means it is stored. A failure comes within
// Config.AckTimeout (2 s) and says what is known: while NATS is away Accept
// refuses at once and nothing is buffered to be sent later, so a refused
// request stores nothing; a request sent whose ack is lost is resent with
// the same Nats-Msg-Id (so stored once) while the bound allows, and only
// otherwise answered as "may be stored" (see Accept). A request too large for
// one message (over max_payload, 1 MB by default) is published as a
// JetStream atomic batch, so a request is stored whole or not at all. The
// subject is "dashd.samples.m.<metric token>" for a message of one metric and
// "dashd.samples.mixed" otherwise (SubjectOf); a message carrying running
// totals (format v2) is on "dashd.samples.running". The stream keeps messages for
// Config.MaxAge and at most Config.MaxBytes, dropping the oldest.
//
// Follow reads the log in order with an ordered consumer and hands the
// decoded batches to a sink (the chart board), so every node shows exactly
// what was accepted, in the order it was stored. FollowSupervised does the
// same and never gives up before its context ends: a follower that fails
// starts again after the last batch the sink took. It reports when it has
// caught up with what the log held at its start; Replay stops there. A sink
// that is a PositionedSink is told the position (stream sequence and the
// log's timestamp) of each batch, and ReplayThrough (a charts.History)
// reads the log again up to a given sequence, so a board can fill a chart
// defined while it runs. FollowConfig.After starts a follower after a
// given sequence (a checkpoint's), and ReplayRange hands the batches
// between two sequences with their positions. ReplayRange, which every
// rewind and replay step calls, reads by batched direct gets (the stream
// allows them): no consumer is made per call, and it stops asking the
// moment its context ends; a consumer reads the rest only when the direct
// reads stop short (a lagging replica, a server that cannot batch).
//
// The determinism rule: every reader of the log clamps each decoded
// sample's time to the log's timestamp of its message (a sample without a
// time, or from the future, gets that timestamp). So a chart's state is a
// function of the log alone: the same on every node, live or replayed,
// with or without a checkpoint.
//
// Running totals (OTLP cumulative points, ingest.Sample.Running) are
// stored as they came and turned into increases by every reader, in log
// order, with a table of its own (ingest.Cumulative, running.go): a reader
// that starts after a position or since a time first warms its table with
// the running totals stored in ingest.CumulativeLookback before it (their
// own subject), so a follower, a replay and a rewind count the same
// increases as a reader of the whole log. No sink ever sees a running
// total.
//
// Checkpoints of the charts' state live in the object store
// dashd-checkpoints (checkpoint.go), one object per checkpoint, named by
// the zero-padded sequence of its position, with the position, encoding
// version and size in its metadata; every node reads it. A checkpoint is
// used only while the log still holds the message at its position (same
// sequence, same timestamp: Retains), so the log after it is whole.
// Bounds gives the log's first and last positions, and PositionAt the
// position of a moment (a get by time, not a scan).
//
// Dashboards live in the key-value bucket dashd_dashboards: key the id (with
// '.' written '='), value the charts.Dashboard as JSON. WatchDashboards
// calls back with the whole set after every change from any node. The
// journal stores what it is given: validation belongs to charts and to the
// caller, before PutDashboard.
//
// The data of push charts (PUT /api/v1/charts/{id}/data) lives in the
// bucket dashd_pushdata: key the chart id (as above), value PushData as
// JSON. PutData stores it; WatchData follows it on every node.
//
// Revoked embed tokens live in the bucket dashd_revoked: key the jti
// (hex or base64url, checked by CheckJTI, so never a wildcard), value JSON
// {expires, revoked}, each key with a TTL of its token's remaining life
// plus an hour. Revoke stores one; WatchRevocations follows them on every
// node.
//
// Concurrency: Accept, PutDashboard, DeleteDashboard, Dashboards, PutData,
// Revoke, the checkpoint methods, Bounds, PositionAt, ReplayRange and
// ReplayThrough may be called from any goroutine at once. Follow,
// FollowSupervised and the Watch methods block in the caller's goroutine
// until their context ends; any number may run. Close must come after
// every one of those has returned and no Accept is in flight.
package journal
