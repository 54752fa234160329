package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// scenario is one load: the viewers, the pushes and how long.
type scenario struct {
	target     string // http://127.0.0.1:PORT
	dashboard  string
	dashboards int  // dashboards with the same charts; viewers spread over them
	compress   bool // offer permessage-deflate, as browsers do
	delta      bool // ask for delta frames (?delta=1) and rebuild them
	rotate     bool // pushes rotate over the cells (bodyShape.rotate)
	viewers    int  // WebSocket viewers
	sse        int  // SSE viewers
	charts     int
	categories int
	series     int
	pushRate   float64 // pushes per second; 0: as fast as the pushers go
	batch      int     // samples per push, probes included
	stagger    bool    // each push feeds one dashboard, in turn (bodyShape.perPush)
	format     string
	pushers    int
	duration   time.Duration
	ramp       time.Duration // spread the connections over this long
	settle     time.Duration // wait after connecting, before measuring RSS
	drain      time.Duration // wait after the last push for its frames
	idle       bool          // no pushes: hold the viewers and measure memory
	adminToken string
	token      string
	serverPID  int // 0: find it from the port; -1: do not measure
	noSetup    bool
	dial       int // concurrent connection attempts
	maxPushes  int
	sample     int // WebSocket viewers that decode and time; the others count (raw.go). 0: all

	tenants    int    // 0: none; else samples carry tenant tags and viewers filtered tokens
	unfiltered bool   // with tenants: the viewers hold no token (they read the chart itself)
	tenantCats string // with tenants: "shared" (every tenant the same categories) or "own"
	scrubFlags        // --scrubbers (scrub.go)
}

// Bounds on a scenario, so that every run ends by itself.
const (
	maxViewers  = 200_000
	maxDuration = 10 * time.Minute
	maxRamp     = 5 * time.Minute
)

