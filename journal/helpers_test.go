package journal_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// collector is a sink that keeps every sample it is given, in order.
type collector struct {
	mu      sync.Mutex
	samples []ingest.Sample
	batches int
	// refuse, while positive, makes Accept answer an overload (and counts down).
	refuse int
}

func (c *collector) Accept(_ context.Context, batch []ingest.Sample) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse > 0 {
		c.refuse--
		return &ingest.OverloadError{RetryAfter: time.Second, Reason: "test"}
	}
	c.samples = append(c.samples, batch...)
	c.batches++
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

func (c *collector) all() []ingest.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ingest.Sample(nil), c.samples...)
}

func open(t testing.TB, cfg journal.Config) *journal.Journal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := journal.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func replayAll(t testing.TB, j *journal.Journal) []ingest.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c collector
	if _, err := j.Replay(ctx, &c, time.Time{}); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return c.all()
}

// logged stores batch as one message and returns it as the log gives it
// back: every time after the message's timestamp, or none, is that
// timestamp (the determinism rule).
func logged(t testing.TB, j *journal.Journal, batch []ingest.Sample) []ingest.Sample {
	t.Helper()
	accept(t, j, batch)
	_, last, err := j.Bounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := append([]ingest.Sample(nil), batch...)
	for i := range out {
		if out[i].Time.IsZero() || out[i].Time.After(last.Time) {
			out[i].Time = last.Time
		}
	}
	return out
}

// tricky is a batch that exercises every field of a Sample.
func tricky(base time.Time) []ingest.Sample {
	return []ingest.Sample{
		{Metric: "http_requests", Field: "value", Tags: []ingest.Tag{tag("route", "/a"), tag("status", "200")}, Value: 1, Time: base},
		{Metric: "http_requests", Field: "value", Tags: []ingest.Tag{tag("route", "/a"), tag("status", "200")}, Value: -2.5, Time: base.Add(1)},
		{Metric: "cpu.user%", Field: "usage idle", Tags: []ingest.Tag{tag("host", "α β"), tag("k=v", "x.y>*")}, Value: math.MaxFloat64, Time: base.Add(-time.Hour)},
		{Metric: "cpu.user%", Field: "n", Value: -math.MaxFloat64, Time: base.Add(3 * time.Nanosecond)},
		{Metric: "tiny", Field: "value", Value: math.SmallestNonzeroFloat64, Time: time.Unix(0, 0)},
		{Metric: "inf", Field: "value", Value: math.Inf(-1), Time: time.Unix(-1_000_000_000, 7)},
		{Metric: "nan", Field: "value", Value: math.NaN(), Time: time.Unix(0, math.MaxInt64)},
		{Metric: "zero", Field: "", Tags: []ingest.Tag{tag("", "")}, Value: 0},
		{Metric: "http_requests", Field: "value", Tags: []ingest.Tag{tag("route", "/b")}, Value: 1e300, Time: base.Add(time.Second)},
	}
}

// sameSamples reports the first difference between want and got.
func sameSamples(want, got []ingest.Sample) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Metric != g.Metric || w.Field != g.Field || len(w.Tags) != len(g.Tags) ||
			math.Float64bits(w.Value) != math.Float64bits(g.Value) || !w.Time.Equal(g.Time) || w.Time.IsZero() != g.Time.IsZero() {
			return fmt.Errorf("sample %d: got %+v, want %+v", i, g, w)
		}
		if (w.Running == nil) != (g.Running == nil) || (w.Running != nil && (w.Running.Series != g.Running.Series ||
			!w.Running.Start.Equal(g.Running.Start) || w.Running.Start.IsZero() != g.Running.Start.IsZero() ||
			w.Running.Head != g.Running.Head || w.Running.Grouped != g.Running.Grouped)) {
			return fmt.Errorf("sample %d running: got %+v, want %+v", i, g.Running, w.Running)
		}
		for k := range w.Tags {
			if w.Tags[k] != g.Tags[k] {
				return fmt.Errorf("sample %d tag %d: got %+v, want %+v", i, k, g.Tags[k], w.Tags[k])
			}
		}
	}
	return nil
}

func tag(k, v string) ingest.Tag { return ingest.Tag{Key: k, Value: v} }
