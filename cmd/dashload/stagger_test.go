package main

import "testing"

// With --stagger a push feeds one dashboard's charts, the dashboards in
// turn: push seq feeds dashboard seq mod dashboards, with a probe for
// each of its charts and its data spread over them, and nothing else.
func TestStaggeredPushFeedsOneDashboard(t *testing.T) {
	t.Parallel()
	const dashboards, perDashboard = 50, 4
	shape := bodyShape{charts: dashboards * perDashboard, categories: 10, series: 5, batch: 40, perPush: perDashboard}
	cats := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
	series := []string{"a", "b", "c", "d", "e"}
	for _, seq := range []uint64{0, 7, 49, 50, 123} {
		d := int(seq % dashboards)
		got := shape.samples(nil, seq, cats, series)
		if len(got) != shape.batch {
			t.Fatalf("push %d: %d samples, want %d", seq, len(got), shape.batch)
		}
		probes := map[int]bool{}
		for _, s := range got {
			if s.chart < d*perDashboard || s.chart >= (d+1)*perDashboard {
				t.Fatalf("push %d feeds chart %d, outside dashboard %d's charts %d…%d", seq, s.chart, d, d*perDashboard, (d+1)*perDashboard-1)
			}
			if s.cat == probeCategory {
				probes[s.chart] = true
			}
		}
		if len(probes) != perDashboard {
			t.Fatalf("push %d carries probes for %d charts, want %d", seq, len(probes), perDashboard)
		}
	}
	// Without perPush every push feeds every chart, as before.
	shape.perPush, shape.batch = 0, 400
	seen := map[int]bool{}
	for _, s := range shape.samples(nil, 3, cats, series) {
		seen[s.chart] = true
	}
	if len(seen) != shape.charts {
		t.Fatalf("an unstaggered push feeds %d charts, want all %d", len(seen), shape.charts)
	}
}
