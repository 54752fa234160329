package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// testDashboards are the definitions most tests serve.
func testDashboards() []charts.Dashboard {
	return []charts.Dashboard{{
		ID: "web", Title: "Web traffic",
		Charts: []charts.Chart{
			{ID: "req-by-route", Title: "Requests by route", Type: charts.Stacked, Metric: "http_requests", X: "route", Series: "status", Agg: charts.Sum, Window: charts.Duration(5 * time.Minute)},
			{ID: "req-over-time", Type: charts.Grouped, Metric: "http_requests", X: charts.TimeAxis, Bucket: charts.Duration(time.Second), Window: charts.Duration(30 * time.Second)},
			{ID: "sales"},
		},
	}}
}

// server is a dashd running on 127.0.0.1:0 for one test.
type server struct {
	*Main
	url string
}

// startServer runs dashd with the test dashboards; edit changes the
// settings before it starts. It stops when the test ends.
func startServer(t testing.TB, edit func(*config.File)) *server {
	t.Helper()
	s, _ := startStoppable(t, edit)
	return s
}

// errorOf is the "error" of dashd's one error body.
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("not dashd's error body: %q (%v)", body, err)
	}
	return e.Error
}

// admin is the header that carries the server's admin token (configured
// or generated), for mustRequest.
func (s *server) admin() []string {
	return []string{"Authorization", "Bearer " + s.AdminToken()}
}

func waitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

func post(t *testing.T, url, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type frame struct {
	Type       string   `json:"type"`
	Chart      string   `json:"chart"`
	ID         string   `json:"id"`      // of a dashboard announcement
	Version    string   `json:"version"` // of a dashboard announcement
	Deleted    bool     `json:"deleted"` // of a dashboard announcement
	Seq        uint64   `json:"seq"`
	Categories []string `json:"categories"`
	Series     []struct {
		Name string     `json:"name"`
		Data []*float64 `json:"data"`
	} `json:"series"`
	Frames []frame `json:"frames"`
}

// viewer is a WebSocket client of /api/v1/stream.
type viewer struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, s *server, query string) *viewer {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?"+query, nil)
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
		}
		t.Fatalf("dial: %v %s", err, body)
	}
	t.Cleanup(func() { conn.Close() })
	return &viewer{t: t, conn: conn}
}

