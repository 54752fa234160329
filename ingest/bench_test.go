package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// The bodies are realistic batches: 1,000 samples over a few metrics, with
// three tags each (routes × statuses × hosts), timestamps on every sample.

func jsonBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"samples":[`)
	ts := now.Add(-time.Minute).UnixMilli()
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":"http_requests","tags":{"route":"/api/v%d","status":"%d","host":"web-%02d"},"value":%d.5,"time":%d}`,
			i%7, 200+i%5, i%12, i%100, ts+int64(i))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func lpBody(n int) []byte {
	var b strings.Builder
	ts := now.Add(-time.Minute).UnixNano()
	for i := range n {
		fmt.Fprintf(&b, "http_requests,host=web-%02d,route=/api/v%d,status=%d value=%d.5 %d\n", i%12, i%7, 200+i%5, i%100, ts+int64(i))
	}
	return []byte(b.String())
}

// lpMultiBody has four fields per point, as Telegraf's inputs send.
func lpMultiBody(n int) []byte {
	var b strings.Builder
	ts := now.Add(-time.Minute).UnixNano()
	for i := range n / 4 {
		fmt.Fprintf(&b, "cpu,cpu=cpu%d,host=web-%02d usage_idle=%d.5,usage_user=1.25,usage_system=3i,up=true %d\n", i%8, i%12, i%100, ts+int64(i))
	}
	return []byte(b.String())
}

func promBody(n int) []byte {
	var b strings.Builder
	b.WriteString("# TYPE http_requests_total counter\n")
	for i := range n {
		fmt.Fprintf(&b, "http_requests_total{route=\"/api/v%d\",status=\"%d\",host=\"web-%02d\",i=\"%d\"} %d\n", i%7, 200+i%5, i%12, i, i)
	}
	return []byte(b.String())
}

func benchDecode(b *testing.B, body []byte, decode func([]byte) ([]ingest.Sample, error)) {
	b.Helper()
	got, err := decode(body)
	if err != nil {
		b.Fatal(err)
	}
	n := len(got)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkDecodeJSON(b *testing.B) {
	opt := ingest.DecodeOptions{Now: now}
	benchDecode(b, jsonBody(1000), func(p []byte) ([]ingest.Sample, error) { return ingest.DecodeJSON(p, opt) })
}

func BenchmarkDecodeLineProtocol(b *testing.B) {
	opt := ingest.DecodeOptions{Now: now}
	benchDecode(b, lpBody(1000), func(p []byte) ([]ingest.Sample, error) {
		return ingest.DecodeLineProtocol(p, time.Nanosecond, opt)
	})
}

func BenchmarkDecodeLineProtocolMultiField(b *testing.B) {
	opt := ingest.DecodeOptions{Now: now}
	benchDecode(b, lpMultiBody(1000), func(p []byte) ([]ingest.Sample, error) {
		return ingest.DecodeLineProtocol(p, time.Nanosecond, opt)
	})
}

func BenchmarkDecodePrometheus(b *testing.B) {
	opt := ingest.DecodeOptions{Now: now}
	benchDecode(b, promBody(1000), func(p []byte) ([]ingest.Sample, error) { s, _, err := ingest.DecodePrometheus(p, opt); return s, err })
}

// BenchmarkDecodeJSONStdlibBaseline decodes the same body with encoding/json
// into maps, without validation: the baseline the hand-written scanner beats.
func BenchmarkDecodeJSONStdlibBaseline(b *testing.B) {
	type sample struct {
		Metric string            `json:"metric"`
		Tags   map[string]string `json:"tags"`
		Value  float64           `json:"value"`
		Time   json.RawMessage   `json:"time"`
		Field  string            `json:"field"`
	}
	benchDecode(b, jsonBody(1000), func(p []byte) ([]ingest.Sample, error) {
		var env struct{ Samples []sample }
		if err := json.Unmarshal(p, &env); err != nil {
			return nil, err
		}
		return make([]ingest.Sample, len(env.Samples)), nil
	})
}

// BenchmarkJSONHandler is the whole request path without the network:
// body read into a pooled buffer, decode, validate, hand to a sink.
func BenchmarkJSONHandler(b *testing.B) {
	body := jsonBody(1000)
	h := ingest.JSONHandler(discard{}, ingest.HandlerConfig{Clock: func() time.Time { return now }})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/ingest", bytes.NewReader(body)))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// discard is a Sink that accepts and forgets.
type discard struct{}

func (discard) Accept(context.Context, []ingest.Sample) error { return nil }
