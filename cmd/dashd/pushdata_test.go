package main

import (
	"net/http"
	"testing"

	"github.com/dashd/dashd/config"
)

// Data set on a push chart through one node is stored: the other node on
// the same NATS shows it, live in an open WebSocket, and so does a node
// started afterwards. A refused PUT changes nothing.
func TestPushDataIsSharedBetweenNodes(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	node := func(f *config.File) { f.NATS.URL = ns.ClientURL() }
	a, _ := startStoppable(t, node)
	b, _ := startStoppable(t, node)
	v := dial(t, b, "charts=sales")
	v.next()

	const data = `{"categories":["Q1","Q2"],"series":[{"name":"EU","data":[3,null]},{"name":"US","data":[1,2]}]}`
	code, body := do(t, mustRequest(t, http.MethodPut, a.url+"/api/v1/charts/sales/data", data, a.admin()...))
	if code != http.StatusNoContent {
		t.Fatalf("PUT data on a: %d %s", code, body)
	}
	// Read after write on the node written to.
	if f := getFrame(t, a, "sales"); chartData(f) != `{"Categories":["Q1","Q2"],"Series":[{"name":"EU","data":[3,null]},{"name":"US","data":[1,2]}]}` {
		t.Errorf("node a right after the PUT: %s", chartData(f))
	}
	f := v.until("sales", func(f frame) bool { return len(f.Categories) == 2 })
	if x := f.value("Q2", "US"); x == nil || *x != 2 {
		t.Errorf("node b's viewer: Q2 US = %v, want 2", x)
	}
	if x := f.value("Q2", "EU"); x != nil {
		t.Errorf("node b's viewer: Q2 EU = %v, want null", *x)
	}

	code, body = do(t, mustRequest(t, http.MethodPut, b.url+"/api/v1/charts/sales/data", `{"categories":["Q1"],"series":[{"name":"EU","data":[1,2]}]}`, b.admin()...))
	if code != http.StatusBadRequest {
		t.Errorf("PUT of mismatched data: %d %s", code, body)
	}
	code, _ = do(t, mustRequest(t, http.MethodPut, b.url+"/api/v1/charts/req-by-route/data", data, b.admin()...))
	if code != http.StatusConflict {
		t.Errorf("PUT of data on a chart that reads a metric: %d", code)
	}

	c, _ := startStoppable(t, node)
	if got, want := chartData(getFrame(t, c, "sales")), chartData(getFrame(t, a, "sales")); got != want {
		t.Errorf("a node started afterwards was ready with %s, want %s", got, want)
	}
}

// Push data survives a restart on disk.
func TestPushDataSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	onDisk := func(f *config.File) { f.Data = dir }
	s, stop := startStoppable(t, onDisk)
	code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/charts/sales/data", `{"categories":["Q1"],"series":[{"name":"EU","data":[7]}]}`, s.admin()...))
	if code != http.StatusNoContent {
		t.Fatalf("PUT data: %d %s", code, body)
	}
	stop()
	s, _ = startStoppable(t, onDisk)
	if x := getFrame(t, s, "sales").value("Q1", "EU"); x == nil || *x != 7 {
		t.Errorf("after a restart Q1 EU = %v, want 7", x)
	}
}
