package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// sink records accepted batches; AcceptFunc, if set, decides the answer.
type sink struct {
	mu         sync.Mutex
	batches    [][]ingest.Sample
	AcceptFunc func(ctx context.Context, batch []ingest.Sample) error
}

func (s *sink) Accept(ctx context.Context, batch []ingest.Sample) error {
	if s.AcceptFunc != nil {
		if err := s.AcceptFunc(ctx, batch); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, batch)
	return nil
}

func (s *sink) samples() []ingest.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []ingest.Sample
	for _, b := range s.batches {
		all = append(all, b...)
	}
	return all
}

// server starts the three handlers on a real socket.
func server(t *testing.T, sk *sink, cfg ingest.HandlerConfig) string {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return now }
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/ingest", ingest.JSONHandler(sk, cfg))
	lp := ingest.LineProtocolHandler(sk, cfg)
	mux.Handle("/write", lp)
	mux.Handle("/api/v2/write", lp)
	mux.Handle("/api/v1/import/prometheus", ingest.PrometheusHandler(sk, cfg))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

type req struct {
	method, path, body string
	header             map[string]string
	gzip               bool
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, base string, r req) answer {
	t.Helper()
	var body io.Reader = strings.NewReader(r.body)
	if r.gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(r.body))
		zw.Close()
		body = &b
	}
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequest(method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.gzip {
		hr.Header.Set("Content-Encoding", "gzip")
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("body %q is not JSON: %v", raw, err)
		}
	}
	return a
}

func TestHandlersAccept(t *testing.T) {
	ts := itoa(now.Add(-time.Second).UnixNano())
	tests := map[string]struct {
		req     req
		status  int
		samples int
	}{
		"json envelope":       {req{path: "/api/v1/ingest", body: `{"samples":[{"metric":"a","value":1},{"metric":"b","value":2}]}`, header: map[string]string{"Content-Type": "application/json"}}, 200, 2},
		"json no type":        {req{path: "/api/v1/ingest", body: `[{"metric":"a","value":1}]`}, 200, 1},
		"ndjson":              {req{path: "/api/v1/ingest", body: "{\"metric\":\"a\",\"value\":1}\n{\"metric\":\"a\",\"value\":2}\n", header: map[string]string{"Content-Type": "application/x-ndjson"}}, 200, 2},
		"json gzip":           {req{path: "/api/v1/ingest", body: `[{"metric":"a","value":1}]`, gzip: true, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, 200, 1},
		"json empty envelope": {req{path: "/api/v1/ingest", body: `{"samples":[]}`}, 200, 0},
		"influx 1.x":          {req{path: "/write?db=x&precision=s", body: "cpu,host=a v=1 " + itoa(now.Unix()) + "\n"}, 204, 1},
		"influx 2.x gzip":     {req{path: "/api/v2/write?org=o&bucket=b&precision=ns", body: "cpu v=1,w=2 " + ts + "\n", gzip: true, header: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}, 204, 2},
		"prometheus":          {req{path: "/api/v1/import/prometheus", body: promText, header: map[string]string{"Content-Type": "text/plain; version=0.0.4"}}, 200, 13},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sk := &sink{}
			var outcomes []ingest.Outcome
			var mu sync.Mutex
			base := server(t, sk, ingest.HandlerConfig{Observe: func(o ingest.Outcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() }})
			a := do(t, base, tc.req)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.status, a.raw)
			}
			if tc.status == 200 && a.body["accepted"] != float64(tc.samples) {
				t.Fatalf("body %s, want accepted %d", a.raw, tc.samples)
			}
			got := sk.samples()
			if len(got) != tc.samples {
				t.Fatalf("sink got %d samples, want %d", len(got), tc.samples)
			}
			checkInvariants(t, got)
			mu.Lock()
			defer mu.Unlock()
			if len(outcomes) != 1 || outcomes[0].Status != tc.status || outcomes[0].Samples != tc.samples {
				t.Fatalf("outcomes %+v", outcomes)
			}
		})
	}
}

