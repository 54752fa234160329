package charts_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// The Router is exact: for any sample, the views it hands over that
// match are every view that matches, whatever the wheres (an indexed
// key, two keys, a $variable, none).
func TestRouterPassesOverOnlyViewsThatCannotMatch(t *testing.T) {
	t.Parallel()
	w := charts.Duration(time.Minute)
	defs := []charts.Chart{
		{ID: "all", Metric: "req", X: "route", Agg: "sum", Window: w},
		{ID: "ok", Metric: "req", X: "route", Agg: "sum", Window: w, Where: map[string]string{"status": "200"}},
		{ID: "err", Metric: "req", X: "route", Agg: "count", Window: w, Where: map[string]string{"status": "500"}},
		{ID: "a-404", Metric: "req", X: "status", Agg: "sum", Window: w, Where: map[string]string{"route": "/a", "status": "404"}},
		{ID: "b", Metric: "req", X: "status", Agg: "sum", Window: w, Where: map[string]string{"route": "/b"}},
		{ID: "var", Metric: "req", X: "route", Agg: "sum", Window: w, Where: map[string]string{"status": "$status"}},
		{ID: "empty", Metric: "req", X: "route", Agg: "sum", Window: w, Where: map[string]string{"status": ""}},
		{ID: "lat", Metric: "lat", X: "host", Agg: "max", Window: w, Where: map[string]string{"host": "h1"}},
		{ID: "lat-all", Metric: "lat", X: "host", Agg: "max", Window: w},
	}
	dash := charts.Dashboard{ID: "route", Charts: defs, Variables: []charts.Variable{{Name: "status", Tag: "status"}}}
	if err := dash.Check(); err != nil {
		t.Fatal(err)
	}
	defs = dash.Charts
	var views []*charts.View
	for _, d := range defs {
		views = append(views, charts.NewView(d, charts.Limits{}))
	}
	r := charts.NewRouter(views)
	if key := charts.RouterKey(r, "req"); key != "status" {
		t.Fatalf("req views indexed by %q, want status (the key most of them filter on)", key)
	}
	matched := map[string]int{}
	rng := rand.New(rand.NewPCG(14, 31))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	for i := range 5000 {
		s := ingest.Sample{Metric: pick("req", "lat", "other"), Field: pick("value", "value", "value", "bytes")}
		if rng.IntN(8) > 0 {
			s.Tags = append(s.Tags, ingest.Tag{Key: "status", Value: pick("200", "404", "500", "")})
		}
		if rng.IntN(8) > 0 {
			s.Tags = append(s.Tags, ingest.Tag{Key: "route", Value: pick("/a", "/b", "/c")})
		}
		s.Tags = append(s.Tags, ingest.Tag{Key: "host", Value: pick("h1", "h2")})
		rng.Shuffle(len(s.Tags), func(a, b int) { s.Tags[a], s.Tags[b] = s.Tags[b], s.Tags[a] })
		var want, got []string
		for _, v := range views {
			if v.Matches(&s) {
				want = append(want, v.Definition().ID)
				matched[v.Definition().ID]++
			}
		}
		rest, fixed := r.Candidates(&s)
		for _, v := range slices.Concat(rest, fixed) {
			if v.Matches(&s) {
				got = append(got, v.Definition().ID)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("sample %d %+v: the router's views that match are %v; every view that matches: %v", i, s, got, want)
		}
	}
	for _, d := range defs {
		if matched[d.ID] == 0 {
			t.Errorf("no sample matched chart %s: the test says nothing of it", d.ID)
		}
	}
}
