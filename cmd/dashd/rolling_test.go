package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// This file restarts a cluster of three dashd nodes one by one behind a
// real reverse proxy, under ingest and with viewers on every node, as an
// operator rolls an upgrade through it (docs/operations.md, "Rolling
// restart"). The proxy, the viewers and the pusher behave as the real
// ones do: the proxy routes round-robin to the backends whose /readyz
// answered 200 and passes WebSocket upgrades; a viewer reconnects with the
// browser client's backoff (web/static/dashd-core.js) and takes the
// snapshot it gets on reconnect; the pusher retries 5xx, 429 and
// connection errors with the same Idempotency-Key.

// rollingChart sums the samples of each pusher: its categories are the
// pushers, its values what each had acknowledged.
const rollingChart = "roll"

func rollingDashboards() []charts.Dashboard {
	return append(clusterDashboards(), charts.Dashboard{ID: "rolling", Charts: []charts.Chart{
		// A window far longer than the test: no sample leaves it, so the
		// chart's clock plays no part in its totals.
		{ID: rollingChart, Metric: "roll", X: "pusher", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
	}})
}

// startRollingNode runs a dashd on addr ("127.0.0.1:0" for a new port)
// whose nats.url is natsURL, as startClusterNode does, with the shutdown
// delay delay, and waits until it is ready. stop is the SIGTERM path: the
// end of Run's context, after which Run drains and returns.
func startRollingNode(t *testing.T, natsURL, addr string, delay time.Duration) (*server, func()) {
	t.Helper()
	f := config.Default()
	f.Addr, f.Data = addr, ""
	f.NATS.URL, f.NATS.Replicas = natsURL, 3
	f.Auth.AdminTokens = []string{"adm1n"}
	f.Dashboards = rollingDashboards()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{File: f, ShutdownDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(stop)
	s := &server{Main: m, url: "http://" + m.Addr()}
	waitReady(t, s.url)
	return s, stop
}

// balancer is a load balancer in front of the nodes, as an operator puts
// one: httputil.ReverseProxy, round-robin over the backends that are up.
// A backend is up from the first /readyz that answered 200 and down from
// the first that did not, checked every interval (HAProxy's `check inter
// 1s rise 1 fall 1`; a Kubernetes readiness probe with periodSeconds 1
// and failureThreshold 1 is as quick). Like those, it learns nothing from
// the traffic itself: a request it cannot deliver is answered 502 and the
// backend stays up until its next check. A request with no backend up
// gets 503 with Retry-After, as HAProxy answers.
type balancer struct {
	backends []*backend
	next     atomic.Uint64
	proxy    *httputil.ReverseProxy
	srv      *httptest.Server
}

type backend struct {
	url *url.URL
	up  atomic.Bool
}

// backendKey carries the chosen backend from ServeHTTP to Rewrite and
// ErrorHandler.
type backendKey struct{}

// backendHeader names, in each answer, the backend that served it, so that
// a viewer knows which node it is on.
const backendHeader = "X-Test-Backend"

func startBalancer(t *testing.T, addrs []string, interval time.Duration) *balancer {
	t.Helper()
	lb := &balancer{}
	for _, a := range addrs {
		lb.backends = append(lb.backends, &backend{url: &url.URL{Scheme: "http", Host: a}})
	}
	lb.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(r.In.Context().Value(backendKey{}).(*backend).url)
			r.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(backendHeader, resp.Request.URL.Host)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b := r.Context().Value(backendKey{}).(*backend)
			w.Header().Set(backendHeader, b.url.Host)
			http.Error(w, "proxy: backend "+b.url.Host+": "+err.Error(), http.StatusBadGateway)
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	lb.srv = httptest.NewServer(http.HandlerFunc(lb.serve))
	t.Cleanup(lb.srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	check := &http.Client{Timeout: interval}
	for _, b := range lb.backends {
		b.up.Store(b.ready(ctx, check))
		wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					b.up.Store(b.ready(ctx, check))
				}
			}
		})
	}
	return lb
}

