package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/dashd/dashd/config"
)

// packaging/dashd-self.yaml is a valid configuration, and dashd's own
// /metrics, posted to its Prometheus import, fills its charts.
func TestDashdWatchesItself(t *testing.T) {
	t.Parallel()
	self, err := config.Load("../../packaging/dashd-self.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(f *config.File) { f.Dashboards = self.Dashboards })
	dial(t, s, "charts=self-viewers").next()
	post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"m","value":1}]`)

	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, body := post(t, s.url+"/api/v1/import/prometheus", "text/plain; version=0.0.4", string(metrics))
	if code != http.StatusOK {
		t.Fatalf("posting /metrics back: %d %s", code, body)
	}
	eventually(t, "viewers over ws = 1", func() bool {
		x := getFrame(t, s, "self-viewers").value("ws", "dashd_stream_viewers")
		return x != nil && *x == 1
	})
	eventually(t, "accepted json = 1", func() bool {
		x := getFrame(t, s, "self-accepted").value("json", "dashd_ingest_samples_accepted_total")
		return x != nil && *x == 1
	})
	if f := getFrame(t, s, "self-goroutines"); len(f.Categories) == 0 {
		t.Error("no goroutines over time")
	}
}
