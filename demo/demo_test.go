package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/demo"
	"github.com/dashd/dashd/ingest"
)

func TestDashboardsCheck(t *testing.T) {
	ds := demo.Dashboards()
	if len(ds) < 2 {
		t.Fatalf("got %d dashboards, want at least 2", len(ds))
	}
	ids := map[string]string{}
	for _, d := range ds {
		if err := d.Check(); err != nil {
			t.Errorf("dashboard %s: %v", d.ID, err)
		}
		for _, c := range d.Charts {
			if prev, dup := ids[c.ID]; dup {
				t.Errorf("chart id %q in both %s and %s", c.ID, prev, d.ID)
			}
			ids[c.ID] = d.ID
			if c.Metric != demo.MetricRequests && c.Metric != demo.MetricLatency {
				t.Errorf("chart %s reads %q, which the generator does not write", c.ID, c.Metric)
			}
		}
	}
	// Fresh values on every call.
	ds[0].Charts[0].ID = "changed"
	if demo.Dashboards()[0].Charts[0].ID == "changed" {
		t.Error("Dashboards shares its values between calls")
	}
}

// tagsOf lists the tag keys the generator writes on each metric.
var tagsOf = map[string][]string{
	demo.MetricRequests: {"country", "region", "route", "status"},
	demo.MetricLatency:  {"region", "route", "status"},
}

func TestChartsReadWrittenTags(t *testing.T) {
	for _, d := range demo.Dashboards() {
		for _, c := range d.Charts {
			for _, key := range []string{c.X, c.Series} {
				if key == "" || key == charts.TimeAxis {
					continue
				}
				if !slices.Contains(tagsOf[c.Metric], key) {
					t.Errorf("chart %s groups by %q, a tag %s does not have", c.ID, key, c.Metric)
				}
			}
		}
	}
}

func TestBatchValid(t *testing.T) {
	g := demo.NewGenerator(nil, demo.GeneratorConfig{Seed: 1})
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seen := map[string]map[string]bool{} // tag key → values
	var requests, latencies int
	for i := range 600 { // 90 s of batches
		at := now.Add(time.Duration(i) * 150 * time.Millisecond)
		for _, s := range g.Batch(at) {
			if s.Field != ingest.DefaultField || !s.Time.Equal(at) {
				t.Fatalf("sample %+v: field or time wrong", s)
			}
			if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || s.Value <= 0 {
				t.Fatalf("sample %+v: value not finite and positive", s)
			}
			var keys []string
			for _, tag := range s.Tags {
				if tag.Value == "" {
					t.Fatalf("sample %+v: empty tag", s)
				}
				keys = append(keys, tag.Key)
				if seen[tag.Key] == nil {
					seen[tag.Key] = map[string]bool{}
				}
				seen[tag.Key][tag.Value] = true
			}
			if !slices.Equal(keys, tagsOf[s.Metric]) {
				t.Fatalf("sample %+v: tag keys %v, want %v (sorted, no repeats)", s, keys, tagsOf[s.Metric])
			}
			switch s.Metric {
			case demo.MetricRequests:
				requests += int(s.Value)
				if s.Value != math.Trunc(s.Value) {
					t.Fatalf("sample %+v: a count with a fraction", s)
				}
			case demo.MetricLatency:
				latencies++
			}
		}
	}
	if requests != latencies {
		t.Errorf("%d requests counted but %d latencies", requests, latencies)
	}
	// 90 s at a mean of 200/s, give or take drift and bursts.
	if requests < 12000 || requests > 40000 {
		t.Errorf("%d requests in 90 s, want about 18000", requests)
	}
	for key, min := range map[string]int{"route": 7, "country": 12, "region": 4, "status": 5} {
		if len(seen[key]) < min {
			t.Errorf("only %d values of %s: %v", len(seen[key]), key, seen[key])
		}
	}
	if !seen["status"]["503"] {
		t.Error("no burst of 503s in 90 s")
	}
}

