package main

import (
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/api"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/web"
)

// routes is the handler of every route of access.Routes, behind the policy.
func (m *Main) routes() (http.Handler, error) {
	f := m.cfg.File
	policy, err := access.New(access.Config{
		IngestTokens:   f.Auth.IngestTokens,
		AdminTokens:    m.adminTokens,
		AdminHint:      m.adminHint(),
		ReadToken:      f.Auth.Read == config.ReadToken,
		Keys:           m.keys,
		DashboardOf:    m.dashboardOf,
		AllowedHosts:   f.AllowedHosts,
		Loopback:       f.Loopback(),
		TrustedOrigins: trustedOrigins(f.Embed.AllowedParents),
	})
	if err != nil {
		return nil, err
	}
	ingestCfg := ingest.HandlerConfig{Logger: m.log.With("component", "ingest"), Observe: m.ops.observeIngest, Readers: m.board}
	lineProtocol := ingest.LineProtocolHandler(m.store, ingestCfg)
	pages := web.Handler(web.Config{Catalog: m.board, Variables: m.variableValues, Logger: m.log.With("component", "web"), FrameAncestors: f.Embed.AllowedParents})
	h := map[string]http.Handler{
		"POST /api/v1/ingest":            m.pushing(access.JSON, ingest.JSONHandler(m.store, ingestCfg)),
		"POST /write":                    m.pushing(access.Influx, lineProtocol),
		"POST /api/v2/write":             m.pushing(access.Influx, lineProtocol),
		"POST /api/v1/import/prometheus": m.pushing(access.JSON, ingest.PrometheusHandler(m.store, ingestCfg)),
		"POST /api/v1/write":             m.pushing(access.JSON, ingest.RemoteWriteHandler(m.store, ingestCfg)),
		"POST /v1/metrics":               m.pushing(access.JSON, ingest.OTLPHandler(m.store, ingestCfg)),

		"GET /":                 pages,
		"GET /d/{id}":           pages,
		"GET /embed/{chart}":    pages,
		"GET /embed.js":         pages,
		"GET /static/{path...}": pages,
		"GET /metrics":          promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}),
		"GET /healthz":          http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }),
		"GET /readyz":           http.HandlerFunc(m.serveReady),
	}
	rw := m.newRewinder() // rewind.go
	a := api.New(api.Config{
		Board: m.board, Definitions: m.defs, PushData: m.push, Streams: m.hub,
		Leases: m.leases, Keys: m.keys, Revocations: m.store, Filtered: m.board,
		Rewind: rw, Replays: rw,
		Logger: m.log.With("component", "api"),
	})
	maps.Copy(h, a.Handlers())
	// Push data is pushed data: shutdown waits for it as for ingest.
	const putData = "PUT /api/v1/charts/{id}/data"
	h[putData] = m.pushing(access.JSON, h[putData])
	h["GET /api/v1/stream"] = m.whileReady("ws", h["GET /api/v1/stream"])
	h["GET /api/v1/stream/sse"] = m.whileReady("sse", h["GET /api/v1/stream/sse"])
	return api.NewRouter(api.RouterConfig{Policy: policy, Handlers: h, Parents: f.Embed.AllowedParents, Logger: m.log.With("component", "http"), Refused: m.ops.observeRefusal})
}

// adminHint says where the generated admin token is, "" when configured.
func (m *Main) adminHint() string {
	if m.generated == "" {
		return ""
	}
	f := m.cfg.File
	if f.Data != "" && f.NATS.URL == "" {
		return "auth.admin_tokens is not set: dashd generated one at start, shown in its log and kept in " + filepath.Join(f.Data, adminTokenFile)
	}
	return "auth.admin_tokens is not set: dashd generated one for this run, shown in its log at start"
}

func (m *Main) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if why := m.notReady(); why != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + why + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// streamOrigins are the origins that may open the stream: the configured
// ones and the pages allowed to embed dashd, so that one setting does it.
func streamOrigins(f *config.File) []string {
	return slices.Concat(f.Stream.AllowedOrigins, f.Embed.AllowedParents)
}

// trustedOrigins are the pages of embed.allowed_parents that name an
// origin: they may make state-changing requests from a browser.
func trustedOrigins(parents []string) []string {
	var out []string
	for _, p := range parents {
		if p != "*" {
			out = append(out, p)
		}
	}
	return out
}

// dashboardOf names the dashboard chart belongs to, or "".
func (m *Main) dashboardOf(chart string) string {
	for _, d := range m.board.Dashboards() {
		for _, c := range d.Charts {
			if c.ID == chart {
				return d.ID
			}
		}
	}
	return ""
}

// pushing counts a request that pushes data as in flight, and refuses it
// with 503 once shutdown has begun, so no sample is accepted that the board
// cannot apply.
func (m *Main) pushing(d access.Dialect, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.inflight.enter() {
			api.WriteError(w, http.StatusServiceUnavailable, d, api.Error{Error: "dashd is shutting down; retry on another node or after the restart", Reason: "shutting_down"}, 5*time.Second)
			return
		}
		defer m.inflight.leave()
		h.ServeHTTP(w, r)
	})
}

// whileReady refuses a stream with 503 and Retry-After while dashd is not
// ready because it is starting (the replay of the log has not caught up)
// or shutting down. A stream's first frame is the chart's current state
// (CONTRACT), and a node that is still replaying has not got it: a viewer
// let in would see the bars fall back and climb again as the replay goes
// on, and a load balancer can send one there in the moments before its
// next health check. Refused, it reconnects (the browser client backs off
// and retries), through a load balancer to a node that is ready. A node
// that lost NATS keeps serving streams: its state is the newest it can
// know, and its viewers see the log's samples once it is back.
func (m *Main) whileReady(transport string, h http.Handler) http.Handler {
	refused := m.ops.notReady.WithLabelValues(transport)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.ready.Load() {
			refused.Inc()
			api.WriteError(w, http.StatusServiceUnavailable, access.JSON, api.Error{
				Error:  "this dashd node is starting (loading the dashboards, replaying the log) or shutting down, so its charts are not current: retry shortly, or another node",
				Reason: "not_ready",
			}, time.Second)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// inflight counts the requests that push data, until close.
type inflight struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// enter counts a request in, or reports false once closing.
func (g *inflight) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *inflight) leave() { g.wg.Done() }

// close refuses every later enter and returns a channel closed once the
// requests in flight have left.
func (g *inflight) close() <-chan struct{} {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	return done
}

// variableValues are the values a dashboard page offers for its
// variables: those seen in every sample, so none to a reader whose embed
// token holds it to a tag filter (they would name other tenants).
func (m *Main) variableValues(r *http.Request, dashboard string) (map[string][]string, error) {
	if len(api.WhereOf(r)) > 0 {
		return nil, nil
	}
	return m.board.VariableValues(r.Context(), dashboard)
}
