package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/api"
	"github.com/dashd/dashd/catalog"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/demo"
	"github.com/dashd/dashd/embed"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/stream"
)

// The board publishes through the hub without knowing it.
var _ charts.Publisher = (*stream.Hub)(nil)

// Config is what Main needs to run.
type Config struct {
	File   *config.File // validated settings
	Demo   bool         // add the demo dashboards and run their generator
	Logger *slog.Logger // nil discards

	// ConfigPath is the file File was loaded from; while Run runs it is
	// reloaded when it changes and on Hangup (reload.go). Empty: no reload.
	ConfigPath string
	// Overrides are the flags and environment applied over the file, again
	// at every reload.
	Overrides config.Overrides
	// ReloadInterval is how often ConfigPath is checked for a change
	// (default DefaultReloadInterval).
	ReloadInterval time.Duration
	// Hangup asks for a reload of ConfigPath (main sends SIGHUP here).
	Hangup <-chan os.Signal
	// RequestTimeout bounds the time to read a request and to write its
	// answer (default DefaultRequestTimeout); streams are not bound by it.
	RequestTimeout time.Duration
	// Drain bounds how long shutdown waits for requests in flight
	// (default DefaultDrain); those still running are then cut off.
	Drain time.Duration
	// ShutdownDelay is how long shutdown keeps serving after it began,
	// /readyz answering 503 ("shutting down") and new streams refused,
	// before it stops accepting connections (--shutdown-delay; 0: at
	// once). A load balancer that checks /readyz so learns that the node
	// is leaving while the node still answers, and stops sending it
	// traffic before its port closes; without it, what the balancer sends
	// before its next failed check meets a refused connection (502).
	ShutdownDelay time.Duration
}

// The defaults of Config.RequestTimeout and Config.Drain.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultDrain          = 10 * time.Second
)

func (c Config) requestTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return DefaultRequestTimeout
}

func (c Config) drain() time.Duration {
	if c.Drain > 0 {
		return c.Drain
	}
	return DefaultDrain
}

// Main is one running dashd: the board, the hub, the HTTP server and, with
// Demo, the generator. New binds the listener, so Addr is known before Run;
// tests start it on 127.0.0.1:0.
type Main struct {
	cfg      Config
	log      *slog.Logger
	board    *charts.Board
	hub      *stream.Hub
	srv      *http.Server
	ln       net.Listener
	registry *prometheus.Registry
	ready    atomic.Bool
	// stopping is set when shutdown begins; /readyz says so.
	stopping atomic.Bool
	// store is the log every ingest route writes to and the board follows,
	// and the buckets of dashboards, push data and revocations (journal.go).
	store *journal.Journal
	// defs and push keep the board in step with the stored definitions and
	// push data, and take the API's writes.
	defs *catalog.Definitions
	push *catalog.PushData
	// keys verify embed tokens (nil without auth.embed_secret); leases end
	// the streams of a token that expires or is revoked.
	keys   *embed.Keys
	leases *access.Leases
	// adminTokens are auth.admin_tokens, or the one generated at start
	// when none is set (protect.go).
	adminTokens []string
	generated   string // the generated admin token, "" if configured
	// ops are the ingest, NATS and replay metrics (metrics.go).
	ops opsMetrics
	// ckpt is the checkpoint the board started from and the writer's
	// state (checkpoint.go).
	ckpt checkpointState
	// inflight counts the requests that push data: shutdown waits for
	// them and refuses later ones, so no sample is accepted once the board
	// stops.
	inflight inflight
	// closeOnce makes Close idempotent; ran is set by Run, which closes
	// what New opened itself.
	closeOnce sync.Once
	ran       atomic.Bool
	// srv serves ln from New on (serveDone gets Serve's error): until Run
	// sets routed, as a node that is starting (serveStarting), then
	// through router.
	serveDone chan error
	router    http.Handler
	routed    atomic.Bool
}