func (b *backend) ready(ctx context.Context, c *http.Client) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url.String()+"/readyz", nil)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (lb *balancer) serve(w http.ResponseWriter, r *http.Request) {
	n := uint64(len(lb.backends))
	start := lb.next.Add(1)
	for i := range n {
		if b := lb.backends[(start+i)%n]; b.up.Load() {
			lb.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
			return
		}
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "proxy: no backend is up", http.StatusServiceUnavailable)
}

// isUp reports whether the balancer routes to addr now.
func (lb *balancer) isUp(addr string) bool {
	for _, b := range lb.backends {
		if b.url.Host == addr {
			return b.up.Load()
		}
	}
	return false
}

// cluster is the set of running nodes; a restart swaps one.
type cluster struct {
	mu    sync.Mutex
	nodes map[string]*server // by address
}

func (c *cluster) node(addr string) *server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[addr]
}

func (c *cluster) set(addr string, s *server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[addr] = s
}

// totals are a frame of the rolling chart as pusher → sum.
type totals map[string]float64

func totalsOf(f frame) totals {
	out := totals{}
	for i, c := range f.Categories {
		if len(f.Series) > 0 && i < len(f.Series[0].Data) && f.Series[0].Data[i] != nil {
			out[c] = *f.Series[0].Data[i]
		}
	}
	return out
}

// atLeast reports whether every total of want is reached in t.
func (t totals) atLeast(want totals) bool {
	for k, v := range want {
		if t[k] < v {
			return false
		}
	}
	return true
}

// newestOf reads the node's current state of the rolling chart, straight
// from the node (not through the balancer): a read builds the newest
// frame from everything the node applied.
func newestOf(addr string) (totals, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/api/v1/charts/" + rollingChart + "/frame")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET frame: %d %s", resp.StatusCode, body)
	}
	var f frame
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, err
	}
	return totalsOf(f), nil
}

// outage is one viewer's time without the newest state: from the close
// of its connection to the first frame, on the node it reconnected to,
// with at least the totals that node had when the viewer reached it.
type outage struct {
	closeCode  int    // of the connection that closed (1006: no close frame)
	from, to   string // the node it left, the node it caught up on
	dials      int    // handshakes tried, the successful one included
	reconnect  time.Duration
	caughtUp   time.Duration // from the close; 0 while not caught up
	refusedBy  []int         // statuses of the refused handshakes
	readErrors []string      // target reads that failed (the node left meanwhile)
}

// rollingViewer is a WebSocket client of /api/v1/stream?charts=roll
// through the balancer that reconnects as dashd-core.js does: after a
// close, wait backoffDelay(attempt) and dial again, attempt back to 0 once
// a connection opens; every frame replaces what it shows, whatever its
// seq, since seqs are each node's own (the client resyncs on reconnect).
type rollingViewer struct {
	url  string
	rand *rand.Rand // the backoff's jitter, seeded per viewer

	mu       sync.Mutex
	first    string // the node of its first connection
	node     string // the node it is connected to, "" while down
	shown    totals
	outages  []outage
	blinks   []string // frames that showed less than the one before
	failures []string
}

// backoffDelay is dashd-core.js's: exponential with full jitter from
// 500 ms, capped at 30 s, at least 100 ms.
func backoffDelay(attempt int, random func() float64) time.Duration {
	ceiling := math.Min(30000, 500*math.Pow(2, float64(min(attempt, 16))))
	return time.Duration(math.Max(100, math.Floor(random()*ceiling))) * time.Millisecond
}

