package charts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

var tenantDash = charts.Dashboard{ID: "t", Charts: []charts.Chart{
	{ID: "by-host", Type: charts.Stacked, Metric: "req", X: "host", Series: "status"},
	{ID: "eu-only", Metric: "req", X: "host", Where: map[string]string{"region": "eu"}},
	{ID: "push"},
}}

// tenantBatch is one sample per tenant, each tenant's tags and value
// carrying its name or number, so that a leak shows.
func tenantBatch(tenants, round int) []ingest.Sample {
	batch := make([]ingest.Sample, 0, tenants)
	for i := range tenants {
		region := []string{"eu", "us"}[i%2]
		batch = append(batch, sample("req", float64(1000*(i+1)), time.Duration(round)*time.Second,
			"tenant", fmt.Sprintf("t%02d", i), "region", region,
			"host", fmt.Sprintf("t%02d-h%d", i, round%3), "status", fmt.Sprintf("t%02d-s", i)))
	}
	return batch
}

// checkOnly fails unless frame shows tenant i alone, with rounds samples
// of value 1000*(i+1) in all.
func checkOnly(t *testing.T, msg []byte, i, rounds int) {
	t.Helper()
	var f wireFrame
	if err := json.Unmarshal(msg, &f); err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	prefix := fmt.Sprintf("t%02d-", i)
	sum := 0.0
	for _, c := range f.Categories {
		if !strings.HasPrefix(c, prefix) {
			t.Fatalf("tenant %d sees category %q", i, c)
		}
	}
	for _, s := range f.Series {
		if !strings.HasPrefix(s.Name, prefix) {
			t.Fatalf("tenant %d sees series %q", i, s.Name)
		}
		for _, d := range s.Data {
			if d != nil {
				sum += *d
			}
		}
	}
	if want := float64(1000*(i+1)) * float64(rounds); sum != want {
		t.Fatalf("tenant %d: sum %v, want %v: %s", i, sum, want, msg)
	}
}

