// Package charts owns what a chart is and what it shows now.
//
// It holds the definitions (Chart, Dashboard, with their validation), the
// live state of each chart (View: windowed aggregates, time buckets, top N,
// cardinality limits), the Board that owns every View, the Frame that a
// chart's state is sent as, and the ECharts option of a chart, built with
// go-echarts, which stays inside this package: its label layout, its
// labelled thresholds, and the chart's NumberFormat (format.go), whose
// twin for the browser is web/static/dashd-format.js.
//
// Concurrency: a View is not safe for concurrent use. The Board owns all
// Views in the one goroutine of Board.Run: it applies accepted batches in
// order, marks charts dirty, and at most MaxFPS times a second per chart
// builds each dirty chart's frame, encodes it once and hands the bytes to a
// Publisher. A read (Board.Frame, Board.Option) sees every change applied
// before it: it builds the chart's next frame if need be, but viewers get
// that frame only at the next of those flushes, so reads never make frames
// reach viewers faster than MaxFPS. Every other Board method may be called
// from any goroutine.
//
// Bounds: every cost a definition can ask for has a ceiling (MaxCharts,
// MaxDashboards, MaxChartsPerDashboard, MaxChartCells, MaxBuckets, MaxTop),
// checked by Dashboard.Check, CheckDashboard and CheckDashboards, which
// SetDashboards runs; a View holds at most MaxChartCells accumulators
// whatever arrives, and none before its first sample.
//
// A chart defined while the Board runs would start empty. When the Board is
// fed from a log (Config.History, AcceptAt) it knows the Position of the
// last batch it applied, and fills such a chart from the log up to
// exactly that position in the background, while later batches reach it
// live: the chart ends as if it had been defined from the start, on every
// node alike.
//
// Checkpoints: the state of every metric chart at a log position
// (Board.Checkpoint; the board's goroutine only copies the views, the
// caller encodes them), versioned and checksummed (Checkpoint.MarshalBinary).
// A Board started from one (Config.Start) restores each chart whose
// definition hashes as its state's (Chart.Hash), fills the others from the
// log through the checkpoint's position, and goes on from that position:
// its frames are those of a board fed the whole log. A View's state
// (View.MarshalState, RestoreView) is exact: a restored view builds the
// same frames as the original for any later samples. RestoreView and
// Checkpoint.UnmarshalBinary refuse a corrupt or hostile input with an
// error and allocate no more than its length and the chart limits allow.
// The journal clamps each sample's time to its log timestamp before the
// board sees it, so that a view's state is a function of the log.
//
// A frame is the full state of a chart's data, so the newest frame always
// wins and an older one may be skipped; Seq rises with every frame.
//
// Filtered views (filtered.go, issue 15): a chart seen through a tag
// filter (an embed token's where), made on its first reader, filled from
// the log, shared by its readers, bounded (Config.MaxFilteredViews) and
// dropped when idle. A sample the chart reads reaches its tenant's view
// without a second Matches; a view nobody holds or watches builds no
// frames. Narrow is the same chart as a definition of its own, for those
// that compute it apart from the board (a rewind with a filtered token).
//
// charts imports ingest for Sample only.
package charts
