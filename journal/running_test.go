package journal_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// increasesOf is what a reader hands on: the values of the samples of
// metric c (running totals turned into increases), with the gauges g.
func increasesOf(ss []ingest.Sample) string {
	out := ""
	for _, s := range ss {
		if s.Running != nil {
			return fmt.Sprintf("a running total reached the reader: %+v", s)
		}
		out += fmt.Sprintf("%s=%v ", s.Metric, s.Value)
	}
	return out
}

// Every reader of the log turns running totals into the same increases
// wherever it starts: Follow from the start, after a position (a
// checkpoint) or since a time, ReplayRange and ReplayThrough. Each warms
// its table with the running totals stored before where it starts.
func TestEveryReaderCountsTheSameIncreases(t *testing.T) {
	t.Parallel()
	j := open(t, journal.Config{})
	old := time.Now().Add(-time.Hour) // the sender began before the log: its first point is a baseline
	var pos []charts.Position
	var want []string // what each message gives
	for i, v := range []float64{10, 13, 20, 5, 9} {
		batch := []ingest.Sample{{Metric: "g", Field: "value", Value: float64(i)},
			{Metric: "c", Field: "value", Value: v, Time: time.Now(), Running: &ingest.Running{Series: 1, Start: old}}}
		pos = append(pos, acceptAt(t, j, batch))
		want = append(want, []string{"g=0 ", "g=1 c=3 ", "g=2 c=7 ", "g=3 c=5 ", "g=4 c=4 "}[i])
		time.Sleep(5 * time.Millisecond) // a moment between messages, for Since
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := pos[len(pos)-1].Seq
	wantFrom := func(k int) string { // from message k on
		s := ""
		for _, w := range want[k:] {
			s += w
		}
		return s
	}
	follow := func(fc journal.FollowConfig) string {
		var c collector
		fctx, stop := context.WithCancel(ctx)
		fc.CaughtUp = func(journal.ReplayResult) { stop() }
		if err := j.Follow(fctx, &c, fc); err != nil {
			t.Fatal(err)
		}
		return increasesOf(c.all())
	}
	replay := func(read func(apply func([]ingest.Sample, charts.Position) error) error) string {
		var got []ingest.Sample
		if err := read(func(b []ingest.Sample, _ charts.Position) error { got = append(got, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		return increasesOf(got)
	}
	if got := follow(journal.FollowConfig{}); got != wantFrom(0) {
		t.Fatalf("Follow from the start: %q, want %q", got, wantFrom(0))
	}
	for k := 1; k < len(pos); k++ {
		tests := map[string]string{
			"Follow after": follow(journal.FollowConfig{After: pos[k-1].Seq}),
			"Follow since": follow(journal.FollowConfig{Since: pos[k].Time}),
			"ReplayRange": replay(func(apply func([]ingest.Sample, charts.Position) error) error {
				return j.ReplayRange(ctx, pos[k-1].Seq, last, apply)
			}),
			"ReplayThrough": replay(func(apply func([]ingest.Sample, charts.Position) error) error {
				return j.ReplayThrough(ctx, pos[k].Time, last, apply)
			}),
		}
		for name, got := range tests {
			if got != wantFrom(k) {
				t.Errorf("%s message %d: %q, want %q", name, k, got, wantFrom(k))
			}
		}
	}
}
