package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/config"
)

// A node that is not ready yet (its replay of the log has not caught up)
// refuses streams with 503 and Retry-After, as its /readyz says: a viewer
// that a load balancer sends there before its next health check would
// otherwise get a first frame short of the log, and see the bars fall back.
// Once ready, the same stream opens with the replayed state.
func TestStreamsWaitForTheReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, stop := startStoppable(t, func(f *config.File) { f.Data = dir })
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":7}]`); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the sample to reach the chart", func() bool { return getFrame(t, s, "req-by-route").value("/a", "200") != nil })
	stop()

	f := config.Default()
	f.Addr, f.Data, f.Dashboards = "127.0.0.1:0", dir, testDashboards()
	// One frame a second: the node turns ready a second after its replay
	// caught up (one frame interval to publish it), which leaves this
	// test a second in which it is serving but not ready.
	f.Stream.MaxFPS = 1
	m, err := New(Config{File: f})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := m.Addr()

	// The listener is bound: this handshake waits for Run to serve it.
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/stream?charts=req-by-route", nil)
	if err == nil {
		t.Fatal("a stream opened on a node that had not replayed the log")
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"reason":"not_ready"`) {
		t.Errorf("the handshake before ready got %d, Retry-After %q: %s; want 503 with Retry-After and reason not_ready", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	sse, err := http.Get("http://" + addr + "/api/v1/stream/sse?charts=req-by-route")
	if err != nil {
		t.Fatal(err)
	}
	sse.Body.Close()
	if sse.StatusCode != http.StatusServiceUnavailable || sse.Header.Get("Retry-After") == "" {
		t.Errorf("SSE before ready got %d, Retry-After %q; want 503 with Retry-After", sse.StatusCode, sse.Header.Get("Retry-After"))
	}
	// Not vacuous: the node was still not ready when it refused them.
	ready, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d right after the refusals: the test did not reach the node before it was ready", ready.StatusCode)
	}

	_, metrics := do(t, mustRequest(t, http.MethodGet, "http://"+addr+"/metrics", ""))
	for _, want := range []string{`dashd_stream_not_ready_refusals_total{transport="ws"} 1`, `dashd_stream_not_ready_refusals_total{transport="sse"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}

	waitReady(t, "http://"+addr)
	v := dial(t, &server{Main: m, url: "http://" + addr}, "charts=req-by-route")
	if x := v.until("req-by-route", func(frame) bool { return true }).value("/a", "200"); x == nil || *x != 7 {
		t.Errorf("the first frame once ready has /a 200 = %v, want 7", x)
	}
}

// With a shutdown delay, SIGTERM first makes the node unready while it
// still serves: /readyz answers 503 "shutting down" (a load balancer
// learns it before the port closes), ingest is still stored and reaches
// the open viewers, new streams are refused; only then does the usual
// shutdown close the viewers with 1001. Without it, the port closed at once and readiness never told the
// balancer anything: what it sent until its next check was refused.
func TestShutdownDelayTellsTheBalancerFirst(t *testing.T) {
	t.Parallel()
	// Long enough for the steps below on a busy machine; the test waits
	// on events, never on this delay.
	s, stop := startWith(t, Config{ShutdownDelay: 5 * time.Second})
	v := dial(t, s, "charts=req-by-route")
	v.next()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	var body string
	waitFor(t, 5*time.Second, "/readyz to turn unready", func() bool {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz: %v: the node stopped serving without first saying it is not ready", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz during the delay says %q, want it to say shutting down", body)
	}
	code, answer := post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/late","status":"200"},"value":3}]`)
	if code != http.StatusOK {
		t.Fatalf("ingest during the delay: %d %s, want it stored", code, answer)
	}
	if x := v.until("req-by-route", func(f frame) bool { return f.value("/late", "200") != nil }).value("/late", "200"); *x != 3 {
		t.Errorf("the open viewer got /late = %v, want 3", *x)
	}
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=req-by-route", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a new stream during the delay: %v, want 503", err)
	}
	_, err := readUntil(v.conn, "req-by-route", 20*time.Second, func(frame) bool { return false })
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("the viewer at the end of the delay got %v, want a close with 1001", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// --shutdown-delay and DASHD_SHUTDOWN_DELAY set Config.ShutdownDelay; a
// negative or overlong one is refused, naming the flag.
func TestShutdownDelayFlag(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		return map[string]string{"DASHD_SHUTDOWN_DELAY": "3s"}[k], k == "DASHD_SHUTDOWN_DELAY"
	}
	o, err := parseOptions(nil, env, io.Discard)
	if err != nil || o.shutdownDelay != 3*time.Second {
		t.Errorf("DASHD_SHUTDOWN_DELAY=3s gives %s, %v; want 3s", o.shutdownDelay, err)
	}
	o, err = parseOptions([]string{"--shutdown-delay", "2s"}, env, io.Discard)
	if err != nil || o.shutdownDelay != 2*time.Second {
		t.Errorf("--shutdown-delay 2s over the environment gives %s, %v; want 2s", o.shutdownDelay, err)
	}
	for _, bad := range []string{"-1s", "2h"} {
		if _, err := parseOptions([]string{"--shutdown-delay", bad}, noEnv, io.Discard); err == nil || !strings.Contains(err.Error(), "--shutdown-delay") {
			t.Errorf("--shutdown-delay %s: %v, want an error naming the flag", bad, err)
		}
	}
}

