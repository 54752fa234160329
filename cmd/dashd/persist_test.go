package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// startStoppable is startServer with a stop the test calls itself (it is
// also called at the end of the test; a second call does nothing).
func startStoppable(t testing.TB, edit func(*config.File)) (*server, func()) {
	t.Helper()
	f := config.Default()
	f.Addr = "127.0.0.1:0"
	f.Data = ""
	f.Dashboards = testDashboards()
	if edit != nil {
		edit(f)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{File: f})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	s := &server{Main: m, url: "http://" + m.Addr()}
	waitReady(t, s.url)
	return s, stop
}

func getFrame(t *testing.T, s *server, chart string) frame {
	t.Helper()
	code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/"+chart+"/frame", ""))
	if code != http.StatusOK {
		t.Fatalf("GET frame of %s: %d %s", chart, code, body)
	}
	var f frame
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("frame: %v: %s", err, body)
	}
	return f
}

func TestRestartKeepsCharts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	onDisk := func(f *config.File) { f.Data = dir }
	s, stop := startStoppable(t, onDisk)
	code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		`[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2},
		  {"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":5}]`)
	if code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	code, body = post(t, s.url+"/write", "text/plain", "http_requests,route=/a,status=200 value=3\n")
	if code != http.StatusNoContent {
		t.Fatalf("line protocol: %d %s", code, body)
	}
	stop()

	s, _ = startStoppable(t, onDisk)
	f := getFrame(t, s, "req-by-route")
	if x := f.value("/a", "200"); x == nil || *x != 5 {
		t.Errorf("after a restart /a 200 = %v, want 5 (frame %+v)", x, f)
	}
	if x := f.value("/b", "500"); x == nil || *x != 5 {
		t.Errorf("after a restart /b 500 = %v, want 5", x)
	}
}

