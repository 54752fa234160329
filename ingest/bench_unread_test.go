package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// mapReaders reads the metrics of a set, as the board's catalog does.
type mapReaders map[string]bool

func (m mapReaders) Reads(metric string) bool { return m[metric] }

// BenchmarkJSONHandlerUnread is BenchmarkJSONHandler with the unread
// answer: "one metric" is the realistic batch (1,000 samples of one read
// metric: one Reads call); "1000 metrics" the worst case (every sample its
// own metric, all read: 1,000 calls and a set of 1,000 names).
func BenchmarkJSONHandlerUnread(b *testing.B) {
	distinct := func(n int) []byte {
		var s strings.Builder
		s.WriteString(`{"samples":[`)
		for i := range n {
			if i > 0 {
				s.WriteByte(',')
			}
			fmt.Fprintf(&s, `{"metric":"m%d","tags":{"route":"/api/v%d","status":"%d","host":"web-%02d"},"value":%d.5}`, i, i%7, 200+i%5, i%12, i%100)
		}
		s.WriteString(`]}`)
		return []byte(s.String())
	}
	all := mapReaders{"http_requests": true}
	for i := range 1000 {
		all[fmt.Sprintf("m%d", i)] = true
	}
	for _, bc := range []struct {
		name    string
		body    []byte
		readers ingest.Readers
	}{
		{"one metric/none", jsonBody(1000), nil},
		{"one metric/readers", jsonBody(1000), all},
		{"1000 metrics/none", distinct(1000), nil},
		{"1000 metrics/readers", distinct(1000), all},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := ingest.JSONHandler(discard{}, ingest.HandlerConfig{Clock: func() time.Time { return now }, Readers: bc.readers})
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/ingest", bytes.NewReader(bc.body)))
				if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "unread") {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
