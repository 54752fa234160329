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
// into Other (4 categories for 6 hosts, or 9), names it folded are
// admitted later and the keys they had in its shadow dictionary given to
// others, the dictionary is full, and samples arrive late. The board adds
// a tenant's samples through a cache keyed by the chart's keys of the
// names (filtered.go, fcell): a cache that outlives what it learned shows
// here as a frame that differs.
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
	// Four phases, each after a minute of silence that every name leaves
	// the window in (checked, so both sides forget them alike): the h
	// hosts; the g hosts, on the ids of the old; the p hosts, where tenant
	// 0's are the chart's and the others' past its limit (their keys are
	// in the chart's shadow dictionary), until tenant 0 is silent long
	// enough for its hosts to leave and others' to be admitted, and the
	// keys they had to be given to tenant 0's when it comes back; the w
	// hosts, after 200 hosts of a tenant nobody watches have filled the
	// dictionary (4 × 32 names), so that the tenants' names have no key.
	host := func(round, tn int) string {
		switch {
		case round < 200:
			// Each tenant writes 3 of 6 hosts; the chart sees all 6.
			return fmt.Sprint("h", (tn+rng.IntN(3))%6)
		case round < 300:
			return fmt.Sprint("g", (tn+rng.IntN(3))%6) // new names, on the ids of the old
		case round < 450:
			return fmt.Sprint("p", tn, "-", rng.IntN(3))
		default:
			return fmt.Sprint("w", tn, "-", rng.IntN(3))
		}
	}
	tenant := func(round int) int {
		switch {
		case round >= 300 && round < 310:
			return 0 // its hosts are the chart's 3 (and Other)
		case round >= 340 && round < 400:
			return 1 + rng.IntN(tenants-1) // tenant 0's hosts leave the window
		}
		return rng.IntN(tenants)
	}
	noise := func(n int) []ingest.Sample {
		out := make([]ingest.Sample, n)
		for j := range out {
			out[j] = sample("usage", 1, 0, "tenant", "x", "host", fmt.Sprint("x", rng.IntN(200)), "status", "ok")
			out[j].Time = now()
		}
		return out
	}
	for round := range 600 {
		clock.Add(int64(rng.IntN(2500)) * int64(time.Millisecond))
		if round%150 == 0 && round > 0 || round == 200 {
			// No tenant ever has more than 3 hosts in its window, so its
			// view folds none (when it would depends on when frames are
			// built, which differs between the two).
			clock.Add(int64(time.Minute))
			check(round)
		}
		batch := make([]ingest.Sample, 1+rng.IntN(20))
		for j := range batch {
			tn := tenant(round)
			ago := time.Duration(rng.IntN(8000)) * time.Millisecond
			batch[j] = sample("usage", float64(rng.IntN(9)+1), 0, "tenant", fmt.Sprint("t", tn), "host", host(round, tn), "status", []string{"ok", "err"}[rng.IntN(2)])
			batch[j].Time = now().Add(-ago)
		}
		switch {
		case round == 450:
			batch = append(noise(1000), batch...)
		case round > 450:
			batch = append(batch, noise(10)...)
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