func TestBatchDeterministic(t *testing.T) {
	run := func(seed uint64) []ingest.Sample {
		g := demo.NewGenerator(nil, demo.GeneratorConfig{Seed: seed})
		now := time.Unix(1_700_000_000, 0)
		var all []ingest.Sample
		for i := range 50 {
			all = append(all, g.Batch(now.Add(time.Duration(i)*100*time.Millisecond))...)
		}
		return all
	}
	a, b, c := run(7), run(7), run(8)
	if !equalSamples(a, b) {
		t.Error("the same seed gave different samples")
	}
	if equalSamples(a, c) {
		t.Error("different seeds gave the same samples")
	}
}

func equalSamples(a, b []ingest.Sample) bool {
	return slices.EqualFunc(a, b, func(x, y ingest.Sample) bool {
		return x.Metric == y.Metric && x.Field == y.Field && x.Value == y.Value && x.Time.Equal(y.Time) && slices.Equal(x.Tags, y.Tags)
	})
}

// sink is a fake ingest.Sink.
type sink struct {
	AcceptFunc func(ctx context.Context, batch []ingest.Sample) error
}

func (s *sink) Accept(ctx context.Context, batch []ingest.Sample) error {
	return s.AcceptFunc(ctx, batch)
}

func TestRunStopsAndBacksOff(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []time.Time
	)
	s := &sink{AcceptFunc: func(_ context.Context, batch []ingest.Sample) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if len(calls) == 1 {
			return &ingest.OverloadError{RetryAfter: 200 * time.Millisecond, Reason: "test"}
		}
		return nil
	}}
	g := demo.NewGenerator(s, demo.GeneratorConfig{Seed: 3, Interval: 10 * time.Millisecond, RequestsPerSecond: 2000})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d batches in 5 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	// It waited what the overload asked for; that it went on sending after
	// it is shown by the batches counted above (no upper bound on time: a
	// loaded machine may sleep longer).
	if gap := calls[1].Sub(calls[0]); gap < 190*time.Millisecond {
		t.Errorf("sent again %v after an overload asking for 200ms", gap)
	}
}

func TestRunSinkError(t *testing.T) {
	boom := errors.New("boom")
	s := &sink{AcceptFunc: func(context.Context, []ingest.Sample) error { return boom }}
	g := demo.NewGenerator(s, demo.GeneratorConfig{Interval: time.Millisecond, RequestsPerSecond: 10000})
	if err := g.Run(t.Context()); !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
}

// publisher is a charts.Publisher that throws frames away.
type publisher struct{}

func (publisher) Publish(string, []byte) {}
func (publisher) Flush()                 {}

// TestFeedsBoard runs the generator into a real board and checks every demo
// chart has something to draw.
func TestFeedsBoard(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	board := charts.NewBoard(charts.Config{}, publisher{})
	boardDone := make(chan error, 1)
	go func() { boardDone <- board.Run(ctx) }()
	defer func() { cancel(); <-boardDone }()
	if err := board.SetDashboards(ctx, demo.Dashboards()); err != nil {
		t.Fatal(err)
	}
	g := demo.NewGenerator(board, demo.GeneratorConfig{Seed: 5, Interval: 20 * time.Millisecond, RequestsPerSecond: 1000})
	genCtx, stop := context.WithTimeout(ctx, 600*time.Millisecond)
	defer stop()
	if err := g.Run(genCtx); err != nil {
		t.Fatal(err)
	}
	for _, d := range demo.Dashboards() {
		for _, c := range d.Charts {
			var frame struct {
				Categories []string
				Series     []struct {
					Name string
					Data []*float64
				}
			}
			var ok bool
			for try := 0; try < 50 && !ok; try++ { // the board applies batches asynchronously
				msg, err := board.Frame(ctx, c.ID)
				if err != nil {
					t.Fatalf("chart %s: %v", c.ID, err)
				}
				if err := json.Unmarshal(msg, &frame); err != nil {
					t.Fatalf("chart %s: %v in %s", c.ID, err, msg)
				}
				for _, s := range frame.Series {
					for _, v := range s.Data {
						ok = ok || (v != nil && *v > 0)
					}
				}
				if !ok {
					time.Sleep(20 * time.Millisecond)
				}
			}
			if !ok || len(frame.Categories) == 0 {
				t.Errorf("chart %s has nothing to draw: %+v", c.ID, frame)
			}
		}
	}
}
