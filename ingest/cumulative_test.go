package ingest_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// run is one running total of series "c" for the table tests.
func run(series uint64, value float64, at, start time.Time) ingest.Sample {
	return ingest.Sample{Metric: "c", Field: "value", Value: value, Time: at,
		Running: &ingest.Running{Series: series, Start: start}}
}

// msg is a message of the log: its samples and when it was stored.
type msg struct {
	at      time.Time
	samples []ingest.Sample
}

func one(s ingest.Sample) msg { return msg{at: s.Time, samples: []ingest.Sample{s}} }

func applyAll(c *ingest.Cumulative, msgs []msg) []ingest.Sample {
	var out []ingest.Sample
	for _, m := range msgs {
		out = append(out, c.Apply(slices.Clone(m.samples), m.at)...)
	}
	return out
}

func TestCumulativeRule(t *testing.T) {
	t.Parallel()
	t0 := now
	recent := t0.Add(-time.Minute)
	old := t0.Add(-time.Hour)
	lb := ingest.CumulativeLookback
	tests := map[string]struct {
		msgs []msg
		want []float64
	}{
		"a start within the lookback counts the whole total": {
			[]msg{one(run(1, 5, t0, recent)), one(run(1, 8, t0.Add(time.Second), recent))}, []float64{5, 3}},
		"an older start sets the baseline": {
			[]msg{one(run(1, 500, t0, old)), one(run(1, 510, t0.Add(time.Second), old))}, []float64{10}},
		"no start sets the baseline": {
			[]msg{one(run(1, 500, t0, time.Time{})), one(run(1, 501, t0.Add(time.Second), time.Time{}))}, []float64{1}},
		"a total that fell is a reset": {
			[]msg{one(run(1, 500, t0, old)), one(run(1, 4, t0.Add(time.Second), old))}, []float64{4}},
		"a later start is a restart": {
			[]msg{one(run(1, 500, t0, old)), one(run(1, 700, t0.Add(time.Second), t0))}, []float64{700}},
		"an earlier start is a point from an earlier life: nothing for it": {
			[]msg{one(run(1, 500, t0, recent)), one(run(1, 700, t0.Add(time.Second), old)), one(run(1, 510, t0.Add(2*time.Second), recent))}, []float64{500, 510}},
		"a repeat gives nothing": {
			[]msg{one(run(1, 500, t0, old)), one(run(1, 500, t0, old)), one(run(1, 530, t0.Add(time.Second), old))}, []float64{30}},
		"a point out of order gives nothing, and the next counts from it": {
			// The documented price of a table that keeps one point.
			[]msg{one(run(1, 500, t0, old)), {at: t0, samples: []ingest.Sample{run(1, 490, t0.Add(-time.Second), old)}}, one(run(1, 530, t0.Add(time.Second), old))}, []float64{40}},
		"series are apart": {
			[]msg{one(run(1, 5, t0, recent)), one(run(2, 50, t0, old)), one(run(2, 55, t0.Add(time.Second), old)), one(run(1, 6, t0.Add(time.Second), recent))}, []float64{5, 5, 1}},
		"a previous point just within the lookback counts": {
			[]msg{one(run(1, 500, t0, old)), one(run(1, 510, t0.Add(lb), old))}, []float64{10}},
		"a previous point past the lookback is forgotten": {
			[]msg{one(run(1, 500, t0, old)), one(run(1, 510, t0.Add(lb+time.Nanosecond), old))}, nil},
		"log time, not sample time, decides the lookback": {
			// Stored late: the sample times are a second apart, the
			// messages more than the lookback.
			[]msg{one(run(1, 500, t0, old)), {at: t0.Add(lb + time.Second), samples: []ingest.Sample{run(1, 510, t0.Add(time.Second), old)}}}, nil},
		"other samples pass as they are": {
			[]msg{{at: t0, samples: []ingest.Sample{{Metric: "g", Value: 7, Time: t0}, run(1, 5, t0, recent), {Metric: "g", Value: 8, Time: t0}}}}, []float64{7, 5, 8}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := applyAll(ingest.NewCumulative(ingest.CumulativeConfig{}), tc.msgs)
			for _, s := range got {
				if s.Running != nil {
					t.Fatalf("an increase still marked running: %+v", s)
				}
			}
			if fmt.Sprint(values(got)) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("increases %v, want %v", values(got), tc.want)
			}
		})
	}
}

func TestCumulativeNewBucketOfAKnownHistogramCountsWhole(t *testing.T) {
	t.Parallel()
	c := ingest.NewCumulative(ingest.CumulativeConfig{})
	old := now.Add(-time.Hour)
	head := func(v float64, at time.Time) ingest.Sample {
		s := run(1, v, at, old)
		s.Running.Head = true
		return s
	}
	bucket := func(series uint64, v float64, at time.Time) ingest.Sample {
		s := run(series, v, at, old)
		s.Running.Grouped = true
		return s
	}
	if got := c.Apply([]ingest.Sample{head(10, now), bucket(2, 10, now)}, now); len(got) != 0 {
		t.Fatalf("baseline gave %v", values(got))
	}
	// A bucket the histogram did not have before: its 3 are new.
	at := now.Add(time.Second)
	got := c.Apply([]ingest.Sample{head(13, at), bucket(2, 10, at), bucket(3, 3, at)}, at)
	if fmt.Sprint(values(got)) != "[3 0 3]" {
		t.Fatalf("increases %v, want [3 0 3]", values(got))
	}
}