func (v *rollingViewer) run(ctx context.Context) {
	var (
		down    *outage   // the outage in progress, nil while caught up
		downAt  time.Time // when it began
		attempt int
	)
	defer func() {
		if down != nil {
			v.fail(fmt.Sprintf("still without the newest state at the end, %s after its node %s left", time.Since(downAt).Round(time.Millisecond), down.from))
		}
	}()
	for ctx.Err() == nil {
		dials := 0
		var conn *websocket.Conn
		var node string
		for {
			dials++
			c, resp, err := websocket.DefaultDialer.DialContext(ctx, v.url, nil)
			if err == nil {
				conn, node = c, resp.Header.Get(backendHeader)
				break
			}
			if ctx.Err() != nil {
				return
			}
			if down == nil {
				// Not even the first connection opened.
				v.fail(fmt.Sprintf("the first handshake failed: %v", err))
				return
			}
			if resp != nil {
				down.refusedBy = append(down.refusedBy, resp.StatusCode)
			}
			select {
			case <-time.After(backoffDelay(attempt, v.rand.Float64)):
			case <-ctx.Done():
				return
			}
			attempt++
		}
		attempt = 0
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		v.mu.Lock()
		v.node = node
		if v.first == "" {
			v.first = node
		}
		v.mu.Unlock()

		// The newest state is what the node has when the viewer reaches
		// it, and never less than what the viewer showed before it left.
		// A read that fails (a busy machine, a slow answer) is tried
		// again at the next frame, with a target that can only be higher.
		var want totals
		_, before := v.state()
		target := func() {
			newest, err := newestOf(node)
			if err != nil {
				down.readErrors = append(down.readErrors, err.Error())
				return
			}
			want = maps.Clone(before)
			for k, x := range newest {
				want[k] = max(want[k], x)
			}
		}
		if down != nil {
			down.to = node
			down.dials += dials
			down.reconnect = time.Since(downAt)
			target()
		}
		code := v.read(conn, func(got totals) {
			if down != nil && want == nil {
				target()
			}
			if down != nil && want != nil && got.atLeast(want) {
				down.caughtUp = time.Since(downAt)
				v.mu.Lock()
				v.outages = append(v.outages, *down)
				v.mu.Unlock()
				down = nil
			}
		})
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		v.mu.Lock()
		v.node = ""
		v.mu.Unlock()
		if down == nil {
			// The outage begins with this close; a close before the
			// viewer caught up (its new node left too) prolongs the one
			// in progress.
			down, downAt = &outage{closeCode: code, from: node}, time.Now()
		}
		select {
		case <-time.After(backoffDelay(attempt, v.rand.Float64)):
		case <-ctx.Done():
			return
		}
		attempt++
	}
}

// read takes frames from conn until it closes, giving each state of the
// rolling chart to seen, and returns the close code (1006 without one).
func (v *rollingViewer) read(conn *websocket.Conn, seen func(totals)) int {
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
				return ce.Code
			}
			return websocket.CloseAbnormalClosure
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			v.fail(fmt.Sprintf("a message is not JSON: %v: %s", err, msg))
			continue
		}
		frames := f.Frames
		if f.Type == "frame" {
			frames = []frame{f}
		}
		for _, f := range frames {
			if f.Chart != rollingChart {
				continue
			}
			got := totalsOf(f)
			v.mu.Lock()
			if !got.atLeast(v.shown) {
				// Totals only grow: a frame with less is a blink, the
				// bars falling back (a node that has not replayed the
				// whole log).
				v.blinks = append(v.blinks, fmt.Sprintf("%v after %v", got, v.shown))
			}
			v.shown = got
			v.mu.Unlock()
			seen(got)
		}
	}
}

func (v *rollingViewer) fail(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failures = append(v.failures, msg)
}

func (v *rollingViewer) state() (node string, shown totals) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.node, v.shown
}

// rollingPusher posts one sample a request to the balancer, each request
// with its own Idempotency-Key, and retries a request that got no answer,
// a 5xx or a 429 with the same key, as a client library does: after
// Retry-After when the answer has one, else after an exponential backoff
// with jitter (50 ms doubling, up to 1 s), for up to 30 s.
type rollingPusher struct {
	name string
	url  string
	rand *rand.Rand

	mu       sync.Mutex
	acked    float64 // sum of the values acknowledged
	requests int     // acknowledged
	retried  int     // requests that needed more than one attempt
	// badGateway counts the attempts the balancer answered 502: it sent
	// them to a node that was gone.
	badGateway int
	statuses   []string // what the attempts that failed got
	noRetry    []string // 429/503 from dashd without Retry-After
	failed     []string // requests given up
}

