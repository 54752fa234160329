package access

import "net/http"

// Class says who may call a route. See the package documentation.
type Class int

// The access classes. The zero Class is no class: refused.
const (
	Public Class = iota + 1
	Read
	Ingest
	Push
	Admin
)

func (c Class) String() string {
	switch c {
	case Public:
		return "public"
	case Read:
		return "read"
	case Ingest:
		return "ingest"
	case Push:
		return "push"
	case Admin:
		return "admin"
	}
	return "none"
}

// Dialect is the error body a route's clients read.
type Dialect int

const (
	// JSON is dashd's one error body: {"error":"…","reason":"…","details":[…]}.
	JSON Dialect = iota
	// Influx adds InfluxDB 2's "code" and "message", which Telegraf and the
	// InfluxDB client libraries show.
	Influx
)

// Target says what a Read route reads, so that an embed token's scope can be
// checked against it.
type Target int

const (
	// Everything is a list of every dashboard: admin tokens only.
	Everything Target = iota
	// DashboardParam reads the dashboard named by the path value "id".
	DashboardParam
	// ChartParam reads the chart named by the path value "id" ("chart" on
	// /embed/{chart}).
	ChartParam
	// StreamQuery reads ?dashboard=ID or ?charts=a,b.
	StreamQuery
	// AnyReader reads nothing of a chart or dashboard (the log's bounds):
	// any reader may, an admin token or any valid embed token.
	AnyReader
)

// Route is one row of the table: a method and a path pattern (net/http's
// syntax, "/api/v1/charts/{id}"; "{path...}" matches the rest), its class,
// and how its refusals are written.
type Route struct {
	Method  string
	Path    string
	Class   Class
	Dialect Dialect
	// Target is what a Read route reads (ignored for other classes).
	Target Target
	// CrossOrigin routes may be read by the pages of embed.allowed_parents
	// (CORS): what <dashd-chart> fetches. The WebSocket has its own origin
	// check.
	CrossOrigin bool
}

// Key is "METHOD PATH", the route's name in the table.
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes is the table of every route dashd serves. HEAD is served wherever
// GET is, with the GET route's class; OPTIONS answers CORS preflights of the
// CrossOrigin routes. Nothing else is served.
func Routes() []Route {
	const (
		get    = http.MethodGet
		post   = http.MethodPost
		put    = http.MethodPut
		delete = http.MethodDelete
	)
	return []Route{
		// Ingest: pushing samples.
		{Method: post, Path: "/api/v1/ingest", Class: Ingest},
		{Method: post, Path: "/write", Class: Ingest, Dialect: Influx},
		{Method: post, Path: "/api/v2/write", Class: Ingest, Dialect: Influx},
		{Method: post, Path: "/api/v1/import/prometheus", Class: Ingest},
		{Method: post, Path: "/api/v1/write", Class: Ingest},
		{Method: post, Path: "/v1/metrics", Class: Ingest},

		// Definitions and data.
		{Method: get, Path: "/api/v1/dashboards", Class: Read, Target: Everything},
		{Method: get, Path: "/api/v1/dashboards/{id}", Class: Read, Target: DashboardParam},
		{Method: put, Path: "/api/v1/dashboards/{id}", Class: Admin},
		{Method: delete, Path: "/api/v1/dashboards/{id}", Class: Admin},
		{Method: get, Path: "/api/v1/charts/{id}", Class: Read, Target: ChartParam, CrossOrigin: true},
		{Method: get, Path: "/api/v1/charts/{id}/frame", Class: Read, Target: ChartParam, CrossOrigin: true},
		{Method: get, Path: "/api/v1/charts/{id}/option", Class: Read, Target: ChartParam, CrossOrigin: true},
		{Method: put, Path: "/api/v1/charts/{id}/data", Class: Push},
		{Method: post, Path: "/api/v1/embed-tokens", Class: Admin},
		{Method: delete, Path: "/api/v1/embed-tokens/{jti}", Class: Admin},

		// Live.
		{Method: get, Path: "/api/v1/stream", Class: Read, Target: StreamQuery},
		{Method: get, Path: "/api/v1/stream/sse", Class: Read, Target: StreamQuery, CrossOrigin: true},

		// Rewind: the span of moments the log can show (frame, option and
		// the streams take ?at= / ?from= on their own rows).
		{Method: get, Path: "/api/v1/log", Class: Read, Target: AnyReader, CrossOrigin: true},

		// Pages.
		{Method: get, Path: "/", Class: Read, Target: Everything},
		{Method: get, Path: "/d/{id}", Class: Read, Target: DashboardParam},
		{Method: get, Path: "/embed/{chart}", Class: Read, Target: ChartParam},
		{Method: get, Path: "/embed.js", Class: Public, CrossOrigin: true},
		{Method: get, Path: "/static/{path...}", Class: Public},

		// Operations.
		{Method: get, Path: "/metrics", Class: Public},
		{Method: get, Path: "/healthz", Class: Public},
		{Method: get, Path: "/readyz", Class: Public},
	}
}