// addFlags registers the scenario's flags on fs.
func (sc *scenario) addFlags(fs *flag.FlagSet, withTarget bool) {
	if withTarget {
		fs.StringVar(&sc.target, "target", "http://127.0.0.1:8080", "`URL` of the server under load (only http://127.0.0.1:PORT)")
	}
	fs.StringVar(&sc.dashboard, "dashboard", "dashload", "`ID` of the dashboard dashload defines and streams")
	fs.IntVar(&sc.dashboards, "dashboards", 1, "dashboards of --charts charts each (chart ids are unique across dashboards: dashboard d has dashload-(d×charts) …); viewers spread over them round-robin; with more than one their ids are ID-0 … ID-(N-1)")
	fs.BoolVar(&sc.compress, "compress", true, "WebSocket viewers offer permessage-deflate, as browsers do (--compress=false: they do not)")
	fs.BoolVar(&sc.delta, "delta", false, "WebSocket viewers ask for delta frames (?delta=1) and rebuild them, as dashd-delta.js does")
	fs.BoolVar(&sc.rotate, "rotate", false, "each push continues over a chart's cells (categories × series) where the previous stopped: a --batch smaller than the cells changes a few of them per push while every cell stays filled (agg last, no window)")
	fs.IntVar(&sc.viewers, "viewers", 100, "WebSocket viewers (`N`)")
	fs.IntVar(&sc.sse, "sse", 0, "Server-Sent Events viewers (`M`), besides the WebSocket ones")
	fs.IntVar(&sc.charts, "charts", 1, "charts on each dashboard; each push updates every chart of every dashboard")
	fs.IntVar(&sc.categories, "categories", 10, "data categories per chart (tag cat), besides the probe")
	fs.IntVar(&sc.series, "series", 1, "series per chart (tag s)")
	fs.Float64Var(&sc.pushRate, "push-rate", 5, "pushes (HTTP requests) per `second`; 0 pushes as fast as the pushers can")
	fs.BoolVar(&sc.stagger, "stagger", false, "with --dashboards N: each push carries the samples of one dashboard only, the dashboards in turn, and --push-rate is per dashboard (dashload pushes rate × N times a second): every dashboard changes as often as without, but at its own moment, as when each dashboard's data comes from its own sources, instead of every viewer's update arriving at once")
	fs.IntVar(&sc.batch, "batch", 10, "samples per push, the probes (one per chart) included; raised to --charts if below")
	fs.StringVar(&sc.format, "format", "json", "ingest format: json (POST /api/v1/ingest), lp (POST /write), prom (POST /api/v1/import/prometheus)")
	fs.IntVar(&sc.pushers, "pushers", 2, "concurrent push requests at most")
	fs.DurationVar(&sc.duration, "duration", 10*time.Second, "how long to push (or, with --idle, to hold the viewers); at most 10m")
	fs.DurationVar(&sc.ramp, "ramp", 0, "spread the viewers' connections evenly over this `duration` (0: as fast as --dial allows)")
	fs.DurationVar(&sc.settle, "settle", time.Second, "wait after the viewers connect before measuring the server's RSS")
	fs.DurationVar(&sc.drain, "drain", 500*time.Millisecond, "wait after the last push for its frames to arrive")
	fs.BoolVar(&sc.idle, "idle", false, "push nothing: connect the viewers, measure RSS per viewer, hold them for --duration")
	fs.StringVar(&sc.adminToken, "admin-token", "", "admin `token` for PUT /api/v1/dashboards/ID, where the server requires one")
	fs.StringVar(&sc.token, "ingest-token", "", "ingest `token`, where the server requires one")
	fs.IntVar(&sc.serverPID, "server-pid", 0, "`PID` of the server, for its RSS (0: the process listening on the target's port; -1: skip)")
	fs.BoolVar(&sc.noSetup, "no-setup", false, "do not PUT the dashboard (it exists already)")
	fs.IntVar(&sc.dial, "dial", 64, "concurrent connection attempts at most")
	fs.IntVar(&sc.maxPushes, "max-pushes", 2_000_000, "pushes at most, whatever the rate and duration")
	fs.IntVar(&sc.sample, "sample", 250, "WebSocket viewers (`N`, spread over the dashboards and the connection order) that decode every message and time the probes; the others only count bytes and messages, so that dashload stays cheap beside the server it measures (0: every viewer decodes)")

	fs.IntVar(&sc.tenants, "tenants", 0, "tenants (`N`, issue 15): every sample carries tag tenant=t0000 … round-robin, and viewer i holds an embed token minted (POST /api/v1/embed-tokens, --admin-token; the server needs auth.embed_secret) for the dashboard with where tenant=t(i mod N), so it reads its tenant's filtered views; 0: none")
	fs.BoolVar(&sc.unfiltered, "unfiltered", false, "with --tenants: tag the samples, but give the viewers no token (they read the charts unfiltered): the same load without filtered views")
	fs.StringVar(&sc.tenantCats, "tenant-categories", "shared", "with --tenants: `shared`, every tenant's samples have the same --categories categories (c000 …), so each of the chart's cells sums every tenant's; or own, each tenant has its own (t0000-c000 …): tenants × categories names, past the chart's 500 folded into Other by the chart, while each tenant's filtered view shows its own (the hosts=own shape of BenchmarkTenantIngest)")
	sc.scrubFlags.addFlags(fs)
}

