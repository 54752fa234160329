package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestScrubPhases(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		slice time.Duration
		at    time.Duration // since base; pushing starts at 10s
		want  bool
	}{
		"before pushing":        {time.Second, 5 * time.Second, false},
		"first slice is quiet":  {time.Second, 10*time.Second + 500*time.Millisecond, false},
		"second slice scrubs":   {time.Second, 11*time.Second + 500*time.Millisecond, true},
		"third slice is quiet":  {time.Second, 12 * time.Second, false},
		"no slices: all scrubs": {0, 10 * time.Second, true},
		"no slices: not before": {0, 9 * time.Second, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &scrubPhase{slice: tc.slice}
			p.begin(10 * time.Second)
			if got := p.scrubbing(tc.at); got != tc.want {
				t.Fatalf("scrubbing(%s) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

// TestRunWithScrubbers drives the reference (which has no rewind) behind
// a front that answers the two rewind routes dashload's scrubbers use as
// dashd does (GET /api/v1/log; a frame ?at= that is 200, or 429 for every
// third ask): the run reports the answers, the scrub latency and the live
// latency apart, quiet and scrubbing.
func TestRunWithScrubbers(t *testing.T) {
	t.Parallel()
	_, base := startTestReference(t)
	back, _ := url.Parse(base)
	var asks, badMoments atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/log", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		fmt.Fprintf(w, `{"first":%q,"last":%q,"rewind":true}`, now.Add(-time.Hour).Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	})
	mux.HandleFunc("GET /api/v1/charts/{id}/frame", func(w http.ResponseWriter, r *http.Request) {
		if _, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("at")); err != nil || !strings.HasPrefix(r.PathValue("id"), chartPrefix) {
			badMoments.Add(1)
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if asks.Add(1)%3 == 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"busy"}`, http.StatusTooManyRequests)
			return
		}
		fmt.Fprintf(w, `{"type":"frame","chart":%q}`, r.PathValue("id"))
	})
	mux.Handle("/", httputil.NewSingleHostReverseProxy(back))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	sc := scenario{
		target: "http://" + ln.Addr().String(), dashboard: "dashload", viewers: 5,
		charts: 2, categories: 3, series: 1, pushRate: 40, batch: 4, format: "json",
		pushers: 2, duration: 2 * time.Second, settle: 20 * time.Millisecond, drain: 200 * time.Millisecond,
		dial: 8, maxPushes: 1000, serverPID: -1,
		scrubFlags: scrubFlags{scrubbers: 3, scrubEvery: 50 * time.Millisecond, scrubSlice: 500 * time.Millisecond},
	}
	var log bytes.Buffer
	res, err := runScenario(context.Background(), sc, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	var out bytes.Buffer
	res.print(&out)
	t.Logf("\n%s", out.String())
	s := res.Scrub
	if s == nil {
		t.Fatal("no scrubbing result")
	}
	if badMoments.Load() != 0 {
		t.Errorf("%d frame requests named no chart of dashload's or no RFC 3339 moment", badMoments.Load())
	}
	if s.Moments == 0 || s.OK == 0 || s.Busy == 0 || s.Other != 0 || s.LogFailed != 0 {
		t.Errorf("scrub answers: %d moments, %d ok, %d busy, %d other, %d log failed; want some ok and some busy, no other", s.Moments, s.OK, s.Busy, s.Other, s.LogFailed)
	}
	if s.OK+s.Busy+s.Moved != s.Moments*uint64(sc.charts) {
		t.Errorf("answers %d + %d + %d dropped, for %d moments of %d charts: some went uncounted", s.OK, s.Busy, s.Moved, s.Moments, sc.charts)
	}
	if s.P50 <= 0 || s.P99 < s.P50 {
		t.Errorf("scrub latency p50 %v p99 %v", s.P50, s.P99)
	}
	if s.Quiet.N == 0 || s.Scrub.N == 0 || s.Quiet.N+s.Scrub.N != res.LatencyCount {
		t.Errorf("live probes: %d quiet + %d scrubbing, of %d timed; want both phases, adding up", s.Quiet.N, s.Scrub.N, res.LatencyCount)
	}
	if s.Quiet.Window < time.Second/2 || s.Scrub.Window < time.Second/2 {
		t.Errorf("phases of %s quiet and %s scrubbing in a 2 s window of 500 ms slices", s.Quiet.Window, s.Scrub.Window)
	}
	for _, want := range []string{"live without scrub:", "live while scrubbing:", "scrub answers:", "scrub latency (200s):"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
