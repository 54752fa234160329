package charts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// TestFilteredViewIsItsOwnChart: a tenant's filtered view shows what a
// chart of its own (the chart with the tenant in its where) shows when
// fed the same samples at the same times: slots roll over, names leave
// the window and their ids are used again, the chart itself folds hosts
// into Other (4 categories for 6 hosts), and samples arrive late. The
// board adds a tenant's samples through a cache of the chart's cells
// (filtered.go, fcell): a cache that outlives what it learned shows here
// as a frame that differs.
func TestFilteredViewIsItsOwnChart(t *testing.T) {
	t.Parallel()
	def := charts.Chart{ID: "usage", Type: charts.Stacked, Metric: "usage", X: "host", Series: "status", Window: charts.Duration(30 * time.Second)}
	limits := charts.Limits{MaxCategories: 4}
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	b, _ := startBoard(t, charts.Config{Now: now, Limits: limits}, charts.Dashboard{ID: "d", Charts: []charts.Chart{def}})
	ctx := context.Background()

	const tenants = 3
	refs := make([]*charts.View, tenants)
	norm, _ := b.Chart("usage") // normalized: the field is "value"
	for i := range refs {
		own := norm
		own.Where = map[string]string{"tenant": fmt.Sprint("t", i)}
		refs[i] = charts.NewView(own, limits)
		_, release, err := b.Acquire(ctx, "usage", own.Where)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	applied := b.Stats().Applied
	check := func(round int) {
		t.Helper()
		for i, ref := range refs {
			msg, err := b.FrameWhere(ctx, "usage", ref.Definition().Where)
			if err != nil {
				t.Fatal(err)
			}
			var got wireFrame
			if err := json.Unmarshal(msg, &got); err != nil {
				t.Fatal(err)
			}
			if g, w := frameText(got), wantText(ref.Frame(now())); g != w {
				t.Fatalf("round %d, tenant %d: the filtered view shows\n%s\nits own chart\n%s", round, i, g, w)
			}
		}
	}
	for round := range 400 {
		clock.Add(int64(rng.IntN(2500)) * int64(time.Millisecond))
		if round == 200 {
			// The h hosts leave the window, and the check forgets them in
			// both before the g hosts come: no tenant ever has more than 3
			// hosts, so its view folds none (when it would depends on when
			// frames are built, which differs between the two).
			clock.Add(int64(time.Minute))
			check(round)
		}
		batch := make([]ingest.Sample, 1+rng.IntN(20))
		for j := range batch {
			tn := rng.IntN(tenants)
			// Each tenant writes 3 of 6 hosts; the chart sees all 6.
			host := fmt.Sprint("h", (tn+rng.IntN(3))%6)
			if round >= 200 {
				host = fmt.Sprint("g", (tn+rng.IntN(3))%6) // new names, on the ids of the old
			}
			ago := time.Duration(rng.IntN(8000)) * time.Millisecond
			batch[j] = sample("usage", float64(rng.IntN(9)+1), 0, "tenant", fmt.Sprint("t", tn), "host", host, "status", []string{"ok", "err"}[rng.IntN(2)])
			batch[j].Time = now().Add(-ago)
		}
		if err := b.Accept(ctx, batch); err != nil {
			t.Fatal(err)
		}
		applied += uint64(len(batch))
		for b.Stats().Applied < applied {
			time.Sleep(100 * time.Microsecond)
		}
		for i := range batch {
			for _, ref := range refs {
				if ref.Matches(&batch[i]) {
					ref.Add(&batch[i], now())
				}
			}
		}
		if round%7 == 0 {
			check(round)
		}
	}
}

func frameText(f wireFrame) string {
	s := fmt.Sprint(f.Categories)
	for _, se := range f.Series {
		s += "\n" + se.Name + ":"
		for _, x := range se.Data {
			if x == nil {
				s += " -"
			} else {
				s += fmt.Sprint(" ", *x)
			}
		}
	}
	return s
}

func wantText(f charts.Frame) string {
	s := fmt.Sprint(slices.Clone(f.Categories))
	for _, se := range f.Series {
		s += "\n" + se.Name + ":"
		for _, x := range se.Data {
			if x != x {
				s += " -"
			} else {
				s += fmt.Sprint(" ", x)
			}
		}
	}
	return s
}
