package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/journal"
)

// checkpointDashboards are charts of every kind whose frames do not depend
// on the moment they are read within an hour (no rate, buckets of an hour).
func checkpointDashboards(avg charts.Agg) []charts.Dashboard {
	return []charts.Dashboard{{
		ID: "ck", Title: "Checkpoints",
		Charts: []charts.Chart{
			{ID: "by-route", Type: charts.Stacked, Metric: "req", X: "route", Series: "status", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
			{ID: "avg-by-route", Type: charts.Grouped, Metric: "lat", X: "route", Agg: avg, Window: charts.Duration(2 * time.Hour)},
			{ID: "over-time", Type: charts.Grouped, Metric: "req", X: charts.TimeAxis, Bucket: charts.Duration(time.Hour), Window: charts.Duration(24 * time.Hour), Agg: charts.Max},
			{ID: "ever", Type: charts.Grouped, Metric: "req", X: "status", Agg: charts.Count},
			{ID: "top", Type: charts.Grouped, Metric: "lat", X: "host", Agg: charts.Last, Top: 3, Window: charts.Duration(time.Hour)},
		},
	}}
}

// ckptChartData is what a chart shows, read from the API: its categories and
// series, without the seq and time of the frame.
func ckptChartData(t *testing.T, s *server, id string) string {
	t.Helper()
	code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/"+id+"/frame", ""))
	if code != http.StatusOK {
		t.Fatalf("GET frame of %s: %d %s", id, code, body)
	}
	var f struct {
		Categories []string          `json:"categories"`
		Series     []json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("frame of %s: %v", id, err)
	}
	return fmt.Sprintf("%q %s", f.Categories, f.Series)
}

func allData(t *testing.T, s *server, ds []charts.Dashboard) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range ds[0].Charts {
		out[c.ID] = ckptChartData(t, s, c.ID)
	}
	return out
}

