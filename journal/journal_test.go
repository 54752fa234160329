package journal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

func accept(t testing.TB, j *journal.Journal, batch []ingest.Sample) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.Accept(ctx, batch); err != nil {
		t.Fatalf("Accept: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := map[string]journal.Config{
		"memory": {},
		"file":   {Dir: t.TempDir()},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			j := open(t, cfg)
			base := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
			a, b := logged(t, j, tricky(base)), logged(t, j, tricky(base.Add(time.Minute)))
			if err := sameSamples(append(a, b...), replayAll(t, j)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, journal.Config{Dir: dir})
	want := logged(t, j, tricky(time.Now()))
	d := charts.Dashboard{ID: "web.v2", Title: "Web", Charts: []charts.Chart{{ID: "req", Metric: "http_requests", X: "route"}}}
	if err := j.PutDashboard(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = open(t, journal.Config{Dir: dir})
	if err := sameSamples(want, replayAll(t, j)); err != nil {
		t.Fatal(err)
	}
	ds, err := j.Dashboards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ID != "web.v2" || ds[0].Charts[0].Metric != "http_requests" {
		t.Fatalf("dashboards after restart: %+v", ds)
	}
}

func TestMemoryModeLeavesNothing(t *testing.T) {
	j := open(t, journal.Config{})
	accept(t, j, tricky(time.Now()))
	j.Close()
	j = open(t, journal.Config{})
	if got := replayAll(t, j); len(got) != 0 {
		t.Fatalf("a new memory journal holds %d samples", len(got))
	}
}

// A batch larger than max_payload is split into several messages, stored
// as one atomic batch, and read back whole and in order.
func TestOversizedBatch(t *testing.T) {
	j := open(t, journal.Config{Dir: t.TempDir()})
	base := time.Now()
	var batch []ingest.Sample
	for i := range 60_000 {
		batch = append(batch, ingest.Sample{
			Metric: fmt.Sprintf("m%d", i%7), Field: "value",
			Tags:  []ingest.Tag{tag("id", fmt.Sprintf("unique-%08d-%s", i, strings.Repeat("x", 20)))},
			Value: float64(i), Time: base.Add(time.Duration(i)),
		})
	}
	accept(t, j, batch)
	var c collector
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := j.Replay(ctx, &c, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages < 2 {
		t.Fatalf("a batch of about 3 MB was stored as %d message(s)", res.Messages)
	}
	if err := sameSamples(batch, c.all()); err != nil {
		t.Fatal(err)
	}
}

// Follow delivers the past, says when it caught up, then delivers live
// messages; an overloaded sink is retried, not skipped.
func TestFollow(t *testing.T) {
	j := open(t, journal.Config{})
	old := logged(t, j, tricky(time.Now()))

	c := &collector{refuse: 3}
	ctx, cancel := context.WithCancel(context.Background())
	caught := make(chan journal.ReplayResult, 1)
	done := make(chan error, 1)
	go func() {
		done <- j.Follow(ctx, c, journal.FollowConfig{CaughtUp: func(r journal.ReplayResult) { caught <- r }})
	}()
	select {
	case r := <-caught:
		if r.Samples != uint64(len(old)) || c.len() != len(old) {
			t.Fatalf("caught up after %d samples (sink has %d), want %d", r.Samples, c.len(), len(old))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never caught up")
	}
	live := logged(t, j, tricky(time.Now()))
	deadline := time.Now().Add(10 * time.Second)
	for c.len() < len(old)+len(live) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := sameSamples(append(old, live...), c.all()); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow: %v", err)
	}
}

func TestFollowEmptyLogIsCaughtUp(t *testing.T) {
	j := open(t, journal.Config{})
	accept(t, j, tricky(time.Now().Add(-time.Hour)))
	// Only messages stored before since: nothing to replay.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c collector
	res, err := j.Replay(ctx, &c, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 0 || c.len() != 0 {
		t.Fatalf("replayed %d samples stored before since", c.len())
	}
}

func TestDashboards(t *testing.T) {
	j := open(t, journal.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	chart := func(id string) []charts.Chart { return []charts.Chart{{ID: id, Metric: "m", X: "k"}} }
	if err := j.PutDashboard(ctx, charts.Dashboard{ID: "b", Charts: chart("b1")}); err != nil {
		t.Fatal(err)
	}

	sets := make(chan []charts.Dashboard, 16)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- j.WatchDashboards(wctx, func(ds []charts.Dashboard) { sets <- ds }) }()
	next := func() []string {
		t.Helper()
		select {
		case ds := <-sets:
			var ids []string
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			return ids
		case <-ctx.Done():
			t.Fatal("no call from WatchDashboards")
			return nil
		}
	}
	if got := fmt.Sprint(next()); got != "[b]" {
		t.Fatalf("first call %s, want [b]", got)
	}
	if err := j.PutDashboard(ctx, charts.Dashboard{ID: "a.x", Charts: chart("a1")}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(next()); got != "[a.x b]" {
		t.Fatalf("after put %s, want [a.x b]", got)
	}
	if err := j.DeleteDashboard(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(next()); got != "[a.x]" {
		t.Fatalf("after delete %s, want [a.x]", got)
	}
	if err := j.DeleteDashboard(ctx, "b"); !errors.Is(err, charts.ErrNotFound) {
		t.Fatalf("deleting a missing dashboard: %v, want ErrNotFound", err)
	}
	ds, err := j.Dashboards(ctx)
	if err != nil || len(ds) != 1 || ds[0].ID != "a.x" || ds[0].Charts[0].ID != "a1" {
		t.Fatalf("Dashboards = %+v, %v", ds, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// startNATS runs a nats-server on a random loopback port, as an external
// NATS would be.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
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

func TestExternalNATS(t *testing.T) {
	ns := startNATS(t)
	j := open(t, journal.Config{URL: ns.ClientURL()})
	want := logged(t, j, tricky(time.Now()))
	if err := sameSamples(want, replayAll(t, j)); err != nil {
		t.Fatal(err)
	}

	// A second node on the same NATS sees the same log and dashboards.
	j2 := open(t, journal.Config{URL: ns.ClientURL()})
	if err := sameSamples(want, replayAll(t, j2)); err != nil {
		t.Fatal(err)
	}

	// With the server gone, Accept answers an overload saying the store is
	// unavailable, within the time it allows.
	ns.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := j.Accept(ctx, want)
	var over *ingest.OverloadError
	if !errors.As(err, &over) || !over.Unavailable {
		t.Fatalf("Accept with NATS down = %v, want an *ingest.OverloadError with Unavailable", err)
	}
}

func TestConcurrentAccept(t *testing.T) {
	j := open(t, journal.Config{Dir: t.TempDir()})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				accept(t, j, []ingest.Sample{{Metric: "m", Field: "value", Tags: []ingest.Tag{tag("g", fmt.Sprint(g))}, Value: float64(i), Time: time.Now()}})
			}
		})
	}
	wg.Wait()
	if got := len(replayAll(t, j)); got != 400 {
		t.Fatalf("replayed %d samples, want 400", got)
	}
}

func TestReplaySince(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := func(cs ...charts.Chart) []charts.Dashboard { return []charts.Dashboard{{ID: "d", Charts: cs}} }
	tests := map[string]struct {
		ds   []charts.Dashboard
		want time.Duration
	}{
		"windows":         {d(charts.Chart{Metric: "m", Window: charts.Duration(time.Minute)}, charts.Chart{Metric: "m", Window: charts.Duration(time.Hour)}), time.Hour + ingest.DefaultMaxFuture},
		"time axis":       {d(charts.Chart{Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(10 * time.Second)}), 10*time.Minute + ingest.DefaultMaxFuture},
		"no window":       {d(charts.Chart{Metric: "m", X: "k"}), 24 * time.Hour},
		"push chart only": {d(charts.Chart{}), ingest.DefaultMaxFuture},
		"capped":          {d(charts.Chart{Metric: "m", Window: charts.Duration(48 * time.Hour)}), 24 * time.Hour},
	}
	for name, tc := range tests {
		if got := now.Sub(journal.ReplaySince(tc.ds, now, 24*time.Hour)); got != tc.want {
			t.Errorf("%s: %s back, want %s", name, got, tc.want)
		}
	}
}

func TestRetention(t *testing.T) {
	d := func(cs ...charts.Chart) []charts.Dashboard { return []charts.Dashboard{{ID: "d", Charts: cs}} }
	week := charts.Duration(7 * 24 * time.Hour)
	for name, tc := range map[string]struct {
		ds   []charts.Dashboard
		want time.Duration
	}{
		"longest window": {d(charts.Chart{Metric: "m", Window: week}, charts.Chart{Metric: "m", Window: charts.Duration(time.Hour)}), time.Duration(week) + ingest.DefaultMaxFuture},
		"time axis":      {d(charts.Chart{Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(time.Hour)}), 60*time.Hour + ingest.DefaultMaxFuture},
		"no bound":       {d(charts.Chart{Metric: "m", X: "k"}), 0},
		"push chart":     {d(charts.Chart{Window: week}), 0},
	} {
		if got := journal.Retention(tc.ds); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}

// The log keeps samples as long as the longest window asks, never less
// than Config.MaxAge, and a restart with the default does not cut it back
// (which would drop the older samples at once).
func TestRetainFollowsTheLongestWindow(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, journal.Config{Dir: dir, MaxAge: time.Hour})
	age := func(j *journal.Journal) time.Duration {
		t.Helper()
		a, err := j.MaxAge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if got := age(j); got != time.Hour {
		t.Fatalf("max age at open %s, want 1h", got)
	}
	if err := j.Retain(ctx, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := age(j); got != 72*time.Hour {
		t.Fatalf("max age after Retain(72h) %s", got)
	}
	accept(t, j, tricky(time.Now()))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = open(t, journal.Config{Dir: dir, MaxAge: time.Hour})
	if got := age(j); got != 72*time.Hour {
		t.Fatalf("max age after reopening with 1h: %s, want the 72h it had", got)
	}
	if n := len(replayAll(t, j)); n != len(tricky(time.Now())) {
		t.Fatalf("%d samples after reopening", n)
	}
	if err := j.Retain(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := age(j); got != time.Hour {
		t.Fatalf("max age once no chart needs more: %s, want Config.MaxAge 1h", got)
	}
}

// A retried request with the same Idempotency-Key is acknowledged and not
// stored again; another key, or none, is stored.
func TestIdempotencyKeyStoresOnce(t *testing.T) {
	j := open(t, journal.Config{})
	ctx := context.Background()
	batch := tricky(time.Now())
	keyed := ingest.WithIdempotencyKey(ctx, "4f1c2a9e-retry")
	for range 3 {
		if err := j.Accept(keyed, batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(replayAll(t, j)); n != len(batch) {
		t.Fatalf("after three tries with one key the log holds %d samples, want %d", n, len(batch))
	}
	if err := j.Accept(ingest.WithIdempotencyKey(ctx, "another"), batch); err != nil {
		t.Fatal(err)
	}
	accept(t, j, batch)
	if n := len(replayAll(t, j)); n != 3*len(batch) {
		t.Fatalf("with another key and with none the log holds %d samples, want %d", n, 3*len(batch))
	}
}

// A request over max_payload (an atomic batch) retried with the same
// Idempotency-Key is stored once too.
func TestIdempotencyKeyOversizedBatch(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	j := open(t, journal.Config{Registerer: reg})
	base := time.Now()
	var batch []ingest.Sample
	for i := range 60_000 {
		batch = append(batch, ingest.Sample{
			Metric: "m", Field: "value", Tags: []ingest.Tag{tag("id", fmt.Sprintf("unique-%08d-%s", i, strings.Repeat("x", 20)))},
			Value: float64(i), Time: base,
		})
	}
	keyed := ingest.WithIdempotencyKey(context.Background(), "big-retry")
	for range 2 {
		if err := j.Accept(keyed, batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(replayAll(t, j)); n != len(batch) {
		t.Fatalf("after two tries with one key the log holds %d samples, want %d", n, len(batch))
	}
	if n := counter(t, reg, "dashd_journal_duplicate_requests_total"); n != 1 {
		t.Fatalf("dashd_journal_duplicate_requests_total = %v, want 1", n)
	}
	if err := j.Accept(ingest.WithIdempotencyKey(context.Background(), "another"), batch); err != nil {
		t.Fatal(err)
	}
	if n := len(replayAll(t, j)); n != 2*len(batch) {
		t.Fatalf("with another key the log holds %d samples, want %d", n, 2*len(batch))
	}
}

// The cap of the log (nats.max_bytes) is applied at every start, also to a
// log that exists: an operator who raises it for a longer window gets it
// without deleting the data.
func TestMaxBytesIsAppliedToAnExistingLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	for _, want := range []int64{128 << 20, 256 << 20, journal.DefaultMaxBytes} {
		cfg := journal.Config{Dir: dir, MaxBytes: want}
		if want == journal.DefaultMaxBytes {
			cfg.MaxBytes = 0 // the default
		}
		j := open(t, cfg)
		st, err := j.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.MaxBytes != want {
			t.Fatalf("opened with MaxBytes %d: the stream caps the log at %d", cfg.MaxBytes, st.MaxBytes)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
