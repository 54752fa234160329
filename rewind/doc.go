// Package rewind owns time travel: what a chart would have shown at a past
// moment T, computed again from the log, and the rolling of that state
// forward for a replay.
//
// A moment is computed for a whole set of charts at once (a dashboard: one
// pass over the log for all of them). The log position of T is the last
// message stored at or before T (Log.PositionAt). Each chart starts from
// the newest checkpoint at or before that position whose state was taken
// for the chart's definition as it is now (Checkpoints, charts.RestoreView),
// or else empty, fed from the oldest message its window needs at T
// (T − lookback − MaxFuture); then every batch up to the position is
// applied as of T (charts.View.Add(s, T)) and the frame is built as of T
// (View.Frame(T)). The result is a function of the log, the definitions
// and T only: the same on every node and after every restart, with or
// without a checkpoint. Push charts are not in the log: their frame is left
// to the caller.
//
// Rewinds are bounded and shared: the same (set, moment) asked for by
// several callers at once is computed once (Rewinder.Moment); a
// computation whose last caller has gone is cancelled; at most
// Config.MaxRewinds run at once and, beyond the first, only while the
// cells their views may hold fit Config.MaxCells together; past that a
// caller gets a *BusyError (429 with Retry-After at the edge). Replays
// (Rewinder.Replay) are bounded in number by Config.MaxReplays.
//
// Scrubbing must not slow live viewers or ingest: a rewind reads the log
// without a consumer (journal.ReplayRange's direct gets), reads the
// checkpoint it starts from once for many moments (the two read last are
// kept, 10 s at most, with the log positions each is known to answer for:
// checkpoints.go), and yields to the scheduler every 256 samples it folds,
// stopping there once no caller waits for it.
//
// The interfaces it needs of the journal are declared here (Log,
// Replayer, Checkpoints), one or two methods each; journal.Journal
// satisfies them. Every method of a Rewinder may be called from any
// goroutine; a Replay is used by one goroutine.
package rewind