func (p *rollingPusher) run(ctx context.Context) {
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		value := float64(i%5 + 1)
		key := fmt.Sprintf("%s-%06d", p.name, i)
		body := fmt.Sprintf(`[{"metric":"roll","tags":{"pusher":%q},"value":%g}]`, p.name, value)
		if p.push(client, key, body) {
			p.mu.Lock()
			p.acked += value
			p.requests++
			p.mu.Unlock()
		}
	}
}

// push sends one request until it is acknowledged or given up. The
// context of the run is not the request's: a request begun is finished,
// so that what was acknowledged is known when the pushers stop.
func (p *rollingPusher) push(client *http.Client, key, body string) bool {
	giveUp := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/ingest", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			p.note(fmt.Sprintf("error: %v", err))
		case resp.StatusCode == http.StatusOK:
			resp.Body.Close()
			if attempt > 0 {
				p.mu.Lock()
				p.retried++
				p.mu.Unlock()
			}
			return true
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			from := resp.Header.Get(backendHeader)
			ra := resp.Header.Get("Retry-After")
			p.note(fmt.Sprintf("%d from %s (Retry-After %q): %s", resp.StatusCode, from, ra, strings.TrimSpace(string(msg))))
			if resp.StatusCode == http.StatusBadGateway {
				p.mu.Lock()
				p.badGateway++
				p.mu.Unlock()
			}
			if s, err := strconv.Atoi(ra); err == nil {
				wait = time.Duration(s) * time.Second
			} else if resp.StatusCode != http.StatusBadGateway {
				// 502 is the proxy's own; dashd's 429 and 503 must say when.
				p.mu.Lock()
				p.noRetry = append(p.noRetry, fmt.Sprintf("%d from %s: %s", resp.StatusCode, from, msg))
				p.mu.Unlock()
			}
		default:
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			p.mu.Lock()
			p.failed = append(p.failed, fmt.Sprintf("%s: %d %s (not retried)", key, resp.StatusCode, msg))
			p.mu.Unlock()
			return false
		}
		if wait == 0 {
			wait = time.Duration(p.rand.Float64() * float64(min(time.Second, 50*time.Millisecond<<min(attempt, 5))))
		}
		if time.Now().Add(wait).After(giveUp) {
			p.mu.Lock()
			p.failed = append(p.failed, fmt.Sprintf("%s: given up after %d attempts", key, attempt+1))
			p.mu.Unlock()
			return false
		}
		time.Sleep(wait)
	}
}

func (p *rollingPusher) note(status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.statuses = append(p.statuses, status)
}

func (p *rollingPusher) ackedSoFar() (requests int, sum float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.acked
}

// Three dashd nodes on a NATS cluster behind a load balancer, viewers on
// every node and pushers through the balancer; each node in turn is
// stopped as SIGTERM stops it and started again on the same address and
// NATS server. No acknowledged sample is lost (every node's final frame
// sums exactly what was acknowledged), no request fails once retried with
// its Idempotency-Key, no viewer ever sees a chart fall back, and every
// viewer of a leaving node shows the newest state again within two
// seconds of its connection's close. With a shutdown delay longer than
// the balancer needs to notice, no request meets a node that is gone: the
// balancer answers no 502 at all.
func TestRollingRestart(t *testing.T) {
	// Not parallel: three NATS servers and their nodes load the machine
	// enough on their own (see TestCluster).
	if testing.Short() {
		t.Skip("runs a NATS cluster of three and three dashd nodes")
	}
	// The balancer's health-check interval: one second is usual for a fast
	// rollout (HAProxy's default inter is 2 s).
	const healthInterval = time.Second
	// Without a shutdown delay the balancer learns that a node left or
	// came back only at its next check: until then it sends requests to
	// the closed port (502, which the pushers retry) and viewers to the
	// restarting node, which refuses them until it is ready (503): a
	// viewer may back off twice and take longer than two seconds (2.2 s
	// was seen), so the times are reported, not held to the bound.
	// Nothing is lost, no request fails, no chart falls back.
	t.Run("without a shutdown delay", func(t *testing.T) { rollingRestart(t, healthInterval, 0) })
	// The runbook's setting (docs/operations.md): two intervals, so the
	// balancer's next check falls inside the delay with an interval to
	// spare. It has taken the node out before its port closes and puts it
	// back once ready, so no request meets a closed port and every viewer
	// reconnects straight to a ready node, within two seconds.
	t.Run("with a shutdown delay", func(t *testing.T) { rollingRestart(t, healthInterval, 2*healthInterval) })
}

