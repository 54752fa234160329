package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunAgainstReference(t *testing.T) {
	_, base := startTestReference(t)
	for _, format := range []string{"json", "lp"} {
		t.Run(format, func(t *testing.T) {
			sc := scenario{
				target: base, dashboard: "dashload", viewers: 20, sse: 2,
				charts: 3, categories: 5, series: 2, pushRate: 50, batch: 20, format: format,
				pushers: 2, duration: time.Second, settle: 50 * time.Millisecond, drain: 200 * time.Millisecond,
				dial: 8, maxPushes: 1000, serverPID: -1,
			}
			var log bytes.Buffer
			res, err := runScenario(context.Background(), sc, &log)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, log.String())
			}
			var out bytes.Buffer
			res.print(&out)
			t.Logf("\n%s", out.String())
			if res.ConnectedWS != 20 || res.ConnectedSSE != 2 || res.Dropped != 0 || res.ConnectFailed != 0 {
				t.Errorf("viewers: %d WS + %d SSE connected, %d failed, %d dropped; want 20 + 2, 0, 0", res.ConnectedWS, res.ConnectedSSE, res.ConnectFailed, res.Dropped)
			}
			// How many pushes fit in the second depends on the machine's
			// load: this checks that the run measures, not how fast it is
			// (figures belong to BENCHMARKS.md).
			if res.Pushes == 0 || res.PushesFailed != 0 {
				t.Errorf("pushes: %d ok, %d failed; want some, none failed", res.Pushes, res.PushesFailed)
			}
			if res.UpdatesPerSec <= 0 || res.MessagesPerSec <= 0 || res.SamplesPerSec <= 0 {
				t.Errorf("updates/s %.0f, messages/s %.0f, samples/s %.0f: nothing measured", res.UpdatesPerSec, res.MessagesPerSec, res.SamplesPerSec)
			}
			if res.LatencyCount == 0 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
				t.Errorf("latency: %d timed, p50 %v p99 %v max %v", res.LatencyCount, res.P50, res.P99, res.Max)
			}
			if !strings.Contains(out.String(), "latency POST→viewer") {
				t.Errorf("output lacks the latency line:\n%s", out.String())
			}
		})
	}
}

func TestRunRefusesOtherHosts(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--target", "http://192.0.2.1:8080"}, &bytes.Buffer{}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "only servers on this machine") {
		t.Fatalf("exit %d, stderr %q; want 1 and a refusal", code, stderr.String())
	}
}

func TestServerPIDFromPort(t *testing.T) {
	_, base := startTestReference(t)
	port := base[strings.LastIndexByte(base, ':')+1:]
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	pid, err := pidListening(p)
	if err != nil {
		t.Skipf("cannot read /proc here: %v", err)
	}
	if rss, err := rssBytes(pid); err != nil || rss == 0 {
		t.Fatalf("pid %d: rss %d, %v", pid, rss, err)
	}
}
