package charts_test

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// The tests of this file measure the heap, so they do not run in parallel
// (go test runs the parallel ones only after every sequential test).

// liveHeap is the heap in use after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// cellSamples makes one sample (value 1, at t0+at) for each of categories
// × series cells of metric m, tags k and s.
func cellSamples(categories, series int, at time.Duration) []ingest.Sample {
	out := make([]ingest.Sample, 0, categories*series)
	for c := range categories {
		for s := range series {
			out = append(out, sample("m", 1, at, "k", fmt.Sprintf("c%03d", c), "s", fmt.Sprintf("s%02d", s)))
		}
	}
	return out
}

func TestAViewHoldsNoCellsBeforeItsFirstSample(t *testing.T) {
	c := timeChart("t", charts.MaxBuckets, false)
	c.Normalize()
	views := make([]*charts.View, 1000)
	before := liveHeap()
	for i := range views {
		views[i] = charts.NewView(c, charts.Limits{})
	}
	per := (int64(liveHeap()) - int64(before)) / int64(len(views))
	runtime.KeepAlive(views)
	t.Logf("an empty view of %d buckets: %d B", charts.MaxBuckets, per)
	if per > 2048 {
		t.Errorf("an empty view of %d buckets holds %d B: room for buckets it has not seen", charts.MaxBuckets, per)
	}
}

// A sliding window's slots each hold their own cells. Filled to the brim
// one slot after another (and each slot used again for one sample between,
// so that every slot's map once held a full window), a view still holds
// one full slot's worth, about MaxChartCells accumulators, not a full map
// per slot.
func TestASlidingWindowHoldsAtMostMaxChartCells(t *testing.T) {
	c := tagChart("w")
	c.Window = charts.Duration(20 * time.Second) // 21 slots of 1 s
	c.Normalize()
	full := cellSamples(charts.MaxChartCells/charts.MaxSeries, charts.MaxSeries, 0)
	before := liveHeap()
	v := charts.NewView(c, charts.Limits{})
	const slots = 21
	for k := range slots {
		at := time.Duration(k*(slots+1)) * time.Second
		for i := range full {
			full[i].Time = t0.Add(at)
			v.Add(&full[i], t0.Add(at))
		}
		if k == slots-1 {
			break // the last full slot stays
		}
		// The same slot, a window later, gets one sample.
		at += slots * time.Second
		one := sample("m", 1, at, "k", "c000", "s", "s00")
		v.Add(&one, t0.Add(at))
	}
	grew := int64(liveHeap()) - int64(before)
	runtime.KeepAlive(v)
	runtime.KeepAlive(full)
	t.Logf("a %d-slot window filled slot after slot with %d cells: %.1f MB", slots, len(full), float64(grew)/1e6)
	if grew > 10e6 {
		t.Errorf("the view holds %.1f MB after its slots were filled in turn (one full window is about 3 MB)", float64(grew)/1e6)
	}
}

// Past MaxChartCells accumulators a new cell is folded into the overflow
// cell ("other", "other"), counted, and no sample is lost from the totals.
func TestCellsPastTheLimitFoldIntoOther(t *testing.T) {
	t.Parallel()
	c := tagChart("w")
	c.Normalize()
	v := charts.NewView(c, charts.Limits{})
	ss := cellSamples(charts.MaxCategories+10, charts.MaxSeries+10, 0)
	for i := range ss {
		v.Add(&ss[i], t0)
	}
	f := v.Frame(t0)
	total := 0.0
	for _, s := range f.Series {
		for _, x := range s.Data {
			if !math.IsNaN(x) {
				total += x
			}
		}
	}
	if total != float64(len(ss)) {
		t.Errorf("the frame sums to %v, want every one of the %d samples", total, len(ss))
	}
	if got := values(f)["other/other"]; got == 0 {
		t.Error("no other/other cell")
	}
	if cells := len(values(f)); cells > charts.MaxChartCells+1 {
		t.Errorf("the frame has %d cells with a value, want at most %d and other/other", cells, charts.MaxChartCells)
	}
	if v.Folded() == 0 {
		t.Error("nothing counted as folded")
	}
}

// A category that leaves the window gives its id to the next new one; the
// frame must not show the old name's data under the new one, nor the other
// way round.
func TestANameThatLeftTheWindowDoesNotHauntItsSuccessor(t *testing.T) {
	t.Parallel()
	v := newView(t, charts.Chart{Metric: "m", X: "k", Series: "s", Window: charts.Duration(20 * time.Second)})
	add(t, v, 0, sample("m", 5, 0, "k", "old", "s", "x"))
	if got := values(v.Frame(t0)); got["old/x"] != 5 || len(got) != 1 {
		t.Fatalf("first frame %v", got)
	}
	add(t, v, 30*time.Second, sample("m", 7, 30*time.Second, "k", "new", "s", "y"))
	if got := values(v.Frame(t0.Add(30 * time.Second))); got["new/y"] != 7 || len(got) != 1 {
		t.Fatalf("after the window moved on: %v, want only new/y = 7", got)
	}
	add(t, v, 31*time.Second, sample("m", 1, 31*time.Second, "k", "old", "s", "x"))
	if got := values(v.Frame(t0.Add(31 * time.Second))); got["new/y"] != 7 || got["old/x"] != 1 || len(got) != 2 {
		t.Fatalf("old back: %v, want new/y = 7 and old/x = 1", got)
	}
}