func rollingRestart(t *testing.T, healthInterval, shutdownDelay time.Duration) {
	const (
		viewersPerNode = 2
		pushers        = 3
		// Between restarts each pusher gets this many more requests
		// acknowledged, so that every node leaves and returns under ingest.
		requestsBetween = 15
		within          = 2 * time.Second
	)
	start := time.Now()
	ns := startNATSCluster(t, 3)
	var addrs []string
	cl := &cluster{nodes: map[string]*server{}}
	stops := map[string]func(){}
	natsOf := map[string]string{}
	for i := range 3 {
		s, stop := startRollingNode(t, ns[i].ClientURL(), "127.0.0.1:0", shutdownDelay)
		addrs = append(addrs, s.Addr())
		cl.set(s.Addr(), s)
		stops[s.Addr()] = stop
		natsOf[s.Addr()] = ns[i].ClientURL()
	}
	lb := startBalancer(t, addrs, healthInterval)
	t.Logf("NATS cluster and three dashd nodes ready in %s", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Viewers through the balancer: round-robin puts viewersPerNode on
	// each node.
	var viewers []*rollingViewer
	var viewersDone sync.WaitGroup
	wsURL := "ws://" + lb.srv.Listener.Addr().String() + "/api/v1/stream?charts=" + rollingChart
	for i := range 3 * viewersPerNode {
		v := &rollingViewer{url: wsURL, rand: rand.New(rand.NewPCG(uint64(i), 1))}
		viewers = append(viewers, v)
		viewersDone.Go(func() { v.run(ctx) })
		waitFor(t, 10*time.Second, fmt.Sprintf("viewer %d to connect", i), func() bool { n, _ := v.state(); return n != "" })
	}
	perNode := map[string]int{}
	for _, v := range viewers {
		n, _ := v.state()
		perNode[n]++
	}
	for _, a := range addrs {
		if perNode[a] == 0 {
			t.Fatalf("no viewer on node %s (viewers per node: %v)", a, perNode)
		}
	}

	pushCtx, stopPushing := context.WithCancel(ctx)
	var ps []*rollingPusher
	var pushersDone sync.WaitGroup
	for i := range pushers {
		p := &rollingPusher{name: fmt.Sprintf("p%d", i), url: lb.srv.URL, rand: rand.New(rand.NewPCG(uint64(i), 2))}
		ps = append(ps, p)
		pushersDone.Go(func() { p.run(pushCtx) })
	}
	// progress waits until every pusher has n more requests acknowledged.
	progress := func(what string, n int) {
		t.Helper()
		var base []int
		for _, p := range ps {
			r, _ := p.ackedSoFar()
			base = append(base, r)
		}
		waitFor(t, 60*time.Second, what, func() bool {
			for i, p := range ps {
				if r, _ := p.ackedSoFar(); r < base[i]+n {
					return false
				}
			}
			return true
		})
	}
	progress("ingest through the balancer", requestsBetween)

	for i, addr := range addrs {
		t0 := time.Now()
		stops[addr]() // SIGTERM: Run drains and returns
		stopped := time.Since(t0)
		// Started again on the same address and NATS server, as a
		// service manager restarts it (startStoppable waits for /readyz).
		s, stop := startRollingNode(t, natsOf[addr], addr, shutdownDelay)
		ready := time.Since(t0)
		cl.set(addr, s)
		stops[addr] = stop
		waitFor(t, 10*time.Second, "the balancer to route to the restarted node", func() bool { return lb.isUp(addr) })
		t.Logf("node %d (%s): stopped in %s, ready again %s after the stop began, back in the balancer after %s",
			i, addr, stopped.Round(time.Millisecond), ready.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		progress(fmt.Sprintf("ingest after restarting node %d", i), requestsBetween)
	}
	stopPushing()
	pushersDone.Wait()

	// Every node sums exactly what was acknowledged.
	want := totals{}
	sum, requests := 0.0, 0
	for _, p := range ps {
		r, s := p.ackedSoFar()
		want[p.name] = s
		sum += s
		requests += r
	}
	nodes := []*server{}
	for _, a := range addrs {
		nodes = append(nodes, cl.node(a))
	}
	f := converge(t, nodes, rollingChart, 20*time.Second, func(f frame) bool { return totalsOf(f).atLeast(want) })
	if got := totalsOf(f); !maps.Equal(got, want) {
		t.Errorf("every node shows %v, want the acknowledged %v", got, want)
	}
	// Every viewer shows it too.
	for i, v := range viewers {
		waitFor(t, 10*time.Second, fmt.Sprintf("viewer %d to show the final totals", i), func() bool {
			_, shown := v.state()
			return shown.atLeast(want)
		})
	}
	// Viewers stay where they reconnected: nothing moves them back to
	// the nodes restarted last.
	endNode := map[string]int{}
	for _, v := range viewers {
		n, _ := v.state()
		endNode[n]++
	}
	t.Logf("viewers per node before the restarts %v, after %v", perNode, endNode)
	cancel()
	viewersDone.Wait()

	// No request failed once retried; dashd said when to retry.
	retried, badGateway := 0, 0
	var statuses []string
	for _, p := range ps {
		badGateway += p.badGateway
		for _, f := range p.failed {
			t.Errorf("pusher %s: a request failed: %s", p.name, f)
		}
		for _, s := range p.noRetry {
			t.Errorf("pusher %s: an overload answer without Retry-After: %s", p.name, s)
		}
		retried += p.retried
		statuses = append(statuses, p.statuses...)
	}
	t.Logf("%d requests acknowledged (%.0f summed), %d of them after a retry; the failed attempts got:", requests, sum, retried)
	for _, s := range countLines(statuses) {
		t.Logf("  %s", s)
	}
	if shutdownDelay > 0 && badGateway > 0 {
		t.Errorf("with a shutdown delay of %s, the balancer still sent %d requests to a node that was gone (502)", shutdownDelay, badGateway)
	}

	// Every viewer of a leaving node caught up within two seconds of its
	// connection's close, on the node it reconnected to.
	var took []time.Duration
	for i, v := range viewers {
		for _, f := range v.failures {
			t.Errorf("viewer %d: %s", i, f)
		}
		for _, b := range v.blinks {
			t.Errorf("viewer %d saw the totals fall back: %s", i, b)
		}
		for _, o := range v.outages {
			took = append(took, o.caughtUp)
			t.Logf("viewer %d: closed %d by %s, reconnected to %s after %s (%d dials, refused %v), newest state after %s",
				i, o.closeCode, o.from, o.to, o.reconnect.Round(time.Millisecond), o.dials, o.refusedBy, o.caughtUp.Round(time.Millisecond))
			if o.closeCode != websocket.CloseGoingAway {
				t.Errorf("viewer %d was closed with %d by %s, want 1001 (going away)", i, o.closeCode, o.from)
			}
			if shutdownDelay > 0 && o.caughtUp > within {
				t.Errorf("viewer %d showed the newest state %s after its node %s left, want within %s (read errors %v)", i, o.caughtUp.Round(time.Millisecond), o.from, within, o.readErrors)
			}
		}
	}
	// Each node left once, and each of its viewers had to come back.
	if len(took) < 3*viewersPerNode {
		t.Errorf("%d reconnections measured, want at least %d (every viewer of every leaving node)", len(took), 3*viewersPerNode)
	}
	if len(took) > 0 {
		slices.Sort(took)
		t.Logf("newest state again after a node left: %d reconnections, median %s, max %s",
			len(took), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countLines folds equal lines into "N× line", most frequent first.
func countLines(lines []string) []string {
	n := map[string]int{}
	for _, l := range lines {
		n[l]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return n[b] - n[a] })
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d× %s", n[k], k)
	}
	return out
}