// next reads one message and returns the frames it carries.
func (v *viewer) next() []frame {
	v.t.Helper()
	v.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := v.conn.ReadMessage()
	if err != nil {
		v.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(msg, &f); err != nil {
		v.t.Fatalf("message is not JSON: %v: %s", err, msg)
	}
	switch f.Type {
	case "frame", "dashboard":
		return []frame{f}
	case "batch":
		return f.Frames
	}
	v.t.Fatalf("unknown message type %q: %s", f.Type, msg)
	return nil
}

// until reads messages until a frame of chart satisfies ok.
func (v *viewer) until(chart string, ok func(frame) bool) frame {
	v.t.Helper()
	for range 200 {
		for _, f := range v.next() {
			if f.Chart == chart && ok(f) {
				return f
			}
		}
	}
	v.t.Fatalf("no matching frame of %s in 200 messages", chart)
	return frame{}
}

// value returns the value of category/series in f, or nil.
func (f frame) value(category, series string) *float64 {
	for i, c := range f.Categories {
		if c != category {
			continue
		}
		for _, s := range f.Series {
			if s.Name == series {
				return s.Data[i]
			}
		}
	}
	return nil
}

func TestPushedSamplesReachAWebSocketViewer(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	v := dial(t, s, "dashboard=web")

	// The first message is the current state of every chart of the dashboard.
	snapshot := map[string]bool{}
	for _, f := range v.next() {
		if f.Type == "dashboard" {
			snapshot["@dashboard:"+f.ID] = f.Version != ""
			continue
		}
		snapshot[f.Chart] = true
	}
	for _, id := range []string{"req-by-route", "req-over-time", "sales", "@dashboard:web"} {
		if !snapshot[id] {
			t.Errorf("the snapshot has no frame of %s (got %v)", id, snapshot)
		}
	}

	// Posted as `curl -d '{…}'` posts it (the README's example): with curl's
	// default form content type.
	code, body := post(t, s.url+"/api/v1/ingest", "application/x-www-form-urlencoded",
		`{"samples":[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":1},
		             {"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2},
		             {"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":5}]}`)
	if code != http.StatusOK || !strings.Contains(body, `"accepted":3`) {
		t.Fatalf("ingest answered %d %s", code, body)
	}
	f := v.until("req-by-route", func(f frame) bool { return len(f.Categories) == 2 })
	if x := f.value("/a", "200"); x == nil || *x != 3 {
		t.Errorf("/a 200 = %v, want 3 (frame %+v)", x, f)
	}
	if x := f.value("/b", "500"); x == nil || *x != 5 {
		t.Errorf("/b 500 = %v, want 5", x)
	}
	if x := f.value("/b", "200"); x != nil {
		t.Errorf("/b 200 = %v, want null", *x)
	}

	// The same state over HTTP.
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/req-by-route/frame", ""))
	if code != http.StatusOK || !strings.Contains(body, `"categories":["/a","/b"]`) {
		t.Errorf("GET frame: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/req-by-route/option", ""))
	if code != http.StatusOK || !strings.Contains(body, `"id":"s:200"`) {
		t.Errorf("GET option: %d %s", code, body)
	}
}

func TestLineProtocolAndPrometheusReachTheCharts(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	v := dial(t, s, "charts=req-by-route")
	v.next()

	code, body := post(t, s.url+"/write?db=x", "text/plain", "http_requests,route=/lp,status=200 value=4\n")
	if code != http.StatusNoContent {
		t.Fatalf("/write answered %d %s", code, body)
	}
	code, body = post(t, s.url+"/api/v1/import/prometheus", "text/plain", "# TYPE http_requests counter\nhttp_requests{route=\"/prom\",status=\"200\"} 6\n")
	if code != http.StatusOK {
		t.Fatalf("prometheus import answered %d %s", code, body)
	}
	f := v.until("req-by-route", func(f frame) bool { return len(f.Categories) == 2 })
	if x := f.value("/lp", "200"); x == nil || *x != 4 {
		t.Errorf("/lp = %v, want 4", x)
	}
	if x := f.value("/prom", "200"); x == nil || *x != 6 {
		t.Errorf("/prom = %v, want 6", x)
	}
}

func TestRefusedIngestChangesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) { f.Auth.IngestTokens = []string{"s3cret"} })
	sample := `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":1}]`

	code, body := post(t, s.url+"/api/v1/ingest", "application/json", sample)
	if code != http.StatusUnauthorized || !strings.Contains(body, "Authorization") {
		t.Errorf("no token: %d %s", code, body)
	}
	code, body = post(t, s.url+"/api/v1/ingest", "application/json",
		`[{"metric":"http_requests","tags":{"route":"/a"},"value":1},{"metric":"http_requests","value":"x"}]`,
		"Authorization", "Bearer s3cret")
	if code != http.StatusBadRequest || !strings.Contains(body, "value") {
		t.Errorf("a bad second sample: %d %s", code, body)
	}
	code, body = post(t, s.url+"/api/v1/ingest", "application/json", sample, "Authorization", "Bearer s3cret")
	if code != http.StatusOK {
		t.Fatalf("a good request: %d %s", code, body)
	}
	// Only the good request is in the chart: the refused ones changed nothing.
	v := dial(t, s, "charts=req-by-route")
	f := v.until("req-by-route", func(f frame) bool { return len(f.Categories) > 0 })
	if x := f.value("/a", "200"); x == nil || *x != 1 {
		t.Errorf("/a = %v, want 1", x)
	}
}

func TestPushChartThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	v := dial(t, s, "charts=sales")
	v.next()
	code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/charts/sales/data",
		`{"categories":["Q1","Q2"],"series":[{"name":"EU","data":[3,null]},{"name":"US","data":[1,2]}]}`, s.admin()...))
	if code != http.StatusNoContent {
		t.Fatalf("PUT data: %d %s", code, body)
	}
	f := v.until("sales", func(f frame) bool { return len(f.Categories) == 2 })
	if x := f.value("Q1", "EU"); x == nil || *x != 3 {
		t.Errorf("Q1 EU = %v", x)
	}
	code, body = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/charts/req-by-route/data", `{"categories":[],"series":[]}`, s.admin()...))
	if code != http.StatusConflict {
		t.Errorf("PUT data on a metric chart: %d %s", code, body)
	}
}

func TestDashboardAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) { f.Auth.AdminTokens = []string{"adm1n"} })
	def := `{"title":"New","charts":[{"id":"new-chart","metric":"cpu","x":"host","agg":"max"}]}`

	code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/new", def))
	if code != http.StatusUnauthorized || !strings.Contains(body, "admin") {
		t.Errorf("PUT without a token: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/new",
		`{"charts":[{"id":"x","metric":"cpu","x":"host","agg":"median"}]}`, "Authorization", "Bearer adm1n"))
	if code != http.StatusBadRequest || !strings.Contains(body, `"field":"charts[0].agg"`) {
		t.Errorf("PUT a bad definition: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/new", def, "Authorization", "Bearer adm1n"))
	if code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/dashboards", ""))
	if code != http.StatusOK || !strings.Contains(body, `"id":"new"`) || !strings.Contains(body, `"id":"web"`) {
		t.Errorf("GET dashboards: %d %s", code, body)
	}

	v := dial(t, s, "dashboard=new")
	v.next()
	post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"cpu","tags":{"host":"h1"},"value":0.5},{"metric":"cpu","tags":{"host":"h1"},"value":0.9}]`)
	f := v.until("new-chart", func(f frame) bool { return len(f.Categories) == 1 })
	if x := f.value("h1", "cpu"); x == nil || *x != 0.9 {
		t.Errorf("max = %v, want 0.9", x)
	}

	code, _ = do(t, mustRequest(t, http.MethodDelete, s.url+"/api/v1/dashboards/new", "", "Authorization", "Bearer adm1n"))
	if code != http.StatusNoContent {
		t.Errorf("DELETE: %d", code)
	}
	// The open viewer of the dashboard is told, so its page can say so.
	for deleted := false; !deleted; {
		for _, f := range v.next() {
			deleted = deleted || (f.Type == "dashboard" && f.ID == "new" && f.Deleted)
		}
	}
	code, _ = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/dashboards/new", ""))
	if code != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d", code)
	}
}

func TestStreamRefusesUnknownTargets(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for query, want := range map[string]string{
		"dashboard=nope":           `no dashboard "nope"`,
		"charts=req-by-route,nope": `no chart "nope"`,
		"":                         "?dashboard=ID",
	} {
		code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/stream?"+query, ""))
		if code != http.StatusNotFound || !strings.Contains(errorOf(t, body), want) {
			t.Errorf("?%s: %d %q, want 404 with %q", query, code, body, want)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": "dashd_board_samples_applied_total",
	} {
		code, body := do(t, mustRequest(t, http.MethodGet, s.url+path, ""))
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d %.200s", path, code, body)
		}
	}
}

func mustRequest(t *testing.T, method, url, body string, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "dashd.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:7000\nlog_level: warn\nlog_format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DASHD_ADDR": "127.0.0.1:7001", "DASHD_LOG_LEVEL": "debug", "DASHD_CONFIG": file}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	o, err := parseOptions([]string{"--addr", "127.0.0.1:7002"}, lookup, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.file.Addr != "127.0.0.1:7002" {
		t.Errorf("addr %s: the flag must win over env and file", o.file.Addr)
	}
	if o.file.LogLevel != "debug" {
		t.Errorf("log level %s: env must win over the file", o.file.LogLevel)
	}
	if o.file.LogFormat != "json" {
		t.Errorf("log format %s: the file must win over the default", o.file.LogFormat)
	}
	if o.file.Data != "./data" {
		t.Errorf("data %s: the default", o.file.Data)
	}
}

func TestConfigMistakeStopsStartWithFileKeyAndExpectation(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "bad.yaml")
	src := "dashboards:\n  - id: web\n    charts:\n      - id: c\n        metric: m\n        x: route\n        agg: median\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--config", file, "--addr", "127.0.0.1:0"}, func(string) (string, bool) { return "", false }, io.Discard, &stderr)
	if code == 0 {
		t.Fatal("dashd started with a bad config")
	}
	for _, want := range []string{"bad.yaml", "agg", "median", "sum"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the message lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "dashd ") {
		t.Errorf("version: %d %q", code, out.String())
	}
}