// stallingProxy forwards TCP connections to target and can hold every
// byte in both directions, as a network partition does, while keeping
// the connections open.
type stallingProxy struct {
	addr string
	gate sync.RWMutex // held for writing while stalled
}

func startStallingProxy(t *testing.T, target string) *stallingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallingProxy{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.gate.RLock() // waits while stalled
				_, werr := dst.Write(buf[:n])
				p.gate.RUnlock()
				if werr != nil {
					return
				}
			}
			if err != nil {
				dst.Close()
				return
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { pipe(u, c) })
			wg.Go(func() { pipe(c, u) })
		}
	})
	return p
}

func (p *stallingProxy) stall()   { p.gate.Lock() }
func (p *stallingProxy) release() { p.gate.Unlock() }

// A starting node answers its probes at once, whatever holds up its start
// (here NATS, unreachable, first while New connects to it, then while Run
// provisions the dashboards): /healthz 200, /readyz 503 saying it is
// starting. Before, the port was bound in New long before it was served,
// and a probe (or a viewer sent by a balancer that had not noticed a
// restart) waited unanswered in the listen backlog.
func TestAStartingNodeAnswersItsProbes(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ns.ClientURL(), "nats://"))
	nats := startStallingProxy(t, "127.0.0.1:"+port)

	f := config.Default()
	f.Addr, f.Data, f.Dashboards = freeAddr(t), "", testDashboards()
	f.NATS.URL = "nats://" + nats.addr
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	// probes checks /healthz and /readyz; what says the start is stuck
	// is released after it, whatever it found.
	probes := func(phase string) {
		t.Helper()
		// Below nats.go's 2 s connect timeout, which would end New.
		probe := &http.Client{Timeout: 1500 * time.Millisecond}
		for _, path := range []string{"/healthz", "/readyz"} {
			want := map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable}[path]
			var resp *http.Response
			var err error
			for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
				// Refused until New has bound the port.
				if resp, err = probe.Get("http://" + f.Addr + path); err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "refused") {
					break
				}
			}
			if err != nil {
				t.Errorf("%s %s: %v", phase, path, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (path == "/readyz" && !strings.Contains(string(body), "starting")) {
				t.Errorf("%s %s: %d %s, want %d (and starting)", phase, path, resp.StatusCode, body, want)
			}
		}
	}

	nats.stall()
	made := make(chan *Main, 1)
	go func() {
		m, err := New(Config{File: f}) // connects to NATS and opens the log
		if err != nil {
			t.Errorf("New: %v", err)
		}
		made <- m
	}()
	probes("while New waits for NATS:")
	nats.release()
	m := <-made
	if m == nil {
		t.FailNow()
	}

	nats.stall()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	probes("while Run waits for NATS to load the dashboards:")
	nats.release()
	waitReady(t, "http://"+m.Addr())
}