// check validates the scenario and fills what follows from other fields.
func (sc *scenario) check() error {
	errs := sc.scrubFlags.check()
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := loopbackURL(sc.target); err != nil {
		errs = append(errs, err)
	}
	switch {
	case sc.viewers < 0 || sc.sse < 0:
		bad("--viewers and --sse must not be negative")
	case sc.viewers+sc.sse > maxViewers:
		bad("--viewers + --sse is %d; at most %d", sc.viewers+sc.sse, maxViewers)
	}
	if sc.tenants < 0 || sc.tenants > 100_000 || sc.tenants > 0 && sc.dashboards != 1 {
		bad("--tenants %d: 0 to 100,000, with one dashboard", sc.tenants)
	}
	if sc.tenantCats == "" {
		sc.tenantCats = "shared"
	}
	if sc.tenantCats != "shared" && sc.tenantCats != "own" {
		bad("--tenant-categories %q: shared or own", sc.tenantCats)
	}
	if sc.charts < 1 || sc.charts > 1000 {
		bad("--charts %d is out of range (1 to 1000)", sc.charts)
	}
	if sc.categories < 1 || sc.categories > 400 {
		bad("--categories %d is out of range (1 to 400; dashd tracks at most 500 per chart)", sc.categories)
	}
	if sc.series < 1 || sc.series > 26 {
		bad("--series %d is out of range (1 to 26)", sc.series)
	}
	if sc.pushRate < 0 || math.IsInf(sc.pushRate, 0) || math.IsNaN(sc.pushRate) {
		bad("--push-rate must be 0 (as fast as possible) or a positive number")
	}
	if sc.batch > 1_000_000 {
		bad("--batch %d is too large (at most 1,000,000)", sc.batch)
	}
	if sc.charts*sc.dashboards > 10_000 {
		bad("--charts × --dashboards is %d; at most 10,000", sc.charts*sc.dashboards)
	}
	if sc.stagger && sc.dashboards > 1 {
		sc.batch = max(sc.batch, sc.charts)
	} else {
		sc.stagger = false
		sc.batch = max(sc.batch, sc.totalCharts())
	}
	if _, _, ok := ingestFormat(sc.format); !ok {
		bad("--format %q is not one of json, lp, prom", sc.format)
	}
	if sc.pushers < 1 || sc.pushers > 256 {
		bad("--pushers %d is out of range (1 to 256)", sc.pushers)
	}
	if sc.duration <= 0 || sc.duration > maxDuration {
		bad("--duration %s is out of range (above 0, at most %s)", sc.duration, maxDuration)
	}
	if sc.ramp < 0 || sc.ramp > maxRamp {
		bad("--ramp %s is out of range (0 to %s)", sc.ramp, maxRamp)
	}
	if sc.settle < 0 || sc.settle > time.Minute || sc.drain < 0 || sc.drain > time.Minute {
		bad("--settle and --drain must be between 0 and 1m")
	}
	if sc.dial < 1 || sc.dial > 4096 {
		bad("--dial %d is out of range (1 to 4096)", sc.dial)
	}
	if sc.maxPushes < 1 || sc.maxPushes > 50_000_000 {
		bad("--max-pushes %d is out of range (1 to 50,000,000)", sc.maxPushes)
	}
	if sc.sample < 0 {
		bad("--sample %d must not be negative (0: every viewer decodes)", sc.sample)
	}
	if sc.dashboards == 0 {
		sc.dashboards = 1
	}
	if sc.dashboards < 1 || sc.dashboards > 1000 {
		bad("--dashboards %d is out of range (1 to 1000)", sc.dashboards)
	}
	if !idPattern(sc.dashboard) {
		bad("--dashboard %q is not a valid id (letters, digits, '_', '.', '-')", sc.dashboard)
	}
	return errors.Join(errs...)
}

