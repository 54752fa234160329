package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/journal"
)

// startNATSCluster runs n nats-server/v2 servers in the test process with
// JetStream, each its own store, routed to each other on loopback, and
// waits until JetStream has a meta leader that every server follows.
func startNATSCluster(t *testing.T, n int) []*natsserver.Server {
	t.Helper()
	ports := make([]string, n)
	for i := range ports {
		ports[i] = "nats-route://" + freeAddr(t)
	}
	routes := natsserver.RoutesFromStr(strings.Join(ports, ","))
	servers := make([]*natsserver.Server, n)
	for i := range n {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(ports[i], "nats-route://"))
		p, _ := strconv.Atoi(port)
		ns, err := natsserver.NewServer(&natsserver.Options{
			ServerName: fmt.Sprintf("nats-%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoSigs:     true,
			NoLog:      true,
			Cluster:    natsserver.ClusterOpts{Name: "dashd-test", Host: "127.0.0.1", Port: p},
			Routes:     routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(ns.Shutdown)
		servers[i] = ns
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		leader, current := false, true
		for _, ns := range servers {
			leader = leader || ns.JetStreamIsLeader()
			current = current && ns.JetStreamIsCurrent() && ns.NumRoutes() >= n-1
		}
		if leader && current {
			return servers
		}
		if time.Now().After(deadline) {
			t.Fatalf("the NATS cluster of %d did not form within 20s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clusterDashboards are the test dashboards plus one chart that shows
// every request pushed during a fault as its own category.
func clusterDashboards() []charts.Dashboard {
	return append(testDashboards(), charts.Dashboard{ID: "faults", Charts: []charts.Chart{
		{ID: "acks", Metric: "ack", X: "req", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
	}})
}

// startClusterNode runs a dashd whose nats.url is url, with the journal
// replicated three times.
func startClusterNode(t *testing.T, url string) (*server, func()) {
	t.Helper()
	return startStoppable(t, func(f *config.File) {
		f.NATS.URL = url
		f.NATS.Replicas = 3
		f.Auth.AdminTokens = []string{"adm1n"}
		f.Dashboards = clusterDashboards()
	})
}

// checkReplicas checks the journal's stream and bucket live on three
// servers.
func checkReplicas(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{journal.StreamName, "KV_" + journal.BucketName} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s has %d replicas, want 3", name, r)
		}
	}
}

// chartData is what must agree across nodes: a frame without its seq and
// time, which each node counts and stamps for itself.
func chartData(f frame) string {
	b, _ := json.Marshal(struct {
		Categories []string
		Series     any
	}{f.Categories, f.Series})
	return string(b)
}

// converge waits until every node serves the same data for chart and ok
// accepts it, and returns that frame.
func converge(t *testing.T, nodes []*server, chart string, within time.Duration, ok func(frame) bool) frame {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		frames := make([]frame, len(nodes))
		same := true
		for i, n := range nodes {
			var ok bool
			frames[i], ok = tryFrame(t, n, chart)
			same = same && ok && chartData(frames[i]) == chartData(frames[0])
		}
		if same && ok(frames[0]) {
			return frames[0]
		}
		if time.Now().After(deadline) {
			for i, f := range frames {
				t.Logf("node %d (%s): %s", i, nodes[i].url, chartData(f))
			}
			t.Fatalf("the nodes did not agree on %s within %s", chart, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tryFrame is getFrame that answers false where the chart is not (yet)
// defined.
func tryFrame(t *testing.T, s *server, chart string) (frame, bool) {
	t.Helper()
	code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/"+chart+"/frame", ""))
	if code == http.StatusNotFound {
		return frame{}, false
	}
	if code != http.StatusOK {
		t.Fatalf("GET frame of %s: %d %s", chart, code, body)
	}
	var f frame
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("frame: %v: %s", err, body)
	}
	return f, true
}

// pushRequest posts perRequest samples of metric ack tagged req=id and
// reports whether dashd acknowledged them.
func pushRequest(client *http.Client, url, id string) bool {
	const body = `[{"metric":"ack","tags":{"req":%[1]q},"value":1},{"metric":"ack","tags":{"req":%[1]q},"value":1}]`
	resp, err := client.Post(url+"/api/v1/ingest", "application/json", strings.NewReader(fmt.Sprintf(body, id)))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

const perRequest = 2 // samples in one pushRequest

// readUntil reads a viewer's messages until a frame of chart satisfies ok,
// for at most within; a closed connection ends it with the error.
func readUntil(conn *websocket.Conn, chart string, within time.Duration, ok func(frame) bool) (frame, error) {
	deadline := time.Now().Add(within)
	for {
		conn.SetReadDeadline(deadline)
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return frame{}, err
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			return frame{}, fmt.Errorf("message is not JSON: %w: %s", err, msg)
		}
		frames := f.Frames
		if f.Type == "frame" {
			frames = []frame{f}
		}
		for _, f := range frames {
			if f.Chart == chart && ok(f) {
				return f, nil
			}
		}
	}
}

func hasAll(ids []string) func(frame) bool {
	return func(f frame) bool {
		for _, id := range ids {
			if x := f.value(id, "ack"); x == nil || *x != perRequest {
				return false
			}
		}
		return true
	}
}

// Three NATS servers in a cluster and three dashd nodes, each on its own
// NATS server, with the journal replicated three times. What one node
// accepts or stores, every node shows, identically; a node that starts
// late is ready only once it serves the same state; losing a NATS server
// loses no acknowledged sample and no viewer; losing a dashd node costs
// its viewers one reconnect to another node, where the state is the same.
func TestCluster(t *testing.T) {
	// Not parallel: three NATS servers and their nodes load the machine
	// enough on their own.
	if testing.Short() {
		t.Skip("runs a NATS cluster of three and three dashd nodes")
	}
	start := time.Now()
	ns := startNATSCluster(t, 3)
	t.Logf("NATS cluster formed in %s", time.Since(start).Round(time.Millisecond))
	a, _ := startClusterNode(t, ns[0].ClientURL())
	b, stopB := startClusterNode(t, ns[1].ClientURL())
	checkReplicas(t, ns[1].ClientURL())
	t.Logf("two dashd nodes ready after %s", time.Since(start).Round(time.Millisecond))

	// Samples accepted by either node reach both, with the same data.
	code, body := post(t, a.url+"/api/v1/ingest", "application/json",
		`[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2},{"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":1}]`)
	if code != http.StatusOK {
		t.Fatalf("ingest on a: %d %s", code, body)
	}
	code, body = post(t, b.url+"/write", "text/plain", "http_requests,route=/a,status=200 value=3\nhttp_requests,route=/c,status=404 value=7\n")
	if code != http.StatusNoContent {
		t.Fatalf("line protocol on b: %d %s", code, body)
	}
	f := converge(t, []*server{a, b}, "req-by-route", 10*time.Second, func(f frame) bool { return len(f.Categories) == 3 })
	if x := f.value("/a", "200"); x == nil || *x != 5 {
		t.Errorf("/a 200 = %v on every node, want 5", x)
	}
	converge(t, []*server{a, b}, "req-over-time", 10*time.Second, func(f frame) bool { return len(f.Categories) > 0 })

	// A definition stored through b changes a.
	code, body = do(t, mustRequest(t, http.MethodPut, b.url+"/api/v1/dashboards/ops",
		`{"title":"Ops","charts":[{"id":"ops-max","metric":"http_requests","x":"route","agg":"max","window":"1h"}]}`, "Authorization", "Bearer adm1n"))
	if code != http.StatusCreated {
		t.Fatalf("PUT on b: %d %s", code, body)
	}
	// A chart defined while the nodes run is filled from the log on every
	// node: it shows at once the samples pushed before it existed.
	f = converge(t, []*server{a, b}, "ops-max", 10*time.Second, func(f frame) bool { return len(f.Categories) == 3 })
	for route, want := range map[string]float64{"/a": 3, "/b": 1, "/c": 7} {
		if x := f.value(route, "http_requests"); x == nil || *x != want {
			t.Errorf("max of %s on every node = %v, want %v (frame %s)", route, x, want, chartData(f))
		}
	}
	post(t, a.url+"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/m"},"value":4},{"metric":"http_requests","tags":{"route":"/m"},"value":9}]`)
	f = converge(t, []*server{a, b}, "ops-max", 10*time.Second, func(f frame) bool { return len(f.Categories) == 4 })
	if x := f.value("/m", "http_requests"); x == nil || *x != 9 {
		t.Errorf("max on every node = %v, want 9 (frame %s)", x, chartData(f))
	}
	if d, ok := a.board.Dashboard("ops"); !ok || d.Title != "Ops" {
		t.Errorf("node a has dashboard ops = %+v, %v", d, ok)
	}

	// A node that starts late is ready only once it serves the same state,
	// for the charts defined while the others ran too.
	c, _ := startClusterNode(t, ns[2].ClientURL())
	for _, id := range []string{"req-by-route", "ops-max"} {
		if got, want := chartData(getFrame(t, c, id)), chartData(getFrame(t, a, id)); got != want {
			t.Errorf("the late node was ready serving %s = %s, want %s", id, got, want)
		}
	}
	t.Logf("late node ready after %s", time.Since(start).Round(time.Millisecond))

	// Kill the NATS server of node a while clients push to a and b, and
	// viewers watch on a and c.
	nodes := []*server{a, b, c}
	va, vc := dial(t, a, "charts=acks"), dial(t, c, "charts=acks")
	va.next()
	vc.next()
	var (
		mu       sync.Mutex
		acked    []string
		refused  int
		killedAt = make(chan struct{})
	)
	client := &http.Client{Timeout: 15 * time.Second}
	var wg sync.WaitGroup
	for g, n := range []*server{a, b} {
		wg.Go(func() {
			stopAt := time.Time{}
			for i := 0; i < 120; i++ {
				if stopAt.IsZero() {
					select {
					case <-killedAt:
						stopAt = time.Now().Add(1500 * time.Millisecond)
					default:
					}
				} else if time.Now().After(stopAt) {
					return
				}
				id := fmt.Sprintf("%c%03d", 'a'+g, i)
				ok := pushRequest(client, n.url, id)
				mu.Lock()
				if ok {
					acked = append(acked, id)
				} else {
					refused++
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	killStart := time.Now()
	ns[0].Shutdown()
	close(killedAt)
	wg.Wait()
	pushed := time.Now()
	t.Logf("NATS server 0 killed mid-stream: %d requests acknowledged, %d refused; the last answer came %s after the kill", len(acked), refused, pushed.Sub(killStart).Round(time.Millisecond))
	if len(acked) < 20 {
		t.Fatalf("only %d requests were acknowledged", len(acked))
	}
	all := hasAll(acked)
	f = converge(t, nodes, "acks", 30*time.Second, all)
	t.Logf("every node shows every acknowledged sample %s after the last answer", time.Since(pushed).Round(time.Millisecond))
	for i, cat := range f.Categories {
		if x := f.Series[0].Data[i]; x == nil || *x != perRequest {
			t.Errorf("request %s is half stored or stored twice: sum %v", cat, x)
		}
	}
	// The viewers never lost their stream: the frames reach them on it.
	for name, v := range map[string]*viewer{"a (its NATS server killed)": va, "c": vc} {
		got, err := readUntil(v.conn, "acks", 20*time.Second, all)
		if err != nil {
			t.Fatalf("the viewer on node %s: %v", name, err)
		}
		if chartData(got) != chartData(f) {
			t.Errorf("the viewer on node %s sees %s, want %s", name, chartData(got), chartData(f))
		}
	}
	code, body = post(t, a.url+"/api/v1/ingest", "application/json", `[{"metric":"ack","tags":{"req":"after"},"value":2}]`)
	if code != http.StatusOK {
		t.Errorf("node a after its NATS server died: %d %s", code, body)
	}
	acked = append(acked, "after")
	waitReady(t, a.url) // /readyz needs NATS connected: node a reconnected

	// Definitions and push data still reach node a, whose watchers lived
	// on the dead server's connection.
	defStart := time.Now()
	code, body = do(t, mustRequest(t, http.MethodPut, c.url+"/api/v1/dashboards/after-kill",
		`{"charts":[{"id":"after-kill-chart"}]}`, "Authorization", "Bearer adm1n"))
	if code != http.StatusCreated {
		t.Fatalf("PUT on c after the kill: %d %s", code, body)
	}
	// A watcher whose consumer lived on the dead server notices by missed
	// heartbeats (1 s; with nats.go's own KV watch, a fixed 5 s, this took
	// up to 17 s).
	converge(t, nodes, "after-kill-chart", 10*time.Second, func(frame) bool { return true })
	t.Logf("a definition stored after the kill reached every node in %s", time.Since(defStart).Round(time.Millisecond))
	dataStart := time.Now()
	code, body = do(t, mustRequest(t, http.MethodPut, c.url+"/api/v1/charts/after-kill-chart/data", `{"categories":["x"],"series":[{"name":"s","data":[1]}]}`, c.admin()...))
	if code != http.StatusNoContent {
		t.Fatalf("PUT data on c after the kill: %d %s", code, body)
	}
	converge(t, nodes, "after-kill-chart", 10*time.Second, func(f frame) bool { return len(f.Categories) == 1 })
	t.Logf("push data stored after the kill reached every node in %s", time.Since(dataStart).Round(time.Millisecond))
	f = converge(t, nodes, "acks", 10*time.Second, hasAll(acked))

	// Stop node b: its viewer is closed with 1001, reconnects to c once and
	// sees the same state there.
	vb := dial(t, b, "charts=acks")
	vb.next()
	stopB()
	_, err := readUntil(vb.conn, "acks", 10*time.Second, func(frame) bool { return false })
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("the viewer of the stopped node got %v, want a close with 1001", err)
	}
	// Its first frame is what node c has published; the state read above
	// (a read builds the next frame but leaves publishing to the frame
	// interval) follows within one interval, on the same connection.
	again := dial(t, c, "charts=acks")
	again.until("acks", func(got frame) bool { return chartData(got) == chartData(f) })
	if !reflect.DeepEqual(getFrame(t, a, "acks").Categories, f.Categories) {
		t.Error("node a no longer agrees")
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// A measurement, not a test (DASHD_CLUSTER_BENCH=1): acknowledged ingest
// through one node of a three-server NATS cluster with the journal
// replicated once and three times, and how soon after the last answer
// every node of three shows every sample.
func TestClusterIngestFigures(t *testing.T) {
	// Not parallel: three NATS servers and their nodes load the machine
	// enough on their own.
	if os.Getenv("DASHD_CLUSTER_BENCH") == "" {
		t.Skip("a measurement: set DASHD_CLUSTER_BENCH=1")
	}
	for _, replicas := range []int{1, 3} {
		ns := startNATSCluster(t, 3)
		var nodes []*server
		for i := range 3 {
			n, _ := startStoppable(t, func(f *config.File) {
				f.NATS.URL = ns[i].ClientURL()
				f.NATS.Replicas = replicas
				f.Dashboards = clusterDashboards()
			})
			nodes = append(nodes, n)
		}
		const clients, batch = 4, 100
		var body strings.Builder
		body.WriteString("[")
		for k := range batch {
			if k > 0 {
				body.WriteString(",")
			}
			fmt.Fprintf(&body, `{"metric":"http_requests","tags":{"route":"/r%d","status":"200"},"value":1}`, k%20)
		}
		body.WriteString("]")
		var (
			mu    sync.Mutex
			acked int
			lat   []time.Duration
		)
		stopAt := time.Now().Add(3 * time.Second)
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for time.Now().Before(stopAt) {
					t0 := time.Now()
					resp, err := http.Post(nodes[0].url+"/api/v1/ingest", "application/json", strings.NewReader(body.String()))
					if err != nil {
						continue
					}
					resp.Body.Close()
					mu.Lock()
					if resp.StatusCode == http.StatusOK {
						acked += batch
						lat = append(lat, time.Since(t0))
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		last := time.Now()
		converge(t, nodes, "req-by-route", 30*time.Second, func(f frame) bool {
			sum := 0.0
			for _, x := range f.Series[0].Data {
				if x != nil {
					sum += *x
				}
			}
			return sum == float64(acked)
		})
		slices.Sort(lat)
		t.Logf("replicas %d: %d samples acknowledged in %s = %.0f samples/s (%d clients, %d samples a request); request p50 %s p99 %s; every node of 3 shows all %s after the last answer",
			replicas, acked, took.Round(time.Millisecond), float64(acked)/took.Seconds(), clients, batch,
			lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), time.Since(last).Round(time.Millisecond))
	}
}
