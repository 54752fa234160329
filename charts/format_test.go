package charts_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/dashd/dashd/charts"
)

// formatVectors is charts/testdata/format.json, which the client's tests
// (web/build/format.test.js) read too: Go and JavaScript write numbers
// alike.
type formatVectors struct {
	Values []struct {
		Why    string              `json:"why"`
		Format charts.NumberFormat `json:"format"`
		Value  float64             `json:"value"`
		Want   string              `json:"want"`
	} `json:"values"`
	Axes []struct {
		Why    string              `json:"why"`
		Format charts.NumberFormat `json:"format"`
		Axis   charts.Axis         `json:"axis"`
		Ticks  []float64           `json:"ticks"`
		Want   []string            `json:"want"`
	} `json:"axes"`
}

func readFormatVectors(t *testing.T) formatVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/format.json")
	if err != nil {
		t.Fatal(err)
	}
	var v formatVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("testdata/format.json: %v", err)
	}
	if len(v.Values) == 0 || len(v.Axes) == 0 {
		t.Fatal("testdata/format.json has no vectors")
	}
	return v
}

func TestNumberFormatVectors(t *testing.T) {
	t.Parallel()
	v := readFormatVectors(t)
	for i, c := range v.Values {
		if got := c.Format.Value(c.Value); got != c.Want {
			f, _ := json.Marshal(c.Format)
			t.Errorf("values[%d] %s: Value(%v) with %s = %q, want %q", i, c.Why, c.Value, f, got, c.Want)
		}
	}
	for i, c := range v.Axes {
		if len(c.Ticks) != len(c.Want) {
			t.Fatalf("axes[%d]: %d ticks, %d wants", i, len(c.Ticks), len(c.Want))
		}
		for j, tick := range c.Ticks {
			if got := c.Format.Tick(tick, c.Axis); got != c.Want[j] {
				f, _ := json.Marshal(c.Format)
				t.Errorf("axes[%d] %s: Tick(%v) with %s on %+v = %q, want %q", i, c.Why, tick, f, c.Axis, got, c.Want[j])
			}
		}
	}
}

func TestFormatValidation(t *testing.T) {
	t.Parallel()
	two, ten, minus := 2, 10, -1
	dot, bad := ".", "*"
	tests := map[string]struct {
		chart charts.Chart
		field string // "" valid
	}{
		"none":            {chart: charts.Chart{}},
		"full":            {chart: charts.Chart{Unit: "ms", Format: charts.Format{Decimals: &two, Prefix: "$", Suffix: " €", Thousands: &dot, Scale: "none"}, Thresholds: []charts.Threshold{{Value: 250, Label: "SLO"}}}},
		"decimals high":   {chart: charts.Chart{Format: charts.Format{Decimals: &ten}}, field: "format.decimals"},
		"decimals low":    {chart: charts.Chart{Format: charts.Format{Decimals: &minus}}, field: "format.decimals"},
		"prefix long":     {chart: charts.Chart{Format: charts.Format{Prefix: "USD dollars"}}, field: "format.prefix"},
		"suffix brace":    {chart: charts.Chart{Format: charts.Format{Suffix: "{a|x}"}}, field: "format.suffix"},
		"thousands":       {chart: charts.Chart{Format: charts.Format{Thousands: &bad}}, field: "format.thousands"},
		"scale":           {chart: charts.Chart{Format: charts.Format{Scale: "log"}}, field: "format.scale"},
		"unit control":    {chart: charts.Chart{Unit: "ms\n"}, field: "unit"},
		"threshold label": {chart: charts.Chart{Thresholds: []charts.Threshold{{Value: 1, Label: "{b}"}}}, field: "thresholds[0].label"},
	}
	for name, tc := range tests {
		c := tc.chart
		c.ID, c.Metric, c.X = "c", "m", "route"
		c.Normalize()
		err := c.Validate()
		fes := charts.FieldErrors(err)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if len(fes) != 1 || fes[0].Field != tc.field {
			t.Errorf("%s: errors %v, want one on %s", name, err, tc.field)
		}
	}
}

// A definition without a format keeps its version: pages drawn before the
// format existed are not told to reload.
func TestFormatLeavesOldVersions(t *testing.T) {
	t.Parallel()
	d := charts.Dashboard{ID: "d", Charts: []charts.Chart{{ID: "c", Metric: "m", X: "route", Unit: "ms"}}}
	b, _ := json.Marshal(d)
	if got := string(b); got != `{"id":"d","charts":[{"id":"c","metric":"m","x":"route","unit":"ms"}]}` {
		t.Errorf("a chart without a format encodes as %s", got)
	}
}
