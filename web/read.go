package web

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/dashd/dashd/charts"
)

// place is where a chart sits on a dashboard page (issue 19): the grid
// columns it spans (0: one) and its height in CSS pixels (0: the page's
// default). Both are checked by charts.Chart.Validate; kiosk ignores them
// and shares the screen among the charts.
type place struct {
	Width  int
	Height int
}

func placeOf(c charts.Chart) place { return place{Width: c.Width, Height: c.Height} }

// empty is what a chart with no data tells its reader (issue 19): the
// metric it reads (none: a push chart), the span it looks back over in
// seconds (0: since the start), and a sample that it would show, as JSON,
// for the one-line curl the page offers. The page shows them with
// textContent only.
type empty struct {
	Metric   string
	Lookback int64
	Sample   string
}

func emptyOf(c charts.Chart) empty {
	if c.Metric == "" {
		return empty{}
	}
	// The tags it groups by, and those it filters on, with their values.
	tags := map[string]string{}
	for _, k := range []string{c.X, c.Series} {
		if k != "" && k != charts.TimeAxis {
			tags[k] = "example"
		}
	}
	if c.X == charts.BucketBound {
		tags[c.X] = "+Inf"
	}
	maps.Copy(tags, c.Where)
	sample := struct {
		Metric string            `json:"metric"`
		Tags   map[string]string `json:"tags,omitempty"`
		Field  string            `json:"field,omitempty"`
		Value  float64           `json:"value"`
	}{Metric: c.Metric, Tags: tags, Value: 1}
	if c.Field != "" && c.Field != "value" {
		sample.Field = c.Field
	}
	b, err := json.Marshal(sample) // map keys come out sorted
	if err != nil {
		b = nil // only strings and a number: cannot fail
	}
	return empty{Metric: c.Metric, Lookback: int64(c.Lookback() / time.Second), Sample: string(b)}
}