func idPattern(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// loopbackURL refuses every target but http://127.0.0.1:PORT: dashload
// is a load generator and must not be pointed at anything else.
func loopbackURL(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("--target %q is not a URL: %w", target, err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return fmt.Errorf("--target %q refused: dashload drives only servers on this machine, given as http://127.0.0.1:PORT (no other host, no path)", target)
	}
	return nil
}

// result is what one run measured.
type result struct {
	Target           string
	ViewersWanted    int
	ConnectedWS      int64
	ConnectedSSE     int64
	ConnectFailed    int64
	Dropped          int64
	ConnectTime      time.Duration
	PushWindow       time.Duration
	Pushes           uint64
	PushesFailed     uint64
	SamplesPerSec    float64
	WireBytes        uint64  // read from the WebSocket viewers' sockets while pushing
	WireUpdates      uint64  // chart updates the WebSocket viewers got meanwhile
	Sampled          int64   // WebSocket viewers that decoded (the others counted)
	Counted          int64   // WebSocket viewers that only counted bytes and messages
	FramesPerMessage float64 // of the decoding WebSocket viewers; estimates the counting viewers' updates
	Updates          float64 // chart updates delivered while pushing (counting viewers' estimated)
	CountedBytes     uint64  // read by the counting viewers while pushing
	Compressed       int64   // WebSocket viewers with permessage-deflate negotiated
	Delta            bool    // delta frames asked for
	UpdatesPerSec    float64
	MessagesPerSec   float64
	LatencyCount     uint64
	P50, P90, P99    time.Duration
	// Of each push: POST to its first receipt by any sampled viewer, and
	// first to last receipt (arrivals).
	PipeP50, PipeP99     time.Duration
	FanoutP50, FanoutP99 time.Duration
	Max, Mean            time.Duration
	ServerPID            int
	RSSBefore            uint64
	RSSConnected         uint64
	RSSEnd               uint64
	RSSPerViewer         float64 // bytes; NaN if not measured
	RSSNote              string
	ServerCPU            float64 // cores the server used on average while pushing; NaN if not measured
	ToolCPU              float64 // cores dashload used on average while pushing
	OtherCPU             float64 // cores every other process used meanwhile; NaN if not measured
	FirstPushError       string
	FirstViewerError     string
	Scrub                *scrubResult // with --scrubbers
}

// runScenario drives the target: define the dashboard, connect the
// viewers, measure the server's RSS, push for the duration, drain, and
// disconnect. Progress goes to logw.
func runScenario(ctx context.Context, sc scenario, logw io.Writer) (*result, error) {
	if err := sc.check(); err != nil {
		return nil, err
	}
	target := strings.TrimSuffix(sc.target, "/")
	res := &result{Target: target, ViewersWanted: sc.viewers + sc.sse, RSSPerViewer: math.NaN()}

	transport := &http.Transport{
		Proxy:               nil, // never through a proxy: loopback only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: sc.pushers + 4,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	if !sc.noSetup {
		for d, id := range sc.dashboardIDs() {
			if err := putDashboard(ctx, client, target, sc, id, d*sc.charts); err != nil {
				return nil, err
			}
		}
	}

	pid := sc.serverPID
	switch {
	case pid == 0:
		u, _ := url.Parse(target)
		port, _ := strconv.Atoi(u.Port())
		p, err := pidListening(port)
		if err != nil {
			res.RSSNote = "RSS not measured: " + err.Error()
			pid = -1
		} else {
			pid = p
		}
	case pid < 0:
		res.RSSNote = "RSS not measured (--server-pid -1)"
	}
	if pid == os.Getpid() {
		res.RSSNote = "the server runs inside dashload: its RSS includes the load generator's"
	}
	res.ServerPID = pid
	if pid > 0 {
		res.RSSBefore, _ = rssBytes(pid)
	}

	base := time.Now()
	sent := make([]atomic.Int64, pushCount(sc)+1)
	arr := newArrivals(len(sent))
	st := &viewerStats{}
	pool := &bufPool{}
	var phase *scrubPhase
	if sc.scrubbers > 0 {
		phase = &scrubPhase{slice: sc.scrubSlice}
	}
	dialer := &websocket.Dialer{
		NetDialContext:   (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		Proxy:            nil,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  512,
		WriteBufferPool:  &sync.Pool{},
	}
	sseClient := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}}

	viewCtx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	var viewersDone sync.WaitGroup
	dialer.EnableCompression = sc.compress
	ids := sc.dashboardIDs()
	tokens, err := mintTenantTokens(ctx, sseClient, target, sc)
	if err != nil {
		return nil, err
	}
	tokenOf := func(i int) string {
		if len(tokens) == 0 {
			return ""
		}
		return "&token=" + url.QueryEscape(tokens[i%len(tokens)])
	}
	wsURL := func(i int) string {
		u := "ws" + strings.TrimPrefix(target, "http") + "/api/v1/stream?dashboard=" + url.QueryEscape(ids[i%len(ids)]) + tokenOf(i)
		if sc.delta {
			u += "&delta=1"
		}
		return u
	}
	sseURL := func(i int) string {
		return target + "/api/v1/stream/sse?dashboard=" + url.QueryEscape(ids[i%len(ids)]) + tokenOf(i)
	}
	res.Delta = sc.delta

	total := sc.viewers + sc.sse
	fmt.Fprintf(logw, "dashload: connecting %d WebSocket and %d SSE viewers to %s\n", sc.viewers, sc.sse, target)
	connStart := time.Now()
	slots := make(chan struct{}, sc.dial)
	var attempted sync.WaitGroup
	for i := 0; i < total; i++ {
		if sc.ramp > 0 {
			due := connStart.Add(time.Duration(int64(sc.ramp) * int64(i) / int64(total)))
			if !sleepUntil(viewCtx, due) {
				break
			}
		}
		select {
		case slots <- struct{}{}:
		case <-viewCtx.Done():
		}
		if viewCtx.Err() != nil {
			break
		}
		attempted.Add(1)
		viewersDone.Add(1)
		tr := newProbeTracker(sc.totalCharts(), &st.shards[i%numShards], sent, base)
		tr.arr = arr
		tr.phase = phase
		connected := sync.OnceFunc(func() { <-slots; attempted.Done() })
		if i < sc.viewers && !sampled(i, sc.viewers, sc.dashboards, sc.sample) {
			res.Counted++
			u := wsURL(i)
			cs := &st.counting[i%numShards]
			go func() {
				defer viewersDone.Done()
				countingViewer(viewCtx, dialer.NetDialContext, u, sc.compress, cs, st, connected)
			}()
		} else if i < sc.viewers {
			res.Sampled++
			tr.ws = true
			if sc.delta {
				tr.dd = &deltaDecoder{texts: map[string][]byte{}}
			}
			u := wsURL(i)
			go func() {
				defer viewersDone.Done()
				wsViewer(viewCtx, dialer, u, tr, st, pool, connected)
			}()
		} else {
			u := sseURL(i)
			go func() {
				defer viewersDone.Done()
				sseViewer(viewCtx, sseClient, u, tr, st, connected)
			}()
		}
	}
	attempted.Wait()
	res.ConnectTime = time.Since(connStart)
	fmt.Fprintf(logw, "dashload: %d WebSocket + %d SSE viewers connected in %s, %d failed\n",
		st.connectedWS.Load(), st.connectedSSE.Load(), res.ConnectTime.Round(time.Millisecond), st.connectFailed.Load())

	if !sleepUntil(ctx, time.Now().Add(sc.settle)) {
		return nil, ctx.Err()
	}
	connected := st.connectedWS.Load() + st.connectedSSE.Load()
	if pid > 0 {
		res.RSSConnected, _ = rssBytes(pid)
		if connected > 0 {
			res.RSSPerViewer = (float64(res.RSSConnected) - float64(res.RSSBefore)) / float64(connected)
		}
	}

	ps := &pushStats{}
	m0, u0 := st.counts()
	wb0, wu0 := st.wire()
	wm0 := st.wsMessages()
	cm0, cb0 := st.counted()
	srvCPU0, srvErr := cpuTime(pid)
	toolCPU0, _ := cpuTime(os.Getpid())
	busy0, busyErr := machineBusy()
	pushStart := time.Now()
	if sc.idle {
		fmt.Fprintf(logw, "dashload: holding the viewers idle for %s\n", sc.duration)
		sleepUntil(ctx, pushStart.Add(sc.duration))
	} else {
		fmt.Fprintf(logw, "dashload: pushing for %s\n", sc.duration)
		path, _, _ := ingestFormat(sc.format)
		p := &pusher{client: client, url: target + path, format: sc.format, token: sc.token,
			shape: bodyShape{charts: sc.totalCharts(), categories: sc.categories, series: sc.series, batch: sc.batch, rotate: sc.rotate, tenants: sc.tenants, ownCategories: sc.tenantCats == "own", perPush: sc.chartsPerPush()},
			sent:  sent, base: base, stats: ps}
		var sr *scrubRun
		if phase != nil {
			fmt.Fprintf(logw, "dashload: %d pages scrub the rewind slider meanwhile\n", sc.scrubbers)
			sr = startScrub(ctx, sc, target, base, phase, pid)
		}
		pushCtx, stopPush := context.WithTimeout(ctx, sc.duration)
		p.run(pushCtx, sc.pushesPerSecond(), sc.pushers)
		stopPush()
		if sr != nil {
			// The probes of the last pushes arrive meanwhile.
			sleepUntil(ctx, time.Now().Add(sc.drain))
			defer func() { sr.finish(res, st.phaseLatencies()) }()
		}
	}
	res.PushWindow = time.Since(pushStart)
	m1, u1 := st.counts()
	wb1, wu1 := st.wire()
	wm1 := st.wsMessages()
	cm1, cb1 := st.counted()
	res.WireBytes, res.WireUpdates = wb1-wb0, wu1-wu0
	res.Compressed = st.compressed.Load()
	res.ServerCPU = math.NaN()
	if srvCPU1, err := cpuTime(pid); err == nil && srvErr == nil && pid > 0 {
		res.ServerCPU = (srvCPU1 - srvCPU0).Seconds() / res.PushWindow.Seconds()
	}
	if toolCPU1, err := cpuTime(os.Getpid()); err == nil {
		res.ToolCPU = (toolCPU1 - toolCPU0).Seconds() / res.PushWindow.Seconds()
	}
	res.OtherCPU = math.NaN()
	if busy1, err := machineBusy(); err == nil && busyErr == nil && !math.IsNaN(res.ServerCPU) {
		res.OtherCPU = max((busy1-busy0).Seconds()/res.PushWindow.Seconds()-res.ServerCPU-res.ToolCPU, 0)
	}
	sleepUntil(ctx, time.Now().Add(sc.drain))
	if pid > 0 {
		res.RSSEnd, _ = rssBytes(pid)
	}
	stopViewers()
	viewersDone.Wait()

	secs := res.PushWindow.Seconds()
	res.ConnectedWS, res.ConnectedSSE = st.connectedWS.Load(), st.connectedSSE.Load()
	res.ConnectFailed, res.Dropped = st.connectFailed.Load(), st.dropped.Load()
	res.Pushes, res.PushesFailed = ps.ok.Load(), ps.failed.Load()
	res.SamplesPerSec = float64(ps.samples.Load()) / secs
	res.Updates = float64(u1 - u0)
	if wm1 > wm0 {
		res.FramesPerMessage = float64(wu1-wu0) / float64(wm1-wm0)
	}
	res.Updates += float64(cm1-cm0) * res.FramesPerMessage
	res.CountedBytes = cb1 - cb0
	res.UpdatesPerSec = res.Updates / secs
	res.MessagesPerSec = float64(m1-m0+cm1-cm0) / secs
	lat := st.latencies()
	res.LatencyCount = lat.n
	res.P50, res.P90, res.P99 = lat.percentile(0.50), lat.percentile(0.90), lat.percentile(0.99)
	res.Max, res.Mean = time.Duration(lat.max)*time.Microsecond, lat.mean()
	pipe, fan := arr.split(sent)
	res.PipeP50, res.PipeP99 = pipe.percentile(0.50), pipe.percentile(0.99)
	res.FanoutP50, res.FanoutP99 = fan.percentile(0.50), fan.percentile(0.99)
	if e := ps.firstErr.Load(); e != nil {
		res.FirstPushError = *e
	}
	if e := st.firstErr.Load(); e != nil {
		res.FirstViewerError = *e
	}
	return res, ctx.Err()
}

