package charts_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// stateCharts are the definitions the state tests drive: every
// aggregation, both axes, windows and none, top N, percent, histograms.
var stateCharts = map[string]charts.Chart{
	"sum-window-series": {Metric: "m", X: "k", Series: "s", Window: charts.Duration(time.Minute)},
	"avg-no-window":     {Metric: "m", X: "k", Agg: charts.Avg},
	"last-series":       {Metric: "m", X: "k", Series: "s", Agg: charts.Last, Window: charts.Duration(30 * time.Second)},
	"min-top":           {Metric: "m", X: "k", Agg: charts.Min, Top: 3, Sort: charts.SortValue, Window: charts.Duration(time.Minute)},
	"max-percent":       {Metric: "m", X: "k", Series: "s", Agg: charts.Max, Type: charts.Percent},
	"rate":              {Metric: "m", X: "k", Agg: charts.Rate, Window: charts.Duration(2 * time.Minute)},
	"count-time-series": {Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(5 * time.Second), Window: charts.Duration(time.Minute), Series: "s", Agg: charts.Count},
	"sum-time":          {Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(time.Second), Window: charts.Duration(20 * time.Second)},
	"histogram":         {Metric: "m", X: "le", Series: "s", Histogram: charts.HistogramCumulative, Window: charts.Duration(time.Minute), Top: 4},
	"where":             {Metric: "m", X: "k", Where: map[string]string{"s": "s1"}, Window: charts.Duration(time.Minute)},
	"sum-short-window":  {Metric: "m", X: "k", Series: "s", Window: charts.Duration(10 * time.Second)},
}

// stateLimits fold most of what stateSample makes into Other, so that the
// limits' bookkeeping (names seen, ids freed and used again) is exercised.
var stateLimits = charts.Limits{MaxCategories: 6, MaxSeries: 3}

func stateChart(t testing.TB, name string) charts.Chart {
	t.Helper()
	c := stateCharts[name]
	c.ID = name
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// stateSample draws a sample of metric m at about now: mostly inside a
// minute, some older than every window, some ahead of now (clamped).
func stateSample(rng *rand.Rand, now time.Time) ingest.Sample {
	var at time.Time
	switch r := rng.IntN(20); {
	case r == 0:
		at = now.Add(time.Duration(rng.IntN(90)) * time.Second) // ahead: clamped to now
	case r == 1:
		at = now.Add(-time.Duration(2+rng.IntN(10)) * time.Minute) // older than the windows
	default:
		at = now.Add(-time.Duration(rng.Int64N(int64(70 * time.Second))))
	}
	value := float64(rng.IntN(100) - 30)
	if rng.IntN(3) == 0 {
		value = rng.NormFloat64() * 1e3
	}
	les := []string{"0.1", "0.5", "1", "5", "+Inf", "x"}
	tags := []ingest.Tag{
		{Key: "k", Value: fmt.Sprintf("c%d", rng.IntN(10))},
		{Key: "le", Value: les[rng.IntN(len(les))]},
		{Key: "s", Value: fmt.Sprintf("s%d", rng.IntN(5))},
	}
	if rng.IntN(15) == 0 {
		tags = tags[1:] // no k: the category ""
	}
	return ingest.Sample{Metric: "m", Field: "value", Tags: tags, Value: value, Time: at}
}

func frameBytes(f charts.Frame) []byte { return f.AppendJSON(nil) }

// A view restored from its state at any moment builds, for the same
// later samples and times, byte for byte the frames the original builds
// (seq and time included), and encodes to the same state.
func TestRestoredViewBuildsTheSameFrames(t *testing.T) {
	t.Parallel()
	for name := range stateCharts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			def := stateChart(t, name)
			for seed := range uint64(12) {
				rng := rand.New(rand.NewPCG(seed, 7))
				steps := 300 + rng.IntN(300)
				restoreAt := rng.IntN(steps + 1)
				orig := charts.NewView(def, stateLimits)
				var copy *charts.View
				now := t0
				for step := 0; step <= steps; step++ {
					if step == restoreAt {
						state, err := orig.MarshalState()
						if err != nil {
							t.Fatal(err)
						}
						if copy, err = charts.RestoreView(def, stateLimits, state); err != nil {
							t.Fatalf("seed %d step %d: %v", seed, step, err)
						}
						again, err := copy.MarshalState()
						if err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(state, again) {
							t.Fatalf("seed %d step %d: the restored view encodes to another state", seed, step)
						}
					}
					if step == steps {
						break
					}
					switch r := rng.IntN(10); {
					case r < 7:
						s := stateSample(rng, now)
						if !orig.Matches(&s) {
							continue
						}
						changed := orig.Add(&s, now)
						if copy != nil && copy.Add(&s, now) != changed {
							t.Fatalf("seed %d step %d: Add answers differ", seed, step)
						}
					case r < 9:
						now = now.Add(time.Duration(rng.Int64N(int64(4 * time.Second))))
					default:
						f := frameBytes(orig.Frame(now))
						if copy == nil {
							continue
						}
						if g := frameBytes(copy.Frame(now)); !bytes.Equal(f, g) {
							t.Fatalf("seed %d step %d (restored at %d): frames differ\noriginal: %s\nrestored: %s", seed, step, restoreAt, f, g)
						}
					}
				}
				f, g := frameBytes(orig.Frame(now)), frameBytes(copy.Frame(now))
				if !bytes.Equal(f, g) {
					t.Fatalf("seed %d (restored at %d): last frames differ\noriginal: %s\nrestored: %s", seed, restoreAt, f, g)
				}
				if orig.Folded() != copy.Folded() || orig.Outside() != copy.Outside() {
					t.Errorf("seed %d: counters differ: folded %d/%d outside %d/%d", seed, orig.Folded(), copy.Folded(), orig.Outside(), copy.Outside())
				}
			}
		})
	}
}

