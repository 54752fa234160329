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
// a 2xx answered for a sample means it is stored. A request too large for
// one message (over max_payload, 1 MB by default) is published as a
// JetStream atomic batch, so a request is stored whole or not at all. The
// subject is "dashd.samples.m.<metric token>" for a message of one metric and
// "dashd.samples.mixed" otherwise (SubjectOf). The stream keeps messages for
// Config.MaxAge and at most Config.MaxBytes, dropping the oldest.
//
// Follow reads the log in order with an ordered consumer and hands the
// decoded batches to a sink (the chart board), so every node shows exactly
// what was accepted, in the order it was stored. It reports when it has
// caught up with what the log held at its start; Replay stops there. A sink
// that is a PositionedSink is told the stream sequence of each batch, and
// ReplayThrough (a charts.History) reads the log again up to a given
// sequence, so a board can fill a chart defined while it runs.
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
// Concurrency: Accept, PutDashboard, DeleteDashboard and Dashboards may be
// called from any goroutine at once. Follow and WatchDashboards block in the
// caller's goroutine until their context ends; any number may run. Close
// must come after every Follow and WatchDashboards has returned and no
// Accept is in flight.
package journal