// pushCount bounds the pushes of a run: the rate times the duration, or
// --max-pushes.
func pushCount(sc scenario) int {
	if sc.idle {
		return 0
	}
	if sc.pushRate > 0 {
		n := math.Ceil(sc.pushesPerSecond()*sc.duration.Seconds()) + 1
		return int(min(n, float64(sc.maxPushes)))
	}
	return sc.maxPushes
}

// sleepUntil waits for t or ctx; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pushesPerSecond is the rate of POSTs: --push-rate, times the dashboards
// with --stagger (each push feeds one of them).
func (sc scenario) pushesPerSecond() float64 {
	if sc.stagger {
		return sc.pushRate * float64(sc.dashboards)
	}
	return sc.pushRate
}

// chartsPerPush is the charts one push feeds: one dashboard's with
// --stagger, else every chart (0 says so to bodyShape).
func (sc scenario) chartsPerPush() int {
	if sc.stagger {
		return sc.charts
	}
	return 0
}

// totalCharts is the charts of all the dashboards.
func (sc scenario) totalCharts() int { return sc.charts * max(sc.dashboards, 1) }

// dashboardIDs are the ids of the dashboards dashload defines: --dashboard,
// or ID-0 … ID-(N-1) with --dashboards N > 1.
func (sc scenario) dashboardIDs() []string {
	if sc.dashboards <= 1 {
		return []string{sc.dashboard}
	}
	ids := make([]string, sc.dashboards)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", sc.dashboard, i)
	}
	return ids
}