func TestHandlersRefuse(t *testing.T) {
	overload := func(_ context.Context, _ []ingest.Sample) error {
		return &ingest.OverloadError{RetryAfter: 1500 * time.Millisecond, Reason: "queue full"}
	}
	down := func(_ context.Context, _ []ingest.Sample) error {
		return &ingest.OverloadError{RetryAfter: 10 * time.Second, Reason: "log unreachable", Unavailable: true}
	}
	unconfirmed := func(_ context.Context, _ []ingest.Sample) error {
		return &ingest.OverloadError{RetryAfter: 2 * time.Second, Reason: "no ack in time", Unavailable: true, MaybeStored: true}
	}
	broken := func(_ context.Context, _ []ingest.Sample) error { return errors.New("disk on fire") }
	okJSON := `[{"metric":"a","value":1}]`
	big := `[` + strings.Repeat(`{"metric":"a","value":1},`, 2000) + `{"metric":"a","value":1}]`
	tests := map[string]struct {
		req        req
		cfg        ingest.HandlerConfig
		accept     func(context.Context, []ingest.Sample) error
		status     int
		msg        string // in "error" (and "message" for influx)
		detail     string // in details[0].message, if set
		influx     bool
		retryAfter string
	}{
		"json bad value": {req: req{path: "/api/v1/ingest", body: `[{"metric":"a","value":1},{"metric":"a","value":"x"}]`},
			status: 400, msg: "samples[1].value: expected a number, got string", detail: "samples[1].value: expected a number, got string"},
		"json unknown content type": {req: req{path: "/api/v1/ingest", body: okJSON, header: map[string]string{"Content-Type": "application/xml"}},
			status: 415, msg: "send application/json"},
		"json get": {req: req{method: "GET", path: "/api/v1/ingest"}, status: 405, msg: "use POST"},
		"json idempotency key with a space": {req: req{path: "/api/v1/ingest", body: okJSON, header: map[string]string{"Idempotency-Key": "a b"}},
			status: 400, msg: "the Idempotency-Key header has a character that is not visible ASCII at position 2"},
		"json idempotency key too long": {req: req{path: "/api/v1/ingest", body: okJSON, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}},
			status: 400, msg: "the Idempotency-Key header has 256 characters"},
		"lp idempotency key empty": {req: req{path: "/write", body: "a value=1\n", header: map[string]string{"Idempotency-Key": ""}},
			status: 400, msg: "the Idempotency-Key header has 0 characters", influx: true},
		"json body too large": {req: req{path: "/api/v1/ingest", body: big}, cfg: ingest.HandlerConfig{Limits: ingest.Limits{MaxBodyBytes: 1000}},
			status: 413, msg: "larger than the limit of 1000 bytes"},
		"json gzip too large decompressed": {req: req{path: "/api/v1/ingest", body: big, gzip: true}, cfg: ingest.HandlerConfig{Limits: ingest.Limits{MaxBodyBytes: 1000}},
			status: 413, msg: "after decompression"},
		"json too many samples": {req: req{path: "/api/v1/ingest", body: big}, cfg: ingest.HandlerConfig{Limits: ingest.Limits{MaxSamples: 100}},
			status: 413, msg: "more than 100 samples"},
		"corrupt gzip": {req: req{path: "/api/v1/ingest", body: okJSON, header: map[string]string{"Content-Encoding": "gzip"}},
			status: 400, msg: "gzip"},
		"unknown encoding": {req: req{path: "/api/v1/ingest", body: okJSON, header: map[string]string{"Content-Encoding": "br"}},
			status: 415, msg: "Content-Encoding"},
		"overloaded":        {req: req{path: "/api/v1/ingest", body: okJSON}, accept: overload, status: 429, msg: "queue full", retryAfter: "2"},
		"store down":        {req: req{path: "/api/v1/ingest", body: okJSON}, accept: down, status: 503, msg: "samples not accepted, nothing was stored: overloaded: log unreachable", retryAfter: "10"},
		"store unconfirmed": {req: req{path: "/api/v1/ingest", body: okJSON}, accept: unconfirmed, status: 503, msg: "samples not confirmed, they may or may not be stored: overloaded: no ack in time", retryAfter: "2"},
		"sink error":        {req: req{path: "/api/v1/ingest", body: okJSON}, accept: broken, status: 500, msg: "disk on fire"},
		"influx string field": {req: req{path: "/api/v2/write", body: "m v=1\nm s=\"x\"\n"}, influx: true,
			status: 400, msg: `line 2:3: field "s" is a string`},
		"influx bad precision": {req: req{path: "/write?precision=d", body: "m v=1\n"}, influx: true, status: 400, msg: "unknown precision"},
		"influx overloaded":    {req: req{path: "/api/v2/write", body: "m v=1\n"}, accept: overload, influx: true, status: 429, msg: "queue full", retryAfter: "2"},
		"influx too large":     {req: req{path: "/api/v2/write", body: strings.Repeat("m v=1\n", 300)}, cfg: ingest.HandlerConfig{Limits: ingest.Limits{MaxBodyBytes: 1000}}, influx: true, status: 413, msg: "larger than"},
		"influx too many":      {req: req{path: "/api/v2/write", body: "m a=1,b=2,c=3\n"}, cfg: ingest.HandlerConfig{Limits: ingest.Limits{MaxSamples: 2}}, influx: true, status: 413, msg: "more than 2 samples"},
		"prometheus +Inf": {req: req{path: "/api/v1/import/prometheus", body: "a 1\nb +Inf\n"},
			status: 400, msg: "b: value is infinite", detail: "b: value is infinite"},
		"prometheus protobuf": {req: req{path: "/api/v1/import/prometheus", body: "x", header: map[string]string{"Content-Type": "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"}},
			status: 415, msg: "text format"},
		"prometheus syntax": {req: req{path: "/api/v1/import/prometheus", body: "a 1\nb{ 2\n"}, status: 400, msg: "line 2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sk := &sink{AcceptFunc: tc.accept}
			var logs bytes.Buffer
			var logMu sync.Mutex
			cfg := tc.cfg
			cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
			base := server(t, sk, cfg)
			a := do(t, base, tc.req)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.status, a.raw)
			}
			if errMsg, _ := a.body["error"].(string); !strings.Contains(errMsg, tc.msg) {
				t.Fatalf("error %q does not contain %q", errMsg, tc.msg)
			}
			if tc.influx {
				if a.body["code"] == nil || !strings.Contains(a.body["message"].(string), tc.msg) {
					t.Fatalf("not InfluxDB's error shape: %s", a.raw)
				}
			}
			if tc.detail != "" {
				details, _ := a.body["details"].([]any)
				if len(details) == 0 || !strings.Contains(details[0].(map[string]any)["message"].(string), tc.detail) {
					t.Fatalf("details %v do not contain %q", a.body["details"], tc.detail)
				}
			}
			if got := a.header.Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if tc.accept == nil && len(sk.samples()) != 0 {
				t.Fatalf("a refused request reached the sink: %v", sk.samples())
			}
			logMu.Lock()
			defer logMu.Unlock()
			if n := strings.Count(logs.String(), "ingest request refused"); n != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", n, logs.String())
			}
		})
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestHandlerConcurrent checks that pooled buffers are not shared between
// requests, nor with the samples handed to the sink.
func TestHandlerConcurrent(t *testing.T) {
	sk := &sink{}
	base := server(t, sk, ingest.HandlerConfig{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				metric := "m" + itoa(int64(g))
				body := strings.Repeat(`{"metric":"`+metric+`","tags":{"i":"`+itoa(int64(i))+`"},"value":1}`+"\n", 50)
				if a := do(t, base, req{path: "/api/v1/ingest", body: body}); a.status != 200 {
					t.Errorf("status %d: %s", a.status, a.raw)
				}
			}
		})
	}
	wg.Wait()
	sk.mu.Lock()
	defer sk.mu.Unlock()
	for _, b := range sk.batches {
		for _, s := range b {
			if s.Metric != b[0].Metric || s.Tags[0] != b[0].Tags[0] {
				t.Fatalf("batch mixes requests: %+v vs %+v", s, b[0])
			}
		}
	}
	if len(sk.batches) != 160 {
		t.Fatalf("%d batches", len(sk.batches))
	}
}

