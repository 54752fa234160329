package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// /metrics has what an operator needs beside the board's and the
// stream's: ingest by format and refusal reason, its latency, NATS and the
// log, the replay.
func TestOperatorMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"m","value":1},{"metric":"m","value":2}]`)
	post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"m","value":"x"}]`)
	post(t, s.url+"/write", "text/plain", "m value=\n")
	post(t, s.url+"/api/v1/ingest", "application/xml", `<m/>`)
	// The board applies what the log acknowledged a moment later.
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, body = do(t, mustRequest(t, http.MethodGet, s.url+"/metrics", ""))
		if strings.Contains(body, "dashd_board_apply_seconds_count 1\n") || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		"dashd_board_apply_seconds_count 1\n",
		"dashd_ready 1\n",
		`dashd_ingest_samples_accepted_total{format="json"} 2`,
		`dashd_ingest_requests_refused_total{format="json",reason="invalid"} 1`,
		`dashd_ingest_requests_refused_total{format="json",reason="unsupported_media_type"} 1`,
		`dashd_ingest_requests_refused_total{format="line protocol",reason="invalid"} 1`,
		`dashd_ingest_request_duration_seconds_count{format="json"} 3`,
		`dashd_nats_connected 1`,
		`dashd_journal_log_messages 1`,
		`dashd_journal_replay_seconds `,
		`dashd_journal_samples_stored_total 2`,
		`dashd_stream_viewers{transport="ws"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// SIGTERM (the end of Run's context) stops dashd within a bound even with
// viewers open on both transports: each is told the server is going away.
func TestShutdownIsBoundedWithOpenViewers(t *testing.T) {
	t.Parallel()
	s, stop := startStoppable(t, nil)
	var ws []*websocket.Conn
	for range 5 {
		ws = append(ws, dial(t, s, "dashboard=web").conn)
	}
	var sse []*http.Response
	for range 5 {
		resp, err := http.Get(s.url + "/api/v1/stream/sse?charts=req-by-route")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		sse = append(sse, resp)
	}
	start := time.Now()
	stop()
	took := time.Since(start)
	if took > 5*time.Second {
		t.Errorf("Run took %s to return with open viewers, want under 5s", took)
	}
	t.Logf("Run returned %s after its context ended, with 5 WebSocket and 5 SSE viewers", took.Round(time.Millisecond))
	for _, c := range ws {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var err error
		for err == nil {
			_, _, err = c.ReadMessage()
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("a WebSocket viewer got %v, want a close with 1001", err)
		}
	}
	for _, r := range sse {
		done := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, r.Body); done <- err }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("an SSE viewer's stream was left open")
		}
	}
}
