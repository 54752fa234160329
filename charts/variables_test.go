package charts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dashd/dashd/charts"
)

func TestVariablesAreChecked(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		vars  []charts.Variable
		where map[string]string
		want  string // "" for valid
	}{
		"bound":      {[]charts.Variable{{Name: "region", Tag: "region"}}, map[string]string{"region": "$region"}, ""},
		"undeclared": {nil, map[string]string{"region": "$region"}, "does not declare"},
		"other tag":  {[]charts.Variable{{Name: "region", Tag: "zone"}}, map[string]string{"region": "$region"}, "bound to the tag"},
		"bad name":   {[]charts.Variable{{Name: "a b", Tag: "x"}}, nil, "not a valid name"},
		"no tag":     {[]charts.Variable{{Name: "a"}}, nil, "tag"},
		"twice":      {[]charts.Variable{{Name: "a", Tag: "x"}, {Name: "a", Tag: "y"}}, nil, "twice"},
	}
	for name, tc := range tests {
		d := charts.Dashboard{ID: "d", Variables: tc.vars, Charts: []charts.Chart{{ID: "c", Metric: "m", X: "host", Where: tc.where}}}
		err := d.Check()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// Unbound, a variable reads every value; chosen, it is a filtered view.
func TestVariableChoosesAFilteredView(t *testing.T) {
	t.Parallel()
	d := charts.Dashboard{ID: "d", Variables: []charts.Variable{{Name: "region", Tag: "region"}}, Charts: []charts.Chart{
		{ID: "c", Metric: "req", X: "host", Where: map[string]string{"region": "$region"}},
	}}
	b, _ := startBoard(t, charts.Config{}, d)
	ctx := context.Background()
	eu := d.Filter(d.Charts[0], map[string]string{"region": "t01"})
	if eu["region"] != "t01" || len(eu) != 1 || d.Filter(d.Charts[0], nil) != nil {
		t.Fatalf("Filter: %v", eu)
	}
	if _, err := b.FrameWhere(ctx, "c", eu); err != nil {
		t.Fatal(err)
	}
	batch := tenantBatch(4, 0)
	for i := range batch { // region is the tenant here: t00…t03
		for j := range batch[i].Tags {
			if batch[i].Tags[j].Key == "region" {
				batch[i].Tags[j].Value = batch[i].Tags[len(batch[i].Tags)-1].Value
			}
		}
	}
	if err := b.Accept(ctx, batch); err != nil {
		t.Fatal(err)
	}
	all, _ := b.Frame(ctx, "c")
	for _, h := range []string{"t00-h0", "t01-h0", "t03-h0"} {
		if !strings.Contains(string(all), h) {
			t.Errorf("unbound: %s lacks %s", all, h)
		}
	}
	vals, err := b.VariableValues(ctx, "d")
	if err != nil || strings.Join(vals["region"], ",") != "t00,t01,t02,t03" {
		t.Errorf("VariableValues = %v, %v", vals, err)
	}
	one, _ := b.FrameWhere(ctx, "c", eu)
	if !strings.Contains(string(one), "t01-h0") || strings.Contains(string(one), "t00") || strings.Contains(string(one), "t03") {
		t.Errorf("region t01: %s", one)
	}
}