// sameData waits (the board fills a changed chart from the log in the
// background) until s shows want, and fails saying which chart differs.
func sameData(t *testing.T, how string, s *server, ds []charts.Dashboard, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := allData(t, s, ds)
		diff := ""
		for id, w := range want {
			if got[id] != w {
				diff += fmt.Sprintf("\n  %s: got  %s\n  %s  want %s", id, got[id], strings.Repeat(" ", len(id)), w)
			}
		}
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the charts differ:%s", how, diff)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ingestN pushes body and waits until the board has applied want samples
// in all.
func ingestN(t *testing.T, s *server, body string, want uint64) {
	t.Helper()
	if code, resp := post(t, s.url+"/api/v1/ingest", "application/x-ndjson", body); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, resp)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.board.Stats().Applied < want {
		if time.Now().After(deadline) {
			t.Fatalf("the board applied %d samples, want %d", s.board.Stats().Applied, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// samples is NDJSON of n samples of req and lat, with times from two
// hours back to the future (clamped by the journal) and some without one.
func samples(n, offset int) (string, uint64) {
	now := time.Now()
	var b strings.Builder
	for i := range n {
		k := i + offset
		var at string
		switch k % 5 {
		case 0:
			at = `,"time":"` + now.Add(-90*time.Minute).Format(time.RFC3339Nano) + `"`
		case 1:
			at = `,"time":"` + now.Add(-time.Duration(k)*time.Second).Format(time.RFC3339Nano) + `"`
		case 2:
			at = `,"time":"` + now.Add(30*time.Second).Format(time.RFC3339Nano) + `"` // a little ahead: clamped to the log's time
		}
		fmt.Fprintf(&b, `{"metric":"req","tags":{"route":"/r%d","status":"%d"},"value":%d%s}`+"\n", k%4, 200+100*(k%3), k%7+1, at)
		fmt.Fprintf(&b, `{"metric":"lat","tags":{"route":"/r%d","host":"h%d"},"value":%d.5%s}`+"\n", k%4, k%6, k%11, at)
	}
	return b.String(), uint64(2 * n)
}

// startNode is startStoppable with the checkpoint at shutdown on or off.
func startNode(t *testing.T, edit func(*config.File), final bool) (*server, func()) {
	t.Helper()
	f := config.Default()
	f.Addr = "127.0.0.1:0"
	edit(f)
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{File: f})
	if err != nil {
		t.Fatal(err)
	}
	m.ckpt.noFinal = !final
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

// The charts after a restart are the same whether they start from a
// checkpoint and the log after it, or from the log alone; also when a
// definition changed between the runs (that chart alone is filled from
// the log), when the newest checkpoint is damaged (it is refused and
// the log read instead), and from the checkpoint written at shutdown
// (nothing left to replay).
func TestRestartFromCheckpointShowsWhatTheLogShows(t *testing.T) {
	t.Parallel()
	hour := time.Now().Truncate(time.Hour)
	ns := startNATS(t)
	ds := checkpointDashboards(charts.Avg)
	node := func(ds []charts.Dashboard, interval time.Duration) func(*config.File) {
		return func(f *config.File) {
			f.NATS.URL = ns.ClientURL()
			f.Dashboards = ds
			// The test writes checkpoints itself (Main.checkpoint); an
			// interval of an hour never fires, and 0 turns them off.
			f.Checkpoints.Interval = charts.Duration(interval)
		}
	}
	ctx := context.Background()

	// First run: samples, a checkpoint, more samples.
	a, stop := startNode(t, node(ds, time.Hour), false)
	body, n1 := samples(40, 0)
	ingestN(t, a, body, n1)
	if wrote, err := a.checkpoint(ctx); err != nil || !wrote {
		t.Fatalf("checkpoint: %v, %v", wrote, err)
	}
	if wrote, err := a.checkpoint(ctx); err != nil || wrote {
		t.Fatalf("a second checkpoint with nothing new: wrote %v, %v; want none", wrote, err)
	}
	cps, err := a.store.Checkpoints(ctx)
	if err != nil || len(cps) != 1 {
		t.Fatalf("Checkpoints = %+v, %v; want one", cps, err)
	}
	body, n2 := samples(25, 1000)
	ingestN(t, a, body, n1+n2)
	want := allData(t, a, ds)
	stop()

	// From the checkpoint, and from the log alone.
	b, stop := startNode(t, node(ds, time.Hour), false)
	if b.ckpt.start.Seq != cps[0].At.Seq {
		t.Fatalf("started from the checkpoint at seq %d, want %d", b.ckpt.start.Seq, cps[0].At.Seq)
	}
	if got := metricValue(t, b, "dashd_checkpoint_start_seq"); got != float64(cps[0].At.Seq) {
		t.Errorf("dashd_checkpoint_start_seq = %v, want %d", got, cps[0].At.Seq)
	}
	if got := b.board.Stats().Applied; got != n2 {
		t.Errorf("from the checkpoint the board applied %d samples, want the %d after it", got, n2)
	}
	sameData(t, "from a checkpoint", b, ds, want)
	stop()
	c, stop := startStoppable(t, node(ds, 0))
	if c.ckpt.start.Seq != 0 {
		t.Fatalf("checkpoints off, yet started from seq %d", c.ckpt.start.Seq)
	}
	sameData(t, "from the log alone", c, ds, want)
	stop()

	// A definition changed between the runs: avg becomes max. The log
	// alone says what it must show.
	changed := checkpointDashboards(charts.Max)
	c, stop = startStoppable(t, node(changed, 0))
	wantChanged := allData(t, c, changed)
	stop()
	if wantChanged["avg-by-route"] == want["avg-by-route"] {
		t.Fatal("the changed chart shows what it showed before: the test proves nothing")
	}
	d, stop := startNode(t, node(changed, time.Hour), false)
	if d.ckpt.start.Seq != cps[0].At.Seq {
		t.Fatalf("started from the checkpoint at seq %d, want %d", d.ckpt.start.Seq, cps[0].At.Seq)
	}
	sameData(t, "from a checkpoint, a definition changed", d, changed, wantChanged)
	stop()

	// The newest checkpoint damaged in the store: one byte changed.
	damage(t, ns.ClientURL(), cps[0].At.Seq)
	e, stop := startNode(t, node(ds, time.Hour), false)
	if e.ckpt.start.Seq != 0 {
		t.Fatalf("started from the damaged checkpoint at seq %d", e.ckpt.start.Seq)
	}
	if got := metricValue(t, e, "dashd_journal_checkpoints_unusable_total"); got < 1 {
		t.Errorf("dashd_journal_checkpoints_unusable_total = %v, want at least 1", got)
	}
	sameData(t, "a damaged checkpoint", e, ds, want)
	stop()

	// A clean stop writes a checkpoint at the last position the board
	// took; the next start replays nothing and shows the same.
	_, stop = startNode(t, node(ds, time.Hour), true)
	stop()
	g, stop := startNode(t, node(ds, time.Hour), false)
	if _, last, err := g.store.Bounds(ctx); err != nil || g.ckpt.start.Seq != last.Seq {
		t.Fatalf("started from seq %d, want the checkpoint written at shutdown at the log's last, %d (%v)", g.ckpt.start.Seq, last.Seq, err)
	}
	if got := g.board.Stats().Applied; got != 0 {
		t.Errorf("from the checkpoint written at shutdown the board applied %d samples, want none", got)
	}
	sameData(t, "from the checkpoint written at shutdown", g, ds, want)
	stop()

	if time.Now().Truncate(time.Hour) != hour {
		t.Skip("an hour began during the test: windows moved between the runs, so the comparison is void")
	}
}

// damage rewrites the checkpoint at seq with one byte changed, keeping its
// metadata: only the checkpoint's own checksum can tell.
func damage(t *testing.T, url string, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := js.ObjectStore(ctx, journal.CheckpointBucket)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%020d", seq)
	info, err := obs.GetInfo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := obs.GetBytes(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x20
	if _, err := obs.Put(ctx, jetstream.ObjectMeta{Name: name, Metadata: info.Metadata}, strings.NewReader(string(data))); err != nil {
		t.Fatal(err)
	}
}

// metricValue is the value of s's metric name (a counter or a gauge
// without labels).
func metricValue(t *testing.T, s *server, name string) float64 {
	t.Helper()
	mfs, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// The checkpoints kept: at most checkpoints.keep, no more bytes than
// checkpoints.max_bytes, the newest always.
func TestKeepWithin(t *testing.T) {
	t.Parallel()
	infos := func(sizes ...int64) []journal.CheckpointInfo {
		out := make([]journal.CheckpointInfo, len(sizes))
		for i, s := range sizes {
			out[i] = journal.CheckpointInfo{At: charts.Position{Seq: uint64(i + 1)}, Size: s}
		}
		return out
	}
	tests := map[string]struct {
		infos    []journal.CheckpointInfo
		keep     int
		maxBytes int64
		want     int
	}{
		"none":                    {nil, 10, 100, 1},
		"all fit":                 {infos(10, 10, 10), 10, 100, 3},
		"keep bounds":             {infos(10, 10, 10), 2, 100, 2},
		"bytes bound":             {infos(10, 30, 40, 50), 10, 100, 2},
		"exactly the bytes":       {infos(10, 50, 50), 10, 100, 2},
		"newest alone too large":  {infos(10, 500), 10, 100, 1},
		"the oldest do not count": {infos(1000, 10, 10), 10, 100, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := keepWithin(tc.infos, tc.keep, tc.maxBytes); got != tc.want {
				t.Fatalf("keepWithin = %d, want %d", got, tc.want)
			}
		})
	}
}
