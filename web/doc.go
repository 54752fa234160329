// Package web serves dashd's pages and the browser client: the list of
// dashboards (/), a dashboard (/d/{id}), one chart alone for an iframe
// (/embed/{chart}) and the static files (/static/…), among them the Apache
// ECharts bundle, all embedded in the binary.
//
// Pages carry no data and no inline script: each chart element names its
// chart in data- attributes, and web/static/dashd.js fetches the chart's
// option from the API and follows the live stream. The charts are drawn
// by web/static/dashd-paint.js in dedicated workers (/static/paint-worker.js,
// composed here so that it imports the exact versions the page names; a
// pool of one per core less one, at most four, each chart given to one) on
// canvases handed to them, or in the page where the browser cannot. A
// chart off screen or in a hidden tab is not drawn until it is shown, and
// then draws its newest frame at once; each chart has at most one frame on
// its way to its painter. Numbers
// are written by web/static/dashd-format.js, the twin of charts/format.go
// (one table of test vectors, charts/testdata/format.json, holds both to
// the same answers), with the format the option carries. Every string that comes
// from a definition (titles, ids, units) goes through html/template, and a
// Content-Security-Policy of 'self' stands behind it.
//
// web/static/dashd-a11y.js makes the live charts usable by keyboard and
// screen reader (docs/accessibility.md): each chart element is a tab stop
// named by its title and described in words from the frame on screen, with
// the page-wide Pause/Live control, patterns and palettes. Pages are sent
// gzipped to clients that accept it.
//
// A chart element also carries what the page around it needs (issue 19):
// its place (data-height; data-width on its card) and what its empty
// state says (data-metric, data-lookback in seconds, data-sample: a sample
// it would show, as JSON, for a one-line curl). theme.js runs the theme
// toggle of every page, the list of dashboards included.
//
// What web needs from the rest of dashd is the Catalog it declares; the
// handler built by Handler is safe for concurrent use and holds no state
// that changes after it is built.
package web
