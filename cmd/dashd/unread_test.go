package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dashd/dashd/ingest"
)

// Issue 19: a misspelt metric was answered 200 {"accepted":1} and shown
// nowhere. Against the real server: every ingest route names the metrics no
// chart reads (JSON in its body, InfluxDB's 204 in a header), and a chart
// defined later for one makes it read.
func TestIngestNamesUnreadMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)

	code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		`[{"metric":"http_requests","tags":{"route":"/a"},"value":1},{"metric":"refundz","value":1},{"metric":"refundz","value":2}]`)
	if code != http.StatusOK || strings.TrimSpace(body) != `{"accepted":3,"unread":["refundz"]}` {
		t.Errorf("JSON ingest: %d %s", code, body)
	}
	code, body = post(t, s.url+"/api/v1/import/prometheus", "text/plain; version=0.0.4", "http_requests{route=\"/b\"} 1\nhttp_requestz 1\n")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"accepted":2,"unread":["http_requestz"]}` {
		t.Errorf("Prometheus ingest: %d %s", code, body)
	}
	code, body = post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/a"},"value":1}]`)
	if code != http.StatusOK || strings.TrimSpace(body) != `{"accepted":1}` {
		t.Errorf("JSON ingest of a read metric: %d %s", code, body)
	}

	lp := func() (int, string) {
		t.Helper()
		req := mustRequest(t, http.MethodPost, s.url+"/write?db=x", "http_requests,route=/c value=1\nrefundz value=1\n")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get(ingest.UnreadHeader)
	}
	if code, unread := lp(); code != http.StatusNoContent || unread != "refundz" {
		t.Errorf("line protocol: %d, %s %q", code, ingest.UnreadHeader, unread)
	}

	def := `{"charts":[{"id":"refunds","metric":"refundz","x":"route"}]}`
	if code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/refunds", def, s.admin()...)); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, unread := lp(); code != http.StatusNoContent || unread != "" {
		t.Errorf("line protocol after a chart reads refundz: %d, %s %q", code, ingest.UnreadHeader, unread)
	}
}