// Two nodes on one NATS: a definition stored through one takes effect on
// the other, live, in an open WebSocket, and samples pushed to one show on
// the other.
func TestDefinitionChangeReachesAnOpenWebSocketOnAnotherNode(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	node := func(f *config.File) { f.NATS.URL = ns.ClientURL(); f.Auth.AdminTokens = []string{"adm1n"} }
	a, _ := startStoppable(t, node)
	b, _ := startStoppable(t, node)

	put := func(def string) {
		t.Helper()
		code, body := do(t, mustRequest(t, http.MethodPut, a.url+"/api/v1/dashboards/live", def, "Authorization", "Bearer adm1n"))
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("PUT: %d %s", code, body)
		}
	}
	put(`{"title":"Live","charts":[{"id":"live-chart","metric":"cpu","x":"host","agg":"sum","window":"1h"}]}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := b.board.Chart("live-chart"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard stored through node a never reached node b")
		}
		time.Sleep(5 * time.Millisecond)
	}
	v := dial(t, b, "charts=live-chart")
	v.next()
	post(t, a.url+"/api/v1/ingest", "application/json", `[{"metric":"cpu","tags":{"host":"h1"},"value":0.5},{"metric":"cpu","tags":{"host":"h1"},"value":0.9}]`)
	f := v.until("live-chart", func(f frame) bool { return len(f.Categories) == 1 })
	if x := f.value("h1", "cpu"); x == nil || *x != 1.4 {
		t.Fatalf("sum on node b = %v, want 1.4", x)
	}

	// Changing the aggregation redraws the chart, live, on node b, from the
	// samples the log already holds (the max of 0.5 and 0.9), then goes on.
	put(`{"title":"Live","charts":[{"id":"live-chart","metric":"cpu","x":"host","agg":"max","window":"1h"}]}`)
	isMax := func(want float64) func(frame) bool {
		return func(f frame) bool { x := f.value("h1", "cpu"); return x != nil && *x == want }
	}
	v.until("live-chart", isMax(0.9))
	post(t, a.url+"/api/v1/ingest", "application/json", `[{"metric":"cpu","tags":{"host":"h1"},"value":0.5},{"metric":"cpu","tags":{"host":"h1"},"value":1.2}]`)
	v.until("live-chart", isMax(1.2))
	if d, ok := b.board.Dashboard("live"); !ok || d.Charts[0].Agg != charts.Max {
		t.Fatalf("node b's definition: %+v", d)
	}
}

// The file wins for the ids it names: the API refuses to change them, and
// a stored definition that differs is replaced at start; dashboards made
// through the API survive a restart.
func TestFileAndAPIAgree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	edit := func(f *config.File) { f.Data = dir; f.Auth.AdminTokens = []string{"adm1n"} }
	s, stop := startStoppable(t, edit)
	auth := []string{"Authorization", "Bearer adm1n"}
	code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/web", `{"charts":[{"id":"w","metric":"m","x":"k"}]}`, auth...))
	if code != http.StatusConflict || !strings.Contains(body, "configuration") {
		t.Errorf("PUT of a dashboard of the file: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodDelete, s.url+"/api/v1/dashboards/web", "", auth...))
	if code != http.StatusConflict {
		t.Errorf("DELETE of a dashboard of the file: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/mine", `{"charts":[{"id":"req-by-route","metric":"m","x":"k"}]}`, auth...))
	if code != http.StatusBadRequest || !strings.Contains(body, `"field":"charts[0].id"`) {
		t.Errorf("PUT reusing a chart id of another dashboard: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/mine", `{"charts":[{"id":"mine-1","metric":"m","x":"k"}]}`, auth...))
	if code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	// Someone changed the stored "web" behind the file's back.
	changed := testDashboards()[0]
	changed.Title = "Changed in the bucket"
	if err := s.store.PutDashboard(context.Background(), changed); err != nil {
		t.Fatal(err)
	}
	stop()

	s, _ = startStoppable(t, edit)
	if d, ok := s.board.Dashboard("web"); !ok || d.Title != "Web traffic" {
		t.Errorf("after a restart web = %+v, want the file's definition", d)
	}
	if _, ok := s.board.Dashboard("mine"); !ok {
		t.Error("the dashboard made through the API did not survive a restart")
	}
}

// kill -9 while clients push: after a restart every sample answered 2xx is
// in the chart, none answered with an error is, and no request is half
// stored.
func TestKill9KeepsEveryAcknowledgedSample(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the dashd binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "dashd")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(tmp, "dashd.yaml")
	os.WriteFile(cfg, []byte(`dashboards:
  - id: k9
    charts:
      - id: k9
        metric: k9
        x: req
        agg: sum
        window: 1h
`), 0o644)
	data := filepath.Join(tmp, "data")

	run := func() (url string, cmd *exec.Cmd, logs string) {
		t.Helper()
		addr := freeAddr(t)
		logs = filepath.Join(tmp, fmt.Sprintf("dashd-%s.log", strings.ReplaceAll(addr, ":", "-")))
		out, err := os.Create(logs)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd = exec.Command(bin, "--config", cfg, "--data", data, "--addr", addr)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		url = "http://" + addr
		waitReady(t, url)
		return url, cmd, logs
	}
	url, cmd, _ := run()

	const perRequest = 10
	var (
		mu      sync.Mutex
		ok, bad []string // answered 2xx; answered with an error status
	)
	client := &http.Client{Timeout: 5 * time.Second}
	stopAt := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stopAt) && i < 100; i++ {
				req := fmt.Sprintf("g%d-%d", g, i)
				var body strings.Builder
				body.WriteString("[")
				for k := range perRequest {
					if k > 0 {
						body.WriteString(",")
					}
					fmt.Fprintf(&body, `{"metric":"k9","tags":{"req":%q},"value":1}`, req)
				}
				body.WriteString("]")
				resp, err := client.Post(url+"/api/v1/ingest", "application/json", strings.NewReader(body.String()))
				if err != nil {
					// No answer: stored or not, nobody was told either.
					time.Sleep(20 * time.Millisecond)
					continue
				}
				resp.Body.Close()
				mu.Lock()
				if resp.StatusCode/100 == 2 {
					ok = append(ok, req)
				} else {
					bad = append(bad, req)
				}
				mu.Unlock()
				time.Sleep(15 * time.Millisecond)
			}
		})
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wg.Wait()
	if len(ok) < 20 {
		t.Fatalf("only %d requests were acknowledged before the kill", len(ok))
	}

	url, _, logs := run()
	resp, err := http.Get(url + "/api/v1/charts/k9/frame")
	if err != nil {
		t.Fatal(err)
	}
	var f frame
	err = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range ok {
		if x := f.value(req, "k9"); x == nil || *x != perRequest {
			t.Errorf("request %s was acknowledged; after kill -9 its sum is %v, want %d", req, x, perRequest)
		}
	}
	for _, req := range bad {
		if x := f.value(req, "k9"); x != nil {
			t.Errorf("request %s was refused, yet its samples are in the chart (%v)", req, *x)
		}
	}
	for i, c := range f.Categories {
		if x := f.Series[0].Data[i]; x == nil || *x != perRequest {
			t.Errorf("request %s is half stored: sum %v", c, x)
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(logs)
		t.Logf("log of the restarted dashd:\n%s", b)
	}
	t.Logf("%d requests acknowledged, %d refused, %d in the chart after kill -9", len(ok), len(bad), len(f.Categories))
}

// freeAddr picks a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNATS runs a NATS server with JetStream on a loopback port for one
// test, as an operator's external NATS would be.
func startNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}