// dashboardJSON is the definition dashload PUTs as dashboard id: charts
// dashload-FIRST … dashload-(FIRST+charts-1) (dashboard d of --dashboards
// starts at d×charts), each reading metric dashload where chart=<n>,
// categories from tag cat, series from tag s, agg last, no window.
func dashboardJSON(sc scenario, id string, first int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"id":%q,"title":"dashload","charts":[`, id)
	for i := first; i < first+sc.charts; i++ {
		if i > first {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%s%d","title":"dashload %d","metric":%q,"where":{"chart":"%d"},"x":"cat","series":"s","agg":"last"}`,
			chartPrefix, i, i, metricName, i)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func putDashboard(ctx context.Context, client *http.Client, target string, sc scenario, id string, first int) error {
	u := target + "/api/v1/dashboards/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(dashboardJSON(sc, id, first)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if sc.adminToken != "" {
		req.Header.Set("Authorization", "Bearer "+sc.adminToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("define the dashboard: PUT %s: %w (is the server running?)", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = " (give --admin-token)"
		}
		return fmt.Errorf("define the dashboard: PUT %s: %s: %s%s", u, resp.Status, bytes.TrimSpace(body), hint)
	}
	return nil
}

// print writes res as "name: value" lines.
func (res *result) print(w io.Writer) {
	fmt.Fprintf(w, "target:                %s\n", res.Target)
	fmt.Fprintf(w, "viewers connected:     %d WebSocket + %d SSE of %d (%d failed to connect, %d dropped during the run), in %s\n",
		res.ConnectedWS, res.ConnectedSSE, res.ViewersWanted, res.ConnectFailed, res.Dropped, res.ConnectTime.Round(time.Millisecond))
	fmt.Fprintf(w, "window:                %s\n", res.PushWindow.Round(time.Millisecond))
	fmt.Fprintf(w, "pushes:                %d answered 2xx, %d failed (%.1f/s)\n", res.Pushes, res.PushesFailed, float64(res.Pushes)/res.PushWindow.Seconds())
	fmt.Fprintf(w, "samples accepted/s:    %.0f\n", res.SamplesPerSec)
	fmt.Fprintf(w, "chart updates/s:       %.0f (frames received by all viewers; a frame in a batch counts once)\n", res.UpdatesPerSec)
	if res.Counted > 0 {
		fmt.Fprintf(w, "sampled viewers:       %d WebSocket viewers decoded and timed; %d counted bytes and messages only (%s read), their updates estimated at %.2f frames per message as the sample got\n",
			res.Sampled, res.Counted, mib(res.CountedBytes), res.FramesPerMessage)
	}
	fmt.Fprintf(w, "messages/s:            %.0f\n", res.MessagesPerSec)
	fmt.Fprintf(w, "bytes on the wire:     %s per chart update (WebSocket: %s read from the sockets while pushing, as sent, over %d updates); permessage-deflate negotiated by %d of %d; delta frames %s\n",
		perUpdate(res), mib(res.WireBytes), res.WireUpdates, res.Compressed, res.ConnectedWS, map[bool]string{true: "asked for", false: "not asked for"}[res.Delta])
	fmt.Fprintf(w, "latency POST→viewer:   p50 %s  p90 %s  p99 %s  max %s  mean %s  (%d probes timed)\n",
		fmtDur(res.P50), fmtDur(res.P90), fmtDur(res.P99), fmtDur(res.Max), fmtDur(res.Mean), res.LatencyCount)
	fmt.Fprintf(w, "latency made of:       pipeline (POST→first viewer) p50 %s p99 %s; fan-out (first→last viewer of a push) p50 %s p99 %s\n",
		fmtDur(res.PipeP50), fmtDur(res.PipeP99), fmtDur(res.FanoutP50), fmtDur(res.FanoutP99))
	if res.ServerPID > 0 {
		fmt.Fprintf(w, "server RSS (pid %d):  %s before viewers, %s connected, %s at the end\n",
			res.ServerPID, mib(res.RSSBefore), mib(res.RSSConnected), mib(res.RSSEnd))
		fmt.Fprintf(w, "server RSS per viewer: %s\n", kib(res.RSSPerViewer))
		fmt.Fprintf(w, "server CPU:            %.2f cores on average while pushing; %s per chart update delivered\n", res.ServerCPU, perUpdateCPU(res.ServerCPU, res))
	}
	fmt.Fprintf(w, "dashload CPU:          %.2f cores on average while pushing (of %d on this machine); %s per chart update received\n", res.ToolCPU, runtime.NumCPU(), perUpdateCPU(res.ToolCPU, res))
	if !math.IsNaN(res.OtherCPU) {
		fmt.Fprintf(w, "other processes' CPU:  %.2f cores meanwhile (not dashload, not the server)\n", res.OtherCPU)
	}
	if res.RSSNote != "" {
		fmt.Fprintf(w, "note:                  %s\n", res.RSSNote)
	}
	if res.FirstPushError != "" {
		fmt.Fprintf(w, "first push error:      %s\n", res.FirstPushError)
	}
	if res.FirstViewerError != "" {
		fmt.Fprintf(w, "first viewer error:    %s\n", res.FirstViewerError)
	}
	if res.Scrub != nil {
		res.Scrub.print(w)
	}
}

// perUpdateCPU is cores (CPU-seconds per second of the window) per chart
// update delivered, as a duration of CPU.
func perUpdateCPU(cores float64, res *result) string {
	if math.IsNaN(cores) || res.Updates <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fµs", cores*res.PushWindow.Seconds()/res.Updates*1e6)
}

// perUpdate is the WebSocket bytes on the wire per chart update.
func perUpdate(res *result) string {
	if res.WireUpdates == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f B", float64(res.WireBytes)/float64(res.WireUpdates))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func kib(b float64) string {
	if math.IsNaN(b) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}
