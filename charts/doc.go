// Package charts owns what a chart is and what it shows now.
//
// It holds the definitions (Chart, Dashboard, with their validation), the
// live state of each chart (View: windowed aggregates, time buckets, top N,
// cardinality limits), the Board that owns every View, the Frame that a
// chart's state is sent as, and the ECharts option of a chart, built with
// go-echarts, which stays inside this package.
//
// Concurrency: a View is not safe for concurrent use. The Board owns all
// Views in the one goroutine of Board.Run: it applies accepted batches in
// order, marks charts dirty, and at most MaxFPS times a second per chart
// builds each dirty chart's frame, encodes it once and hands the bytes to a
// Publisher. Every other Board method may be called from any goroutine.
//
// A frame is the full state of a chart's data, so the newest frame always
// wins and an older one may be skipped; Seq rises with every frame.
//
// charts imports ingest for Sample only.
package charts
