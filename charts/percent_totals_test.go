package charts_test

import (
	"math"
	"strings"
	"testing"

	"github.com/dashd/dashd/charts"
)

// A percent chart's frame carries each category's total, so that the
// tooltip can show the counts behind the shares (issue 19); other charts'
// frames do not.
func TestPercentFrameCarriesTotals(t *testing.T) {
	t.Parallel()
	v := newView(t, charts.Chart{Metric: "m", X: "k", Series: "s", Type: charts.Percent})
	add(t, v, 0,
		sample("m", 3, 0, "k", "a", "s", "ok"),
		sample("m", 1, 0, "k", "a", "s", "err"),
		sample("m", 2, 0, "k", "b", "s", "ok"),
	)
	f := v.Frame(t0)
	want := map[string]float64{"a": 4, "b": 2}
	if len(f.Totals) != len(f.Categories) {
		t.Fatalf("totals %v for categories %v", f.Totals, f.Categories)
	}
	for i, c := range f.Categories {
		if f.Totals[i] != want[c] {
			t.Errorf("total of %s: %v, want %v", c, f.Totals[i], want[c])
		}
	}
	if b := string(f.AppendJSON(nil)); !strings.HasSuffix(b, `],"totals":[4,2]}`) && !strings.HasSuffix(b, `],"totals":[2,4]}`) {
		t.Errorf("encoded: %s", b)
	}

	g := newView(t, charts.Chart{Metric: "m", X: "k", Series: "s", Type: charts.Stacked})
	add(t, g, 0, sample("m", 3, 0, "k", "a", "s", "ok"))
	if f := g.Frame(t0); f.Totals != nil || strings.Contains(string(f.AppendJSON(nil)), "totals") {
		t.Errorf("a stacked chart's frame carries totals: %v", f.Totals)
	}

	// A push chart too; a category with nothing has no total.
	c := charts.Chart{ID: "p", Type: charts.Percent}
	c.Normalize()
	p := charts.NewView(c, charts.Limits{})
	p.SetData([]string{"a", "b"}, []charts.FrameSeries{{Name: "x", Data: []float64{3, math.NaN()}}, {Name: "y", Data: []float64{1, math.NaN()}}})
	pf := p.Frame(t0)
	if len(pf.Totals) != 2 || pf.Totals[0] != 4 || !math.IsNaN(pf.Totals[1]) {
		t.Errorf("push chart totals %v, want [4 NaN]", pf.Totals)
	}
	if !strings.HasSuffix(string(pf.AppendJSON(nil)), `"totals":[4,null]}`) {
		t.Errorf("encoded: %s", pf.AppendJSON(nil))
	}
}