// New builds every part and binds the listener, which it serves at once
// as a node that is starting (serveStarting); nothing else runs until Run.
func New(cfg Config) (*Main, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := cfg.File
	m := &Main{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry()}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := protectedMode(f); err != nil {
		return nil, err
	}
	if f.Auth.EmbedSecret != "" {
		k, err := embed.New(embed.Config{Secret: f.Auth.EmbedSecret, Revoked: f.Embed.Revoked})
		if err != nil {
			return nil, fmt.Errorf("auth.embed_secret: %w", err)
		}
		m.keys = k
	}
	m.leases = access.NewLeases()
	m.hub = stream.New(stream.Config{
		AllowedOrigins: streamOrigins(f), // stream.allowed_origins + embed.allowed_parents
		Logger:         m.log.With("component", "stream"),
		Registerer:     m.registry,
	})
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		m.hub.Close()
		return nil, fmt.Errorf("listen on %s: %w (is another dashd running? choose another with --addr)", f.Addr, err)
	}
	m.ln = ln
	m.srv = &http.Server{
		Handler: http.HandlerFunc(m.serveHTTP),
		// Every request is bounded in time: a client that trickles its
		// headers or body, or never reads the answer, holds a connection
		// for these at most. Streams extend their own deadlines (stream).
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.requestTimeout(),
		WriteTimeout:      cfg.requestTimeout(),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	// Served from the moment it is bound: a probe, or a viewer sent by a
	// balancer that has not noticed a restart yet, is answered "starting"
	// at once. Bound but not served, it waited unanswered in the listen
	// backlog while NATS was reached and the dashboards loaded (up to
	// 5.7 s in TestRollingRestart on a busy machine).
	m.serveDone = make(chan error, 1)
	go func() { m.serveDone <- m.srv.Serve(ln) }()
	if err := m.openStore(); err != nil {
		m.hub.Close()
		m.stopServing()
		return nil, err
	}
	m.ops.apply = newApplyHistogram()
	m.registerCheckpointMetrics()
	m.board = charts.NewBoard(charts.Config{
		Start:   m.startCheckpoint(), // nil: the board is filled from the log
		MaxFPS:  float64(f.Stream.MaxFPS),
		Logger:  m.log.With("component", "board"),
		History: m.store, // fills a chart defined while running
		// Filtered views (an embed token's where), kept while watched.
		MaxFilteredViews: f.Embed.MaxFilteredViews,
		Watched:          m.hub.Watched,
		ObserveApply: func(_ int, took time.Duration) {
			m.ops.apply.Observe(took.Seconds())
		},
	}, m.hub)
	m.push = catalog.NewPushData(m.store, m.board, m.log.With("component", "pushdata"))
	// A redefined push chart starts empty: it gets its data again.
	m.defs = catalog.NewDefinitions(m.store, m.board, m.log.With("component", "definitions"), m.push.Reapply)
	m.registerBoardMetrics()
	m.registerOpsMetrics()
	fail := func(err error) (*Main, error) {
		m.hub.Close()
		m.stopServing()
		m.store.Close()
		return nil, err
	}
	if m.adminTokens, m.generated, err = adminTokens(f); err != nil {
		return fail(err)
	}
	if m.router, err = m.routes(); err != nil {
		return fail(err)
	}
	return m, nil
}

// notReady says why dashd should get no traffic now ("" when it is ready):
// /readyz answers it, and dashd_ready shows it.
func (m *Main) notReady() string {
	switch {
	case m.stopping.Load():
		return "shutting down"
	case !m.ready.Load():
		return "starting (loading the dashboards, replaying the log)"
	case !m.store.Connected():
		return "NATS is disconnected (ingest answers 503 until it is back)"
	}
	return ""
}

// serveHTTP is the server's handler: the routes once Run has begun, and
// before that serveStarting.
func (m *Main) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if m.routed.Load() {
		m.router.ServeHTTP(w, r)
		return
	}
	m.serveStarting(w, r)
}

// serveStarting answers between the bind in New and Run: /healthz as
// always, /readyz 503 (starting), anything else 503 with Retry-After, so
// that no request waits on a port that is bound but not served.
func (m *Main) serveStarting(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		m.serveReady(w, r)
	default:
		api.WriteError(w, http.StatusServiceUnavailable, access.JSON, api.Error{Error: "dashd is starting: retry shortly", Reason: "starting"}, time.Second)
	}
}

