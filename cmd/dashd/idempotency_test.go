package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that retries a request (its answer was lost) with the same
// Idempotency-Key has its samples counted once; another key counts again.
func TestRetryWithIdempotencyKeyCountsOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	const body = `[{"metric":"http_requests","tags":{"route":"/retried","status":"200"},"value":5}]`
	for _, key := range []string{"7d0c3c52-once", "7d0c3c52-once", "7d0c3c52-once", "7d0c3c52-other"} {
		if code, answer := post(t, s.url+"/api/v1/ingest", "application/json", body, "Idempotency-Key", key); code != http.StatusOK || !strings.Contains(answer, `"accepted":1`) {
			t.Fatalf("POST with key %s: %d %s", key, code, answer)
		}
	}
	// A last sample without a key marks when the board has everything.
	post(t, s.url+"/write", "text/plain", "http_requests,route=/last,status=200 value=1\n")
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := getFrame(t, s, "req-by-route")
		if f.value("/last", "200") != nil {
			if x := f.value("/retried", "200"); x == nil || *x != 10 {
				t.Fatalf("/retried = %v, want 10 (5 once per key, two keys)", x)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the last sample never reached the chart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, metrics := do(t, mustRequest(t, http.MethodGet, s.url+"/metrics", ""))
	if !strings.Contains(metrics, "dashd_journal_duplicate_requests_total 2\n") {
		t.Errorf("/metrics does not count the two retries as duplicates")
	}
}