// A view past MaxChartCells (cells folded into each slot's overflow cell)
// restores exactly too.
func TestRestoredViewAtMaxChartCells(t *testing.T) {
	t.Parallel()
	def := charts.Chart{ID: "full", Metric: "m", X: "k", Series: "s", Window: charts.Duration(time.Minute)}
	def.Normalize()
	orig := charts.NewView(def, charts.Limits{})
	now := t0
	feed := func(views ...*charts.View) {
		for _, at := range []time.Duration{-40 * time.Second, -20 * time.Second, 0} {
			for _, s := range cellSamples(charts.MaxCategories, charts.MaxSeries/2, at) {
				for _, v := range views {
					v.Add(&s, now)
				}
			}
		}
	}
	feed(orig)
	if orig.Folded() == 0 {
		t.Fatalf("nothing folded: the view never reached MaxChartCells")
	}
	state, err := orig.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a view of %d cells and more: %d B of state", charts.MaxChartCells, len(state))
	copy, err := charts.RestoreView(def, charts.Limits{}, state)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)
	feed(orig, copy)
	if f, g := frameBytes(orig.Frame(now)), frameBytes(copy.Frame(now)); !bytes.Equal(f, g) {
		t.Fatalf("frames differ (%d and %d bytes)", len(f), len(g))
	}
	if orig.Folded() != copy.Folded() {
		t.Fatalf("folded %d, restored %d", orig.Folded(), copy.Folded())
	}
}

// A state is refused when it is of another definition, other limits, or
// a push chart, with an error that says so.
func TestRestoreViewRefusesAnotherDefinition(t *testing.T) {
	t.Parallel()
	def := stateChart(t, "sum-window-series")
	v := charts.NewView(def, stateLimits)
	s := stateSample(rand.New(rand.NewPCG(1, 1)), t0)
	s.Time = t0
	v.Add(&s, t0)
	state, err := v.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	other := def
	other.Window = charts.Duration(2 * time.Minute)
	tests := map[string]struct {
		def    charts.Chart
		limits charts.Limits
		want   string
	}{
		"another window": {other, stateLimits, "another definition"},
		"other limits":   {def, charts.Limits{}, "limits of 6 categories and 3 series"},
		"a push chart":   {charts.Chart{ID: "p"}, stateLimits, "push chart"},
	}
	for name, tc := range tests {
		if _, err := charts.RestoreView(tc.def, tc.limits, state); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, tc.want)
		}
	}
	if _, err := charts.NewView(charts.Chart{ID: "p"}, charts.Limits{}).MarshalState(); err == nil {
		t.Errorf("a push chart's view encoded a state")
	}
}

// restoreAllocs restores state and returns how many bytes that allocated.
func restoreAllocs(def charts.Chart, limits charts.Limits, state []byte) (uint64, *charts.View, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v, err := charts.RestoreView(def, limits, state)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, v, err
}

// restoreAllocBound is what restoring any state of n bytes may allocate:
// a fixed part (the view, its ring of at most MaxBuckets slots) and a
// part proportional to the input (each name or cell takes a few bytes of
// it and a few dozen of memory), however large the counts it claims.
func restoreAllocBound(n int) uint64 { return 256<<10 + 64*uint64(n) }