// An exporter's output goes in unchanged, as Prometheus's own client
// library writes it: a fresh summary's quantile is NaN ("no value"), which
// is left out and reported, not a reason to refuse the scrape.
func TestPrometheusExporterOutputIsTakenAsItIs(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prometheus.NewSummary(prometheus.SummaryOpts{Name: "rpc_seconds", Help: "h", Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001}}),
		prometheus.NewGoCollector(),
	)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&body, mf); err != nil {
			t.Fatal(err)
		}
	}
	sk := &sink{}
	a := do(t, server(t, sk, ingest.HandlerConfig{}), req{path: "/api/v1/import/prometheus", body: body.String()})
	if a.status != http.StatusOK || a.body["no_value"] != float64(2) {
		t.Fatalf("answer %d %s; want 200 with no_value 2 (the two quantiles)", a.status, a.raw)
	}
	if got := len(sk.samples()); got == 0 || float64(got) != a.body["accepted"] {
		t.Errorf("%d samples reached the sink, the answer says %v", got, a.body["accepted"])
	}
}

func TestSampleAheadOfArrivalCountsAsArrivingNow(t *testing.T) {
	sk := &sink{}
	ahead := now.Add(90 * time.Second).UnixNano()
	body := fmt.Sprintf(`[{"metric":"a","value":1,"time":%d},{"metric":"a","value":2}]`, ahead)
	if a := do(t, server(t, sk, ingest.HandlerConfig{}), req{path: "/api/v1/ingest", body: body}); a.status != http.StatusOK {
		t.Fatalf("answer %d %s", a.status, a.raw)
	}
	for _, s := range sk.samples() {
		if !s.Time.Equal(now) {
			t.Errorf("sample %v stamped %v, want the arrival time %v", s.Value, s.Time, now)
		}
	}
}