func TestFilteredViewsAreCompleteAndSeparate(t *testing.T) {
	t.Parallel()
	const tenants = 20
	log := &memLog{}
	b, rec := startBoard(t, charts.Config{History: log}, tenantDash)
	ctx := context.Background()
	feed := func(round int) {
		batch := tenantBatch(tenants, round)
		pos := charts.Position{Seq: uint64(round + 1), Time: t0.Add(time.Duration(round) * time.Second)}
		log.mu.Lock()
		log.batches = append(log.batches, logged{batch, pos})
		log.mu.Unlock()
		if err := b.AcceptAt(ctx, batch, pos); err != nil {
			t.Fatal(err)
		}
	}
	for r := range 5 {
		feed(r)
	}
	// Made after the samples: filled from the log.
	for i := range tenants {
		msg, err := b.FrameWhere(ctx, "by-host", map[string]string{"tenant": fmt.Sprintf("t%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		checkOnly(t, msg, i, 5)
	}
	for r := 5; r < 8; r++ {
		feed(r)
	}
	for i := range tenants {
		msg, err := b.FrameWhere(ctx, "by-host", map[string]string{"tenant": fmt.Sprintf("t%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		checkOnly(t, msg, i, 8)
		opt, err := b.OptionWhere(ctx, "by-host", map[string]string{"tenant": fmt.Sprintf("t%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		for j := range tenants {
			if j != i && strings.Contains(string(opt), fmt.Sprintf("t%02d-", j)) {
				t.Fatalf("tenant %d's option shows tenant %d: %s", i, j, opt)
			}
		}
	}
	// Published on its own topic, never the chart's.
	topic, release, err := b.Acquire(ctx, "by-host", map[string]string{"tenant": "t03"})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	feed(8)
	checkOnly(t, mustJSON(t, rec.until(t, topic, func(f wireFrame) bool { return sumOf(f) == 4000*9 })), 3, 9)
	if n, _ := b.FilteredViews(ctx); n != tenants {
		t.Errorf("%d filtered views, want %d (one per filter, shared)", n, tenants)
	}

	// Redefined: made again, filled again, still one tenant's.
	d := tenantDash
	d.Charts = append([]charts.Chart(nil), tenantDash.Charts...)
	d.Charts[0].Title = "edited"
	d.Charts[0].Type = charts.Grouped
	if err := b.SetDashboards(ctx, []charts.Dashboard{d}); err != nil {
		t.Fatal(err)
	}
	for i := range tenants {
		msg, err := b.FrameWhere(ctx, "by-host", map[string]string{"tenant": fmt.Sprintf("t%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		checkOnly(t, msg, i, 9)
	}
}

func sumOf(f wireFrame) float64 {
	sum := 0.0
	for _, s := range f.Series {
		for _, d := range s.Data {
			if d != nil {
				sum += *d
			}
		}
	}
	return sum
}

func mustJSON(t *testing.T, f wireFrame) []byte {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFilterNeverWidens(t *testing.T) {
	t.Parallel()
	b, _ := startBoard(t, charts.Config{}, tenantDash)
	ctx := context.Background()
	if err := b.Accept(ctx, tenantBatch(4, 0)); err != nil {
		t.Fatal(err)
	}
	empty := func(chart string, where map[string]string) {
		t.Helper()
		msg, err := b.FrameWhere(ctx, chart, where)
		if err != nil {
			t.Fatal(err)
		}
		var f wireFrame
		_ = json.Unmarshal(msg, &f)
		if len(f.Categories)+len(f.Series) > 0 && len(f.Categories) > 0 {
			t.Errorf("%s %v shows %s, want nothing", chart, where, msg)
		}
	}
	// The chart fixes region to eu; a token for us gets nothing, not the us data.
	empty("eu-only", map[string]string{"region": "us"})
	empty("eu-only", map[string]string{"region": "us", "tenant": "t01"})
	// A push chart's data has no tags to filter by.
	if err := b.SetData(ctx, "push", []string{"secret"}, []charts.FrameSeries{{Name: "x", Data: []float64{1}}}); err != nil {
		t.Fatal(err)
	}
	empty("push", map[string]string{"tenant": "t01"})
	// The same key with the chart's value narrows as usual. (Without
	// History a view starts empty: the samples come after it.)
	t02 := map[string]string{"region": "eu", "tenant": "t02"}
	if _, err := b.FrameWhere(ctx, "eu-only", t02); err != nil {
		t.Fatal(err)
	}
	if err := b.Accept(ctx, tenantBatch(4, 0)); err != nil {
		t.Fatal(err)
	}
	empty("eu-only", map[string]string{"region": "us"})
	msg, err := b.FrameWhere(ctx, "eu-only", t02)
	if err != nil || !strings.Contains(string(msg), "t02-h0") || strings.Contains(string(msg), "t00") {
		t.Errorf("eu-only for t02: %s, %v", msg, err)
	}
	if _, err := b.FrameWhere(ctx, "nope", map[string]string{"tenant": "t01"}); !errors.Is(err, charts.ErrNotFound) {
		t.Errorf("unknown chart: %v", err)
	}
}

func TestFilteredViewsAreBoundedAndDroppedWhenIdle(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: t0}
	watched := map[string]bool{}
	var wmu = make(chan struct{}, 1)
	wmu <- struct{}{}
	cfg := charts.Config{Now: clk.Now, MaxFilteredViews: 3, FilteredIdle: time.Minute,
		Watched: func(topic string) bool { <-wmu; defer func() { wmu <- struct{}{} }(); return watched[topic] }}
	b, rec := startBoard(t, cfg, tenantDash)
	ctx := context.Background()
	var topics []string
	for i := range 3 {
		topic, release, err := b.Acquire(ctx, "by-host", map[string]string{"tenant": fmt.Sprintf("t%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		topics = append(topics, topic)
		if i == 0 {
			defer release() // t00 stays read
		} else {
			release()
		}
	}
	_, _, err := b.Acquire(ctx, "by-host", map[string]string{"tenant": "t09"})
	var tooMany *charts.TooManyViewsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter <= 0 || !strings.Contains(err.Error(), "embed.max_filtered_views") {
		t.Fatalf("past the limit: %v", err)
	}
	// The same filter again is shared, not a new view.
	if _, release, err := b.Acquire(ctx, "by-host", map[string]string{"tenant": "t01"}); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	<-wmu
	watched[topics[2]] = true // t02 has a WebSocket viewer
	wmu <- struct{}{}
	clk.Set(t0.Add(2 * time.Minute))
	// t01 is dropped (idle, unwatched) and its topic retracted; t00 is
	// read, t02 watched.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n, _ := b.FilteredViews(ctx); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no idle view dropped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec.mu.Lock()
	retracted := false
	for _, tick := range rec.ticks {
		if msg, ok := tick[topics[1]]; ok && msg == nil {
			retracted = true
		}
	}
	rec.mu.Unlock()
	if !retracted {
		t.Error("the dropped view's topic was not retracted")
	}
	if _, release, err := b.Acquire(ctx, "by-host", map[string]string{"tenant": "t09"}); err != nil {
		t.Fatalf("after a drop: %v", err)
	} else {
		release()
	}
}

func TestNarrow(t *testing.T) {
	t.Parallel()
	base := charts.Chart{ID: "c", Metric: "req", X: "host", Where: map[string]string{"region": "eu", "env": "$env"}}
	tests := map[string]struct {
		where map[string]string
		want  map[string]string // nil: matches nothing
	}{
		"none":                    {nil, base.Where},
		"adds a tag":              {map[string]string{"tenant": "acme"}, map[string]string{"region": "eu", "env": "$env", "tenant": "acme"}},
		"binds a variable":        {map[string]string{"env": "prod"}, map[string]string{"region": "eu", "env": "prod"}},
		"agrees with the where":   {map[string]string{"region": "eu"}, base.Where},
		"contradicts the where":   {map[string]string{"region": "us"}, nil},
		"a value like a variable": {map[string]string{"tenant": "$x"}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := charts.Narrow(base, tc.where)
			if ok != (tc.want != nil) {
				t.Fatalf("ok %v, want %v", ok, tc.want != nil)
			}
			if ok && fmt.Sprint(got.Where) != fmt.Sprint(tc.want) {
				t.Fatalf("where %v, want %v", got.Where, tc.want)
			}
			if ok && len(tc.where) > 0 && tc.where["region"] == "" && got.Hash() == base.Hash() {
				t.Fatal("a narrowed chart hashes as the chart: a checkpoint of the chart would be taken for it")
			}
		})
	}
	if fmt.Sprint(base.Where) != "map[env:$env region:eu]" {
		t.Fatalf("Narrow changed the chart's where: %v", base.Where)
	}
	if _, ok := charts.Narrow(charts.Chart{ID: "push"}, map[string]string{"tenant": "acme"}); ok {
		t.Fatal("a push chart's data has no tags: a filter matches none of it")
	}
}

// TestUnwatchedViewsBuildNoFrames: a filtered view that nobody holds or
// watches (kept until it is idle long enough to drop) builds no frame
// when its samples come; its next reader gets them all, at once.
func TestUnwatchedViewsBuildNoFrames(t *testing.T) {
	t.Parallel()
	var watched atomic.Bool
	cfg := charts.Config{MaxFPS: 100, Watched: func(string) bool { return watched.Load() }}
	b, rec := startBoard(t, cfg, tenantDash)
	ctx := context.Background()
	where := map[string]string{"tenant": "t01"}
	topic, release, err := b.Acquire(ctx, "by-host", where)
	if err != nil {
		t.Fatal(err)
	}
	release() // nobody holds it, nobody watches it
	rec.mu.Lock()
	seen := len(rec.ticks)
	rec.mu.Unlock()
	for round := range 3 {
		if err := b.Accept(ctx, tenantBatch(3, round)); err != nil {
			t.Fatal(err)
		}
		rec.next(t, "by-host") // a flush came after the samples
	}
	rec.mu.Lock()
	for _, tick := range rec.ticks[seen:] {
		if msg, ok := tick[topic]; ok {
			rec.mu.Unlock()
			t.Fatalf("an unwatched view built and published a frame: %s", msg)
		}
	}
	rec.mu.Unlock()
	// A reader comes: the view shows every sample at once, and viewers
	// get its frame with the next flush.
	msg, err := b.FrameWhere(ctx, "by-host", where)
	if err != nil {
		t.Fatal(err)
	}
	checkOnly(t, msg, 1, 3)
	watched.Store(true)
	if f := rec.next(t, topic); sumOf(f) != 3*2000 {
		t.Fatalf("the frame published once read: %+v", f)
	}
}
