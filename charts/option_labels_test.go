package charts_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/dashd/dashd/charts"
)

// labelOption is what these tests read of an option.
type labelOption struct {
	Dashd struct {
		Format map[string]any `json:"format"`
	} `json:"dashd"`
	Grid         []map[string]any `json:"grid"`
	XAxis, YAxis []struct {
		AxisLabel map[string]any `json:"axisLabel"`
	}
	Series []struct {
		ID       string `json:"id"`
		MarkLine struct {
			Data []struct {
				Name      string         `json:"name"`
				YAxis     *float64       `json:"yAxis"`
				XAxis     *float64       `json:"xAxis"`
				Label     map[string]any `json:"label"`
				LineStyle map[string]any `json:"lineStyle"`
			} `json:"data"`
		} `json:"markLine"`
	} `json:"series"`
}

func optionOf(t *testing.T, def charts.Chart, f charts.Frame) labelOption {
	t.Helper()
	def.Normalize()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := charts.Option(def, f)
	if err != nil {
		t.Fatal(err)
	}
	var o labelOption
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return o
}

// px reads a length of the option: a number, or a string of one ("96").
func px(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

func categories(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// Issue 19: ECharts' automatic interval showed 4 of 7 routes; long routes
// were cut at the card's edge; in horizontal mode the labels took 70 % of
// the card. The option says how the labels lie, so any ECharts draws the
// same.
func TestOptionLaysOutCategoryLabels(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		horizontal   bool
		top          int
		categories   []string
		wantInterval float64
		wantRotate   float64 // 0: not rotated
		wantWidth    float64 // 0: any
	}{
		"7 short routes: all, side by side": {categories: categories(7, "/r%d"), wantInterval: 0},
		"7 long routes: all, rotated, cut":  {categories: categories(7, "/api/v2/customers/%d/orders"), wantInterval: 0, wantRotate: 30, wantWidth: 100},
		"12: all":                           {categories: categories(12, "c%d"), wantInterval: 0},
		"13: every second":                  {categories: categories(13, "c%d"), wantInterval: 1},
		"40: every fourth":                  {categories: categories(40, "c%d"), wantInterval: 3},
		"horizontal: a capped gutter":       {horizontal: true, categories: categories(7, "/api/v2/customers/%d/orders"), wantInterval: 0, wantWidth: 100},
		"2 routes now, room for 12 later":   {categories: categories(2, "/api/v1/r%d"), wantInterval: 0, wantRotate: 30, wantWidth: 100},
		"2 routes of a top 2":               {top: 2, categories: categories(2, "/api/v1/r%d"), wantInterval: 0},
		"none yet: rotated":                 {wantInterval: 0, wantRotate: 30, wantWidth: 100},
	}
	for name, tc := range tests {
		def := charts.Chart{ID: "c", Metric: "m", X: "route", Horizontal: tc.horizontal, Top: tc.top}
		o := optionOf(t, def, charts.Frame{Categories: tc.categories})
		axis := o.XAxis
		if tc.horizontal {
			axis = o.YAxis
		}
		l := axis[0].AxisLabel
		if l["interval"] != tc.wantInterval {
			t.Errorf("%s: interval %v, want %v", name, l["interval"], tc.wantInterval)
		}
		if r, _ := l["rotate"].(float64); r != tc.wantRotate {
			t.Errorf("%s: rotate %v, want %v", name, l["rotate"], tc.wantRotate)
		}
		if l["overflow"] != "truncate" || l["ellipsis"] != "…" || l["hideOverlap"] != true {
			t.Errorf("%s: labels not cut with an ellipsis: %v", name, l)
		}
		w, _ := l["width"].(float64)
		capped := tc.horizontal || tc.wantRotate != 0 // else as wide as a label's share of the card
		if w <= 0 || (capped && w > 100) || (tc.wantWidth != 0 && w != tc.wantWidth) {
			t.Errorf("%s: label width %v, want %v (at most 100 rotated or in a gutter)", name, l["width"], tc.wantWidth)
		}

	}
}

func TestOptionCarriesTheNumberFormat(t *testing.T) {
	t.Parallel()
	two := 2
	def := charts.Chart{ID: "c", Metric: "m", X: "route", Unit: "ms", Format: charts.Format{Decimals: &two, Prefix: "~"}}
	o := optionOf(t, def, charts.Frame{})
	if f := o.Dashd.Format; f["unit"] != "ms" || f["decimals"] != float64(2) || f["prefix"] != "~" {
		t.Errorf("dashd.format = %v", f)
	}
	if l := o.YAxis[0].AxisLabel; l["formatter"] != "~{value} ms" || l["hideOverlap"] != true {
		t.Errorf("value axis labels %v: want the unit and prefix, and hideOverlap", l)
	}
	pct := optionOf(t, charts.Chart{ID: "p", Metric: "m", X: "route", Type: charts.Percent, Horizontal: true}, charts.Frame{})
	if pct.Dashd.Format["unit"] != "%" || pct.XAxis[0].AxisLabel["formatter"] != "{value} %" {
		t.Errorf("percent chart: format %v, value axis %v", pct.Dashd.Format, pct.XAxis[0].AxisLabel)
	}
}

// Issue 19: thresholds were drawn with their raw value ("250", "1000000")
// and never their label, often over a bar.
func TestOptionLabelsThresholds(t *testing.T) {
	t.Parallel()
	for _, horizontal := range []bool{false, true} {
		def := charts.Chart{ID: "c", Metric: "m", X: "route", Unit: "ms", Horizontal: horizontal,
			Thresholds: []charts.Threshold{{Value: 250, Label: "SLO", Color: "#f00"}, {Value: 1000000}}}
		o := optionOf(t, def, charts.Frame{Categories: []string{"/a"}})
		var lines []string
		for _, s := range o.Series {
			if s.ID != "t" {
				continue
			}
			for _, d := range s.MarkLine.Data {
				v := d.YAxis
				if horizontal {
					v = d.XAxis
				}
				if v == nil {
					t.Errorf("horizontal %v: threshold %q has no value on the value axis", horizontal, d.Name)
				}
				want := "end"
				if horizontal {
					want = "start" // the top: the category axis is inverse
				}
				if d.Label["position"] != want {
					t.Errorf("horizontal %v: threshold label at %v, want %s (outside the plot)", horizontal, d.Label["position"], want)
				}
				lines = append(lines, fmt.Sprint(d.Label["formatter"]))
			}
			if c := s.MarkLine.Data[0].LineStyle["color"]; c != "#f00" {
				t.Errorf("threshold colour %v", c)
			}
		}
		if fmt.Sprint(lines) != "[SLO · 250 ms 16.7 min]" {
			t.Errorf("horizontal %v: threshold labels %q", horizontal, lines)
		}
		if right := px(o.Grid[0]["right"]); !horizontal && right < 12*7 {
			t.Errorf("grid right %v leaves no room for the label %q", o.Grid[0]["right"], lines[0])
		}
	}
	// A label too long for the margin is written on two lines.
	two := 2
	def := charts.Chart{ID: "c", Metric: "m", X: "route", Format: charts.Format{Prefix: "$", Decimals: &two},
		Thresholds: []charts.Threshold{{Value: 15000, Label: "budget"}}}
	o := optionOf(t, def, charts.Frame{})
	if got := o.Series[0].MarkLine.Data[0].Label["formatter"]; got != "budget\n$15.00k" {
		t.Errorf("a long threshold label: %q", got)
	}
	if right := px(o.Grid[0]["right"]); right != 7*7+12 {
		t.Errorf("grid right %v, want room for the longer line", right)
	}
}