func TestCumulativeIsBoundedInLogOrder(t *testing.T) {
	t.Parallel()
	c := ingest.NewCumulative(ingest.CumulativeConfig{MaxSeries: 3})
	old := now.Add(-time.Hour)
	clock := now
	push := func(series uint64, v float64) []float64 {
		clock = clock.Add(time.Second)
		return values(c.Apply([]ingest.Sample{run(series, v, clock, old)}, clock))
	}
	for s := uint64(1); s <= 3; s++ {
		push(s, 10)
	}
	push(1, 11) // 1 is now the last seen; 2 the first
	push(4, 10) // forgets 2
	if c.Len() != 3 || c.Evicted() != 1 {
		t.Fatalf("%d series, %d evicted; want 3, 1", c.Len(), c.Evicted())
	}
	if got := push(2, 20); len(got) != 0 {
		t.Fatalf("series 2 should have been forgotten (a baseline again), got %v", got)
	}
	if got := push(1, 12); fmt.Sprint(got) != "[1]" {
		t.Fatalf("series 1 should be remembered, got %v", got)
	}
	clock = clock.Add(ingest.CumulativeLookback + time.Second) // all out of the lookback
	if got := push(1, 20); len(got) != 0 {
		t.Fatalf("a series out of the lookback should start from a baseline, got %v", got)
	}
	if c.Len() != 1 || c.Evicted() != 2 {
		t.Fatalf("%d series, %d evicted after the lookback; want 1, 2 (expiry is not eviction)", c.Len(), c.Evicted())
	}
}

// TestCumulativeWarmedTableEqualsTheWholeLog is the property the log's
// readers rely on: a table that reads (Warm) only the lookback before a
// position gives, from there on, exactly the increases of a table that
// read the whole log, series cap included.
func TestCumulativeWarmedTableEqualsTheWholeLog(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var msgs []msg
		clock := now
		totals := map[uint64]float64{}
		starts := map[uint64]time.Time{}
		for range 400 {
			clock = clock.Add(time.Duration(rng.IntN(40)) * time.Second)
			var ss []ingest.Sample
			for range 1 + rng.IntN(4) {
				series := uint64(rng.IntN(12))
				switch rng.IntN(20) {
				case 0: // a restart
					totals[series], starts[series] = 0, clock.Add(-time.Duration(rng.IntN(600))*time.Second)
				case 1: // a sender without a start
					starts[series] = time.Time{}
				}
				totals[series] += float64(rng.IntN(5))
				st, ok := starts[series]
				if !ok {
					st = clock.Add(-time.Duration(rng.IntN(900)) * time.Second)
					starts[series] = st
				}
				at := clock.Add(-time.Duration(rng.IntN(3)) * time.Second)
				s := run(series, totals[series], at, st)
				s.Running.Head, s.Running.Grouped = rng.IntN(3) == 0, rng.IntN(3) == 0
				ss = append(ss, s)
			}
			msgs = append(msgs, msg{at: clock, samples: ss})
		}
		cap := 4 + rng.IntN(10)
		if testing.Short() {
			cap = 1000
		}
		whole := ingest.NewCumulative(ingest.CumulativeConfig{MaxSeries: cap})
		var wholeOut [][]ingest.Sample
		for _, m := range msgs {
			wholeOut = append(wholeOut, whole.Apply(slices.Clone(m.samples), m.at))
		}
		for _, from := range []int{1, 50, 133, 250, 399} {
			warm := ingest.NewCumulative(ingest.CumulativeConfig{MaxSeries: cap})
			for _, m := range msgs[:from] {
				if !m.at.Before(msgs[from-1].at.Add(-ingest.CumulativeLookback)) {
					warm.Warm(slices.Clone(m.samples), m.at)
				}
			}
			for i, m := range msgs[from:] {
				got := warm.Apply(slices.Clone(m.samples), m.at)
				if want := wholeOut[from+i]; fmt.Sprint(values(got)) != fmt.Sprint(values(want)) {
					for k := max(0, from-30); k <= from+i; k++ {
						for _, s := range msgs[k].samples {
							t.Logf("msg %d at %v: series %d v %v t %v start %v head %v grouped %v", k, msgs[k].at.Sub(now), s.Running.Series, s.Value, s.Time.Sub(now), s.Running.Start.Sub(now), s.Running.Head, s.Running.Grouped)
						}
					}
					t.Fatalf("round %d, warmed before message %d: message %d gives %v, the whole log %v", round, from, from+i, values(got), values(want))
				}
			}
		}
	}
}

func values(ss []ingest.Sample) []float64 {
	out := []float64{}
	for _, s := range ss {
		out = append(out, s.Value)
	}
	return out
}
