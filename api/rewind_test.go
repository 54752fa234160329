package api_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/api"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/rewind"
	"github.com/dashd/dashd/stream"
)

// heldLog is the journal with a replay that waits until released, so that
// rewinds stay in flight.
type heldLog struct {
	*journal.Journal
	release chan struct{}
	started atomic.Int32
}

func (h *heldLog) ReplayRange(ctx context.Context, after, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	h.started.Add(1)
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Journal.ReplayRange(ctx, after, through, apply)
}

// TestRewindBeyondTheBoundIs429: with as many rewinds running as allowed, a
// request for another moment is answered 429 with Retry-After in the one
// error body, at once; a request for a moment being computed shares it.
func TestRewindBeyondTheBoundIs429(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, err := journal.Open(ctx, journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	hub := stream.New(stream.Config{})
	t.Cleanup(hub.Close)
	board := charts.NewBoard(charts.Config{}, hub)
	bctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = board.Run(bctx) })
	t.Cleanup(func() { stop(); wg.Wait() })
	if err := board.SetDashboards(ctx, []charts.Dashboard{{ID: "web", Charts: []charts.Chart{
		{ID: "req", Metric: "req", X: "route", Agg: charts.Sum, Window: charts.Duration(time.Minute)},
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Accept(ctx, []ingest.Sample{{Metric: "req", Field: "value", Value: 1, Time: time.Now(), Tags: []ingest.Tag{{Key: "route", Value: "/a"}}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	held := &heldLog{Journal: j, release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(held.release) })
	rw := rewind.New(rewind.Config{Log: j, Replay: held, MaxRewinds: 1, RetryAfter: 2 * time.Second})
	a := api.New(api.Config{Board: board, Streams: hub, Leases: access.NewLeases(), Rewind: rw, Replays: rw})
	handlers := everyRoute()
	maps.Copy(handlers, a.Handlers())
	srv := newRouter(t, access.Config{Loopback: true}, handlers)
	t.Cleanup(release) // before the server waits for its requests, should the test fail early

	at := time.Now()
	get := func(at time.Time) (*http.Response, string) {
		resp, err := http.Get(srv.URL + "/api/v1/charts/req/frame?at=" + url.QueryEscape(at.Format(time.RFC3339Nano)))
		if err != nil {
			t.Error(err)
			return nil, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	type answer struct {
		code int
		body string
	}
	first := make(chan answer, 2)
	for range 2 { // two callers of one moment: one computation
		go func() {
			resp, body := get(at)
			if resp != nil {
				first <- answer{resp.StatusCode, body}
			}
		}()
	}
	for held.started.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	resp, body := get(at.Add(-time.Millisecond))
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" ||
		!strings.Contains(body, `"reason":"busy"`) || !strings.Contains(body, `"error":"too many rewinds at once`) {
		t.Fatalf("another moment beyond the bound: %v %s", resp, body)
	}
	release()
	for range 2 {
		a := <-first
		if a.code != http.StatusOK || !strings.Contains(a.body, `"categories":["/a"]`) {
			t.Errorf("the moment in flight: %d %s", a.code, a.body)
		}
	}
	if n := held.started.Load(); n != 1 {
		t.Errorf("%d computations for two callers of one moment", n)
	}
	// Once done, the place is free again.
	if resp, body := get(at.Add(-time.Millisecond)); resp == nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after the bound cleared: %v %s", resp, body)
	}
}

// TestReplaysAreBounded: past MaxReplays open, another replay is refused
// with 429 and Retry-After before its stream starts; once one ends, the
// place is free.
func TestReplaysAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, err := journal.Open(ctx, journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	hub := stream.New(stream.Config{})
	t.Cleanup(hub.Close)
	board := charts.NewBoard(charts.Config{}, hub)
	bctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = board.Run(bctx) })
	t.Cleanup(func() { stop(); wg.Wait() })
	if err := board.SetDashboards(ctx, []charts.Dashboard{{ID: "web", Charts: []charts.Chart{
		{ID: "req", Metric: "req", X: "route", Agg: charts.Sum, Window: charts.Duration(time.Minute)},
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Accept(ctx, []ingest.Sample{{Metric: "req", Field: "value", Value: 1, Time: time.Now(), Tags: []ingest.Tag{{Key: "route", Value: "/a"}}}}); err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	time.Sleep(time.Second) // a replay at 1× from `from` lasts a second at least
	rw := rewind.New(rewind.Config{Log: j, Replay: j, MaxReplays: 1})
	a := api.New(api.Config{Board: board, Streams: hub, Leases: access.NewLeases(), Rewind: rw, Replays: rw})
	handlers := everyRoute()
	maps.Copy(handlers, a.Handlers())
	srv := newRouter(t, access.Config{Loopback: true}, handlers)
	u := srv.URL + "/api/v1/stream/sse?charts=req&from=" + url.QueryEscape(from.Format(time.RFC3339Nano))

	rctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	first, err := http.DefaultClient.Do(req)
	if err != nil || first.StatusCode != http.StatusOK {
		t.Fatalf("the first replay: %v %v", err, first)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many replays") {
		t.Fatalf("a second replay with one allowed: %d %s", resp.StatusCode, body)
	}
	cancel() // the first viewer leaves
	first.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rctx, cancel := context.WithCancel(ctx)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		code := 0
		if err == nil {
			code = resp.StatusCode
			cancel()
			resp.Body.Close()
		}
		cancel()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the place of a replay whose viewer left was not freed: %d %v", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
