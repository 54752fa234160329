// Package api serves dashd's HTTP surface on top of the access table: it
// mounts every route of access.Routes on one gin engine (NewRouter), asks
// the access.Policy about each request before its handler runs, and writes
// every refusal in one JSON error body (WriteError). It also holds the
// handlers of the definitions API (dashboards, charts, frames, options,
// push data), of embed tokens and of the stream endpoints; ingest, pages
// and operations handlers come from their own packages through
// RouterConfig.Handlers.
//
// gin stays inside this package: handlers are plain http.Handlers that read
// path values with r.PathValue. Handlers are safe for concurrent use.
package api
