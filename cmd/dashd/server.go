package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/demo"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/stream"
	"github.com/dashd/dashd/web"
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
	// store is the log every ingest route writes to and the board follows,
	// and the bucket of dashboards (journal.go).
	store *journal.Journal
	// provisioned names the dashboards the configuration (and --demo)
	// defines: the API refuses to change them.
	provisioned map[string]bool
	provMu      sync.RWMutex // guards provisioned, which a reload replaces
	// push is the stored data of push charts (pushdata.go).
	push pushData
	// ops are the ingest, NATS and replay metrics (metrics.go).
	ops opsMetrics

	// ingest is held for reading by every request that pushes data; shutdown
	// takes it for writing, which waits for those in flight, and sets closing
	// so later ones are refused: no sample is accepted once the board stops.
	ingest  sync.RWMutex
	closing bool
}

// New builds every part and binds the listener; nothing runs until Run.
func New(cfg Config) (*Main, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := cfg.File
	m := &Main{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry()}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.hub = stream.New(stream.Config{
		AllowedOrigins: streamOrigins(f), // stream.allowed_origins + embed.allowed_parents
		Logger:         m.log.With("component", "stream"),
		Registerer:     m.registry,
	})
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another dashd running? choose another with --addr)", f.Addr, err)
	}
	m.ln = ln
	if err := m.openStore(); err != nil {
		ln.Close()
		return nil, err
	}
	m.ops.apply = newApplyHistogram()
	m.board = charts.NewBoard(charts.Config{
		MaxFPS:  float64(f.Stream.MaxFPS),
		Logger:  m.log.With("component", "board"),
		History: m.store, // fills a chart defined while running
		ObserveApply: func(_ int, took time.Duration) {
			m.ops.apply.Observe(took.Seconds())
		},
	}, m.hub)
	m.registerBoardMetrics()
	m.registerOpsMetrics()
	m.srv = &http.Server{
		Handler:           m.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	return m, nil
}

// notReady says why dashd should get no traffic now ("" when it is ready):
// /readyz answers it, and dashd_ready shows it.
func (m *Main) notReady() string {
	switch {
	case !m.ready.Load():
		return "starting or shutting down"
	case !m.store.Connected():
		return "NATS is disconnected (ingest answers 503 until it is back)"
	}
	return ""
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Run loads the dashboards, serves until ctx is done, then shuts down in
// order: stop accepting requests, let ingest requests in flight reach the
// board, stop the board (it applies every accepted batch and publishes the
// last frames), close every stream with 1001, and wait for the server.
func (m *Main) Run(ctx context.Context) error {
	stamp, _ := stampOf(m.cfg.ConfigPath) // a change from now on is reloaded
	boardCtx, stopBoard := context.WithCancel(context.Background())
	boardDone := make(chan error, 1)
	go func() { boardDone <- m.board.Run(boardCtx) }()

	dashboards := m.cfg.File.Dashboards
	if m.cfg.Demo {
		dashboards = m.withDemo(dashboards)
	}
	stopStore, err := m.startStore(ctx, dashboards)
	if err != nil {
		stopBoard()
		<-boardDone
		m.ln.Close()
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

	serveDone := make(chan error, 1)
	go func() { serveDone <- m.srv.Serve(m.ln) }()
	// ready is set once the replay of the log caught up (startStore).
	m.logStart(len(dashboards))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
	}
	m.ready.Store(false)
	m.log.Info("dashd is shutting down")

	stopGen()
	<-genDone
	<-reloadDone
	m.ingest.Lock()
	m.closing = true
	m.ingest.Unlock()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- m.srv.Shutdown(shutdownCtx) }()
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
	)
}