// stopServing closes the listener and every connection, and waits for
// Serve to return.
func (m *Main) stopServing() {
	m.srv.Close()
	<-m.serveDone
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Run loads the dashboards, serves until ctx is done, then shuts down in
// order: stop accepting requests, let ingest requests in flight reach the
// board, stop the board (it applies every accepted batch and publishes the
// last frames), close every stream with 1001, and wait for the server.
func (m *Main) Run(ctx context.Context) error {
	if m.ran.Swap(true) {
		return errors.New("dashd: Run called twice")
	}
	stamp, _ := stampOf(m.cfg.ConfigPath) // a change from now on is reloaded
	boardCtx, stopBoard := context.WithCancel(context.Background())
	boardDone := make(chan error, 1)
	go func() { boardDone <- m.board.Run(boardCtx) }()

	dashboards := m.cfg.File.Dashboards
	if m.cfg.Demo {
		dashboards = m.withDemo(dashboards)
	}
	// Every route from now on, while the dashboards load and the log
	// replays: /readyz says starting, and streams are refused until ready.
	m.routed.Store(true)
	serveDone := m.serveDone
	stopStore, err := m.startStore(ctx, dashboards)
	if err != nil {
		m.stopServing()
		stopBoard()
		<-boardDone
		m.store.Close()
		return fmt.Errorf("dashboards: %w", err)
	}

	genCtx, stopGen := context.WithCancel(ctx)
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		if m.cfg.Demo {
			if err := demo.NewGenerator(m.store, demo.GeneratorConfig{}).Run(genCtx); err != nil && !errors.Is(err, context.Canceled) {
				m.log.Warn("demo generator stopped", "err", err)
			}
		}
	}()

	reloadDone := make(chan struct{})
	go func() { defer close(reloadDone); m.watchConfig(genCtx, stamp) }()

	// ready is set once the replay of the log caught up (startStore).
	m.logStart(len(dashboards))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
	}
	m.stopping.Store(true)
	m.ready.Store(false)
	m.log.Info("dashd is shutting down")
	if d := m.cfg.ShutdownDelay; d > 0 && serveErr == nil {
		// Not ready but still serving, so that load balancers notice
		// before the port closes. Keep-alive stays on: turning it off
		// closes the idle connections now, while a balancer may still
		// pick one to send a request on (a 502, seen in
		// TestRollingRestart); Shutdown closes them once it has stopped.
		m.log.Info("not ready, still serving until load balancers have noticed", "shutdown_delay", d)
		delay := time.NewTimer(d)
		select {
		case <-delay.C:
		case serveErr = <-serveDone:
			delay.Stop()
		}
	}

	stopGen()
	<-genDone
	<-reloadDone
	// Stop accepting, then let the requests in flight finish within the
	// drain; past it, cut their connections (a client trickling a body
	// holds nothing up), and the pushes among them fail before they store.
	drainCtx, cancel := context.WithTimeout(context.Background(), m.cfg.drain())
	defer cancel()
	pushesDone := m.inflight.close()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- m.srv.Shutdown(drainCtx) }()
	select {
	case <-pushesDone:
	case <-drainCtx.Done():
		m.log.Warn("requests still running after the drain are cut off", "drain", m.cfg.drain())
		m.srv.Close()
		<-pushesDone // bounded: their reads fail, and a publish has its own timeout
	}
	stopStore() // what is acknowledged is in the log, replayed at the next start
	stopBoard()
	<-boardDone
	m.hub.Close()
	if err := <-shutdownDone; err != nil {
		m.srv.Close()
	}
	if err := m.store.Close(); err != nil {
		m.log.Warn("closing the store", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// Close releases what New opened (the listener and the store) when Run is
// not called; after Run it does nothing, since Run closes them on return.
// It is safe to call more than once.
func (m *Main) Close() error {
	var err error
	m.closeOnce.Do(func() {
		if m.ran.Load() {
			return
		}
		m.stopServing()
		m.hub.Close()
		err = m.store.Close()
	})
	return err
}

// withDemo adds the demo dashboards to ds. Where a demo dashboard or one of
// its charts has an id that ds already uses, the configured one wins and the
// demo one is left out, with a warning.
func (m *Main) withDemo(ds []charts.Dashboard) []charts.Dashboard {
	taken := map[string]bool{}
	for _, d := range ds {
		taken["dashboard "+d.ID] = true
		for _, c := range d.Charts {
			taken["chart "+c.ID] = true
		}
	}
	out := append([]charts.Dashboard(nil), ds...)
next:
	for _, d := range demo.Dashboards() {
		ids := []string{"dashboard " + d.ID}
		for _, c := range d.Charts {
			ids = append(ids, "chart "+c.ID)
		}
		for _, id := range ids {
			if taken[id] {
				m.log.Warn("a demo dashboard is left out: the configuration already has an id it uses", "dashboard", d.ID, "clash", id)
				continue next
			}
		}
		out = append(out, d)
	}
	return out
}

func (m *Main) logStart(dashboards int) {
	f := m.cfg.File
	m.log.Info("dashd is listening", "addr", "http://"+m.Addr()+"/", "dashboards", dashboards, "demo", m.cfg.Demo)
	if len(f.Auth.IngestTokens) == 0 {
		m.log.Warn("ingest is open: anyone who can reach this address may push samples (set auth.ingest_tokens to require a token)")
	}
	if m.generated != "" {
		where := "for this run only (--data \"\")"
		if f.Data != "" && f.NATS.URL == "" {
			where = "kept in " + filepath.Join(f.Data, adminTokenFile)
		}
		m.log.Info("auth.admin_tokens is not set: writes to dashboards, push data and embed tokens take this generated admin token as 'Authorization: Bearer <token>'", "admin_token", m.generated, "where", where)
	}
	switch {
	case f.NATS.URL != "":
		m.log.Info("samples and dashboards are stored in NATS", "url", f.NATS.URL)
	case f.Data == "":
		m.log.Warn("samples and dashboards live in memory only (--data \"\"): a restart loses them")
	default:
		m.log.Info("samples and dashboards are stored on disk", "data", f.Data)
	}
}

func (m *Main) registerBoardMetrics() {
	stats := func(pick func(charts.Stats) float64) func() float64 {
		return func() float64 { return pick(m.board.Stats()) }
	}
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_board_samples_applied_total", Help: "Samples applied to the charts."},
			stats(func(s charts.Stats) float64 { return float64(s.Applied) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_board_frames_total", Help: "Chart frames built and published."},
			stats(func(s charts.Stats) float64 { return float64(s.Frames) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dashd_board_queued_batches", Help: "Accepted batches waiting for the board."},
			stats(func(s charts.Stats) float64 { return float64(s.Queued) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_board_samples_outside_window_total", Help: "Samples that arrived older than the window of a chart that reads them (once per chart)."},
			stats(func(s charts.Stats) float64 { return float64(s.Outside) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_board_samples_folded_total", Help: "Samples folded into \"other\" because a chart reached its category or series limit (once per chart)."},
			stats(func(s charts.Stats) float64 { return float64(s.Folded) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_board_samples_unread_total", Help: "Samples that no chart reads (check the metric name and where filters)."},
			stats(func(s charts.Stats) float64 { return float64(s.Unread) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_board_samples_backfilled_total", Help: "Samples read again from the log to fill charts defined while dashd runs."},
			stats(func(s charts.Stats) float64 { return float64(s.Filled) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dashd_filtered_views", Help: "Filtered views (a chart seen through an embed token's where) held now; bounded by embed.max_filtered_views."},
			stats(func(s charts.Stats) float64 { return float64(s.FilteredViews) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dashd_filtered_views_refused_total", Help: "Reads refused with 429 because embed.max_filtered_views filtered views were held."},
			stats(func(s charts.Stats) float64 { return float64(s.FilteredRefused) })),
	)
}