// The client's Idempotency-Key reaches the sink with the batch, on every
// ingest route.
func TestIdempotencyKeyReachesTheSink(t *testing.T) {
	var (
		mu   sync.Mutex
		keys []string
	)
	sk := &sink{AcceptFunc: func(ctx context.Context, _ []ingest.Sample) error {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, ingest.IdempotencyKey(ctx))
		return nil
	}}
	base := server(t, sk, ingest.HandlerConfig{})
	for _, r := range []req{
		{path: "/api/v1/ingest", body: `[{"metric":"a","value":1}]`, header: map[string]string{"Idempotency-Key": "k-json"}},
		{path: "/write", body: "a value=1\n", header: map[string]string{"Idempotency-Key": "k-lp"}},
		{path: "/api/v1/import/prometheus", body: "a 1\n", header: map[string]string{"Idempotency-Key": "k-prom"}},
		{path: "/api/v1/ingest", body: `[{"metric":"a","value":1}]`},
	} {
		if a := do(t, base, r); a.status/100 != 2 {
			t.Fatalf("%s: %d %s", r.path, a.status, a.raw)
		}
	}
	if want := []string{"k-json", "k-lp", "k-prom", ""}; !slices.Equal(keys, want) {
		t.Fatalf("the sink saw keys %q, want %q", keys, want)
	}
}