// A hostile state claims huge counts in a few bytes: each is refused
// before anything is allocated for it.
func TestRestoreViewRefusesHostileCounts(t *testing.T) {
	// Not parallel: it measures what is allocated.
	def := stateChart(t, "sum-window-series")
	head := func() []byte {
		b := []byte{1}
		for _, x := range []uint64{6, 3} {
			b = binary.AppendUvarint(b, x)
		}
		v := charts.NewView(def, stateLimits)
		_ = v
		b = binary.AppendVarint(b, int64(time.Minute/20))
		b = binary.AppendUvarint(b, 21)
		for range 3 {
			b = binary.AppendUvarint(b, 0) // seq, folded, outside
		}
		return binary.AppendVarint(b, 0) // newestAt
	}
	names := func(b []byte, n int) []byte {
		b = binary.AppendUvarint(b, uint64(n))
		for i := range n {
			b = binary.AppendUvarint(b, 1)
			b = append(b, byte('a'+i))
			b = binary.AppendVarint(b, 0)
		}
		return binary.AppendUvarint(b, 0)
	}
	tests := map[string]struct {
		state []byte
		want  string
	}{
		"a billion category names": {binary.AppendUvarint(head(), 1e9), "1000000000 category names, at most 7"},
		"names longer than the state": {
			append(binary.AppendUvarint(binary.AppendUvarint(head(), 1), 1<<40), 'x'), "a name of 1099511627776 bytes"},
		"a billion cells": {
			binary.AppendUvarint(binary.AppendVarint(append(names(names(head(), 2), 2), 1, 1), 0), 1e9), "1000000000 cells, at most"},
		"cells past the input": {
			binary.AppendUvarint(binary.AppendVarint(append(names(names(head(), 2), 2), 1, 1), 0), 1000), "truncated: 1000 cells"},
		"a wrong version": {append([]byte{9}, head()[1:]...), "version 9, expected 1"},
		"empty":           {nil, "truncated"},
	}
	for name, tc := range tests {
		alloc, v, err := restoreAllocs(def, stateLimits, tc.state)
		if err == nil || v != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, tc.want)
		}
		if alloc > restoreAllocBound(len(tc.state)) {
			t.Errorf("%s: %d bytes of state allocated %d bytes", name, len(tc.state), alloc)
		}
	}
}

// fuzzCharts are the definitions FuzzRestoreView picks from with the
// input's first byte.
var fuzzCharts = []string{"sum-window-series", "avg-no-window", "count-time-series", "histogram"}

// FuzzRestoreView feeds arbitrary bytes to RestoreView: it must answer an
// error or a view, never panic, and allocate no more than the input's
// length and the chart's limits allow. A view it answers must encode to a
// state that restores to a view that builds the same frame.
func FuzzRestoreView(f *testing.F) {
	for i, name := range fuzzCharts {
		def := stateChart(f, name)
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		v := charts.NewView(def, stateLimits)
		now := t0
		for step := range 200 {
			s := stateSample(rng, now)
			if v.Matches(&s) {
				v.Add(&s, now)
			}
			if step%50 == 0 {
				now = now.Add(20 * time.Second)
				v.Frame(now)
			}
		}
		state, err := v.MarshalState()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, state...))
		empty, _ := charts.NewView(def, stateLimits).MarshalState()
		f.Add(append([]byte{byte(i)}, empty...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		def := stateChart(t, fuzzCharts[int(data[0])%len(fuzzCharts)])
		state := data[1:]
		alloc, v, err := restoreAllocs(def, stateLimits, state)
		if alloc > restoreAllocBound(len(state)) {
			t.Fatalf("%d bytes of state allocated %d bytes", len(state), alloc)
		}
		if err != nil {
			if v != nil {
				t.Fatalf("a view and an error: %v", err)
			}
			return
		}
		again, err := v.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		w, err := charts.RestoreView(def, stateLimits, again)
		if err != nil {
			t.Fatalf("a restored view's own state does not restore: %v", err)
		}
		if third, _ := w.MarshalState(); !bytes.Equal(again, third) {
			t.Fatalf("the state of a restored view changes when restored again")
		}
		now := time.Unix(0, int64(binary.LittleEndian.Uint64(append(bytes.Clone(state), make([]byte, 8)...)))%math.MaxInt32*int64(time.Second))
		if a, b := frameBytes(v.Frame(now)), frameBytes(w.Frame(now)); !bytes.Equal(a, b) {
			t.Fatalf("frames differ:\n%s\n%s", a, b)
		}
	})
}
