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
