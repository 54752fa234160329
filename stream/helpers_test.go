package stream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// env is a Hub behind a real HTTP server on 127.0.0.1:0.
type env struct {
	hub    *stream.Hub
	srv    *httptest.Server
	reg    *prometheus.Registry
	log    *syncBuffer
	leases sync.Map // name → context.Context or func() context.Context, for ?lease=name
}

// newEnv serves /ws and /sse with ?topics=a,b, and the lease named by
// ?lease= (see setLease), if any.
func newEnv(t testing.TB, cfg stream.Config) *env {
	t.Helper()
	return newEnvServer(t, cfg, nil)
}

// newEnvServer is newEnv with tune, if not nil, applied to the server
// before it starts; with EnableHTTP2 set, it starts with TLS.
func newEnvServer(t testing.TB, cfg stream.Config, tune func(*httptest.Server)) *env {
	t.Helper()
	e := &env{reg: prometheus.NewRegistry(), log: &syncBuffer{}}
	cfg.Registerer = e.reg
	if cfg.HeartbeatEvery == 0 {
		// No heartbeats among the frames a test expects: tests of the
		// heartbeat run its ticks with stream.Beat.
		cfg.HeartbeatEvery = -1
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e.hub = stream.New(cfg)
	mux := http.NewServeMux()
	topics := func(r *http.Request) []string { return strings.Split(r.URL.Query().Get("topics"), ",") }
	lease := func(r *http.Request) context.Context {
		name := r.URL.Query().Get("lease")
		if name == "" {
			return nil
		}
		l, ok := e.leases.Load(name)
		if !ok {
			panic("no lease " + name)
		}
		if f, ok := l.(func() context.Context); ok {
			return f()
		}
		return l.(context.Context)
	}
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) { e.hub.ServeWS(w, r, topics(r), lease(r)) })
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) { e.hub.ServeSSE(w, r, topics(r), lease(r)) })
	e.srv = httptest.NewUnstartedServer(mux)
	if tune != nil {
		tune(e.srv)
	}
	if e.srv.EnableHTTP2 {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(func() {
		e.hub.Close()
		e.srv.Close()
	})
	return e
}

// setLease makes lease the one of requests with ?lease=name.
func (e *env) setLease(name string, lease context.Context) {
	e.leases.Store(name, lease)
}

// setLeaseFunc makes requests with ?lease=name take a lease made by f.
func (e *env) setLeaseFunc(name string, f func() context.Context) {
	e.leases.Store(name, f)
}

func (e *env) wsURL(topics string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?topics=" + topics
}

// dial opens a WebSocket client subscribed to topics ("a,b").
func (e *env) dial(t testing.TB, topics string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(topics), nil)
	if err != nil {
		t.Fatalf("dial %s: %v (response %v)", topics, err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// metric returns the value of a counter or gauge; labels are name=value.
func (e *env) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// frame is what the tests publish: a frame-like message with a seq.
func frame(topic string, seq int) []byte {
	return fmt.Appendf(nil, `{"type":"frame","chart":%q,"seq":%d}`, topic, seq)
}

// bigFrame pads a frame to about size bytes.
func bigFrame(topic string, seq, size int) []byte {
	return fmt.Appendf(nil, `{"type":"frame","chart":%q,"seq":%d,"pad":%q}`, topic, seq, strings.Repeat("x", size))
}

type wireFrame struct {
	Type   string            `json:"type"`
	Chart  string            `json:"chart"`
	Seq    int               `json:"seq"`
	Frames []json.RawMessage `json:"frames"`
}

// decode returns the frames of one WebSocket message, batch or not.
func decode(t testing.TB, msg []byte) []wireFrame {
	t.Helper()
	var f wireFrame
	if err := json.Unmarshal(msg, &f); err != nil {
		t.Fatalf("message is not JSON: %v: %.200s", err, msg)
	}
	if f.Type != "batch" {
		return []wireFrame{f}
	}
	out := make([]wireFrame, 0, len(f.Frames))
	for _, raw := range f.Frames {
		var g wireFrame
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

// read reads one message within 10s.
func read(t testing.TB, c *websocket.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return msg
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
