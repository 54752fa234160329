package charts_test

import (
	"fmt"
	"testing"

	"github.com/dashd/dashd/charts"
)

// BenchmarkOption builds the option of a 50 × 10 chart with two
// thresholds, as GET /api/v1/charts/{id}/option does once per page load
// (off the board's goroutine).
func BenchmarkOption(b *testing.B) {
	def := charts.Chart{ID: "c", Metric: "m", X: "route", Series: "status", Type: charts.Stacked, Unit: "ms",
		Thresholds: []charts.Threshold{{Value: 250, Label: "SLO"}, {Value: 1000, Label: "timeout"}}}
	def.Normalize()
	f := charts.Frame{}
	for i := range 50 {
		f.Categories = append(f.Categories, fmt.Sprintf("/api/v1/route/%d", i))
	}
	for s := range 10 {
		data := make([]float64, 50)
		for i := range data {
			data[i] = float64(i*s) + 0.5
		}
		f.Series = append(f.Series, charts.FrameSeries{Name: fmt.Sprintf("s%d", s), Data: data})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := charts.Option(def, f); err != nil {
			b.Fatal(err)
		}
	}
}