// routes mounts every handler on one gin engine. gin stays here, at the
// edge: the packages below it serve plain net/http.
func (m *Main) routes() http.Handler {
	f := m.cfg.File
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = true
	emb := newEmbedding(f, m.board, m.log.With("component", "embed"))
	r.Use(emb.gate) // reads need a token with auth.read: token; CORS for embedding pages (embed.go)

	ingestCfg := ingest.HandlerConfig{Tokens: f.Auth.IngestTokens, Logger: m.log.With("component", "ingest"), Observe: m.ops.observeIngest}
	gate := m.ingestGate
	r.POST("/api/v1/ingest", gate, gin.WrapH(ingest.JSONHandler(m.store, ingestCfg)))
	r.POST("/write", gate, gin.WrapH(ingest.LineProtocolHandler(m.store, ingestCfg)))
	r.POST("/api/v2/write", gate, gin.WrapH(ingest.LineProtocolHandler(m.store, ingestCfg)))
	r.POST("/api/v1/import/prometheus", gate, gin.WrapH(ingest.PrometheusHandler(m.store, ingestCfg)))

	api := &api{board: m.board, store: m.store, provisioned: m.isProvisioned, adminTokens: f.Auth.AdminTokens, ingestTokens: f.Auth.IngestTokens, log: m.log,
		dataApplied: func(rev uint64) bool { return m.push.rev.Load() >= rev }}
	r.GET("/api/v1/dashboards", api.listDashboards)
	r.GET("/api/v1/dashboards/:id", api.getDashboard)
	r.PUT("/api/v1/dashboards/:id", api.putDashboard)
	r.DELETE("/api/v1/dashboards/:id", api.deleteDashboard)
	r.GET("/api/v1/charts/:id", api.getChart)
	r.GET("/api/v1/charts/:id/frame", api.getFrame)
	r.GET("/api/v1/charts/:id/option", api.getOption)
	r.PUT("/api/v1/charts/:id/data", gate, api.putData)

	r.GET("/api/v1/stream", m.serveStream(m.hub.ServeWS))
	r.GET("/api/v1/stream/sse", m.serveStream(m.hub.ServeSSE))

	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})))
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	r.GET("/readyz", func(c *gin.Context) {
		if why := m.notReady(); why != "" {
			c.String(http.StatusServiceUnavailable, "not ready: %s\n", why)
			return
		}
		c.String(http.StatusOK, "ready\n")
	})

	pages := gin.WrapH(web.Handler(web.Config{Catalog: m.board, Logger: m.log.With("component", "web"), FrameAncestors: f.Embed.AllowedParents}))
	r.GET("/", pages)
	r.GET("/d/:id", pages)
	r.GET("/embed/:chart", pages)
	r.GET("/static/*path", pages)
	emb.mount(r, pages) // /embed.js, /api/v1/embed-tokens
	r.NoRoute(func(c *gin.Context) {
		c.String(http.StatusNotFound, "404 not found: %s\n(dashboards are listed at /)\n", c.Request.URL.Path)
	})
	return r
}

// ingestGate counts a request that pushes data as in flight, and refuses it
// with 503 once shutdown has begun, so no sample is accepted that the board
// cannot apply.
func (m *Main) ingestGate(c *gin.Context) {
	m.ingest.RLock()
	defer m.ingest.RUnlock()
	if m.closing {
		c.Header("Retry-After", "5")
		c.String(http.StatusServiceUnavailable, "dashd is shutting down; retry on another node or after the restart\n")
		c.Abort()
		return
	}
	c.Next()
}

// serveStream resolves ?dashboard=ID or ?charts=a,b into topics and hands
// the request to the transport.
func (m *Main) serveStream(serve func(http.ResponseWriter, *http.Request, []string)) gin.HandlerFunc {
	return func(c *gin.Context) {
		topics, err := topicsOf(m.board, c.Query("dashboard"), c.Query("charts"))
		if err != nil {
			c.String(http.StatusNotFound, "%s\n", err)
			return
		}
		serve(c.Writer, c.Request, topics)
	}
}

// topicsOf lists the chart ids a stream subscribes to.
func topicsOf(board *charts.Board, dashboard, chartList string) ([]string, error) {
	switch {
	case dashboard != "" && chartList != "":
		return nil, errors.New("give either ?dashboard=ID or ?charts=a,b, not both")
	case dashboard != "":
		d, ok := board.Dashboard(dashboard)
		if !ok {
			return nil, fmt.Errorf("no dashboard %q (GET /api/v1/dashboards lists them)", dashboard)
		}
		// The dashboard's own topic announces its definition, so an open
		// page redraws when charts are added, removed or changed.
		topics := []string{charts.DashboardTopic(d.ID)}
		for _, c := range d.Charts {
			topics = append(topics, c.ID)
		}
		return topics, nil
	case chartList != "":
		var topics []string
		for _, id := range splitList(chartList) {
			if _, ok := board.Chart(id); !ok {
				return nil, fmt.Errorf("no chart %q", id)
			}
			topics = append(topics, id)
		}
		if len(topics) > 0 {
			return topics, nil
		}
	}
	return nil, errors.New("say what to stream: ?dashboard=ID or ?charts=a,b")
}
