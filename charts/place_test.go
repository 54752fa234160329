package charts_test

import (
	"strings"
	"testing"

	"github.com/dashd/dashd/charts"
)

// A chart's place on a page (width in grid columns, height in CSS px) is
// checked like every other field: out of range is an error naming it.
func TestChartPlaceOnAPage(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		width, height int
		bad           string // the field named, "" for none
	}{
		"defaults":        {},
		"three columns":   {width: 3, height: 480},
		"one column":      {width: 1, height: 120},
		"too wide":        {width: 4, bad: "charts[0].width"},
		"negative width":  {width: -1, bad: "charts[0].width"},
		"too low":         {height: 40, bad: "charts[0].height"},
		"too high":        {height: 5000, bad: "charts[0].height"},
		"negative height": {height: -3, bad: "charts[0].height"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := charts.Dashboard{ID: "d", Charts: []charts.Chart{{ID: "c", Metric: "m", X: "k", Width: tc.width, Height: tc.height}}}
			err := d.Check()
			fes := charts.FieldErrors(err)
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if len(fes) != 1 || fes[0].Field != tc.bad || !strings.Contains(fes[0].Message, "out of range") {
				t.Fatalf("want one error on %s, got %v", tc.bad, err)
			}
		})
	}
}
