package ingest_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dashd/dashd/ingest"
)

// readers is an ingest.Readers made of a function, counting its calls.
type readers struct {
	ReadsFunc func(metric string) bool
	calls     atomic.Int64
}

func (r *readers) Reads(metric string) bool {
	r.calls.Add(1)
	return r.ReadsFunc(metric)
}

// unreadOf reads the metrics the header names.
func unreadOf(t *testing.T, a answer) []string {
	t.Helper()
	h := a.header.Get(ingest.UnreadHeader)
	if h == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(h, ",") {
		m, err := url.PathUnescape(p)
		if err != nil {
			t.Fatalf("%s: %q: %v", ingest.UnreadHeader, h, err)
		}
		out = append(out, m)
	}
	return out
}

// Issue 19: a misspelt metric was answered 200 {"accepted":1} and shown
// nowhere. The answer now names the metrics no chart reads.
func TestHandlersNameUnreadMetrics(t *testing.T) {
	t.Parallel()
	rd := &readers{ReadsFunc: func(m string) bool { return m == "refunds" || m == "cpu" || m == "http_requests_total" }}
	base := server(t, &sink{}, ingest.HandlerConfig{Readers: rd})
	tests := map[string]struct {
		req      req
		status   int
		want     []string
		wantBody bool // the JSON body says it too
	}{
		"json": {req{path: "/api/v1/ingest", body: `[{"metric":"refundz","value":1},{"metric":"refunds","value":1},{"metric":"refundz","value":2},{"metric":"a:b.c-d","value":3}]`},
			200, []string{"refundz", "a:b.c-d"}, true},
		"json all read": {req{path: "/api/v1/ingest", body: `[{"metric":"refunds","value":1}]`}, 200, nil, true},
		"line protocol": {req{path: "/write", body: "cpu v=1\nmemory v=2\n"}, 204, []string{"memory"}, false},
		"prometheus": {req{path: "/api/v1/import/prometheus", body: "http_requests_total 1\nup 1\n", header: map[string]string{"Content-Type": "text/plain; version=0.0.4"}},
			200, []string{"up"}, true},
	}
	for name, tc := range tests {
		a := do(t, base, tc.req)
		if a.status != tc.status {
			t.Fatalf("%s: status %d: %s", name, a.status, a.raw)
		}
		if got := unreadOf(t, a); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %s names %q, want %q", name, ingest.UnreadHeader, got, tc.want)
		}
		if !tc.wantBody {
			if a.raw != "" {
				t.Errorf("%s: body %q, want none (InfluxDB's 204)", name, a.raw)
			}
			continue
		}
		var got []string
		if u, ok := a.body["unread"].([]any); ok {
			for _, m := range u {
				got = append(got, m.(string))
			}
		} else if a.body["unread"] != nil {
			t.Errorf("%s: unread is %v", name, a.body["unread"])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: body %s, want unread %q", name, a.raw, tc.want)
		}
		if tc.want == nil && strings.Contains(a.raw, "unread") {
			t.Errorf("%s: body %s names unread metrics when all are read", name, a.raw)
		}
	}
}

// The list is bounded, and each distinct metric is asked about once.
func TestUnreadIsBounded(t *testing.T) {
	t.Parallel()
	rd := &readers{ReadsFunc: func(string) bool { return false }}
	base := server(t, &sink{}, ingest.HandlerConfig{Readers: rd})
	var b strings.Builder
	for i := range 50 {
		for range 3 {
			fmt.Fprintf(&b, "m%d v=1\n", i)
		}
	}
	a := do(t, base, req{path: "/write", body: b.String()})
	got := unreadOf(t, a)
	if len(got) != ingest.MaxUnread || got[0] != "m0" || got[ingest.MaxUnread-1] != "m9" {
		t.Errorf("unread %q, want m0…m9", got)
	}
	if n := rd.calls.Load(); n != ingest.MaxUnread {
		t.Errorf("Reads was called %d times for %d distinct metrics named", n, ingest.MaxUnread)
	}
}
