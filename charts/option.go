package charts

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	echarts "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Series ids in an option: a frame's series "name" has the id "s:name", so
// that no user-chosen name can take the id of dashd's own threshold series.
const (
	seriesIDPrefix    = "s:"
	thresholdSeriesID = "t"
)

// Option returns a complete ECharts option for def drawn with the data of f,
// ready for setOption. It is built with go-echarts and encoded with
// encoding/json, which escapes '<', '>' and '&': the result is safe to embed
// in a page. Every bar series has the id "s:"+name; thresholds, if any, are
// labelled mark lines on a data-less series with the id "t". Beyond what
// ECharts reads, it carries the chart's number format as dashd.format, for
// dashd's client (ECharts ignores the key).
func Option(def Chart, f Frame) ([]byte, error) {
	nf := def.NumberFormat()
	marks, right := thresholdLines(def, nf)
	bar := echarts.NewBar()
	bar.SetGlobalOptions(
		echarts.WithTitleOpts(opts.Title{Title: def.Title, Subtitle: def.Unit}),
		echarts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		echarts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(f.Series) > 1), Type: "scroll", Bottom: "0"}),
		echarts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(false)}),
		echarts.WithGridOpts(opts.Grid{ContainLabel: opts.Bool(true), Left: "8", Right: strconv.Itoa(right), Top: "48", Bottom: "32"}),
		echarts.WithAnimation(true),
	)
	valueAxis := opts.YAxis{Type: "value"}
	if def.Type == Percent {
		valueAxis.Max = 100
	}
	if def.Horizontal {
		// Inverse puts the first category at the top, where a reader of a
		// ranking looks for it (ECharts starts a vertical axis at the bottom).
		bar.SetGlobalOptions(
			echarts.WithXAxisOpts(opts.XAxis{Type: "value", Max: valueAxis.Max}),
			echarts.WithYAxisOpts(opts.YAxis{Type: "category", Data: f.Categories, Inverse: opts.Bool(true)}),
		)
		bar.XYReversal()
	} else {
		bar.SetGlobalOptions(
			echarts.WithXAxisOpts(opts.XAxis{Type: "category"}),
			echarts.WithYAxisOpts(valueAxis),
		)
	}
	bar.SetXAxis(f.Categories)

	stack := ""
	if def.Type != Grouped {
		stack = "total"
	}
	for _, s := range f.Series {
		data := make([]opts.BarData, len(s.Data))
		for i, v := range s.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				data[i] = opts.BarData{Value: "-"} // ECharts' empty value
			} else {
				data[i] = opts.BarData{Value: v}
			}
		}
		bar.AddSeries(s.Name, data, echarts.WithSeriesOpts(func(ss *echarts.SingleSeries) {
			ss.Id = seriesIDPrefix + s.Name
			ss.Stack = stack
		}))
	}
	if len(marks) > 0 {
		bar.AddSeries("", nil, echarts.WithSeriesOpts(func(ss *echarts.SingleSeries) {
			ss.Id = thresholdSeriesID
			ss.MarkLines = &opts.MarkLines{Data: marks, MarkLineStyle: opts.MarkLineStyle{Symbol: []string{"none", "none"}}}
		}))
	}
	bar.Validate()

	// go-echarts (v2.7.0) has no fields for a label's width, overflow,
	// ellipsis and hideOverlap: the axes are encoded with dashd's labels.
	var catLabel map[string]any
	if def.X != TimeAxis {
		catLabel = categoryLabels(f.Categories, def.Horizontal, def.Top) // time labels are the client's (round ticks)
	}
	valLabel := map[string]any{"hideOverlap": true}
	if tpl := valueTemplate(nf); tpl != "{value}" {
		// For an ECharts without dashd's client, which writes the ticks
		// with the whole format (see dashd-format.js).
		valLabel["formatter"] = tpl
	}
	xLabel, yLabel := catLabel, valLabel
	if def.Horizontal {
		xLabel, yLabel = valLabel, catLabel
	}
	obj := bar.JSON()
	xs := make([]xAxisOut, len(bar.XAxisList))
	for i, a := range bar.XAxisList {
		xs[i] = xAxisOut{XAxis: a, AxisLabel: xLabel}
	}
	ys := make([]yAxisOut, len(bar.YAxisList))
	for i, a := range bar.YAxisList {
		ys[i] = yAxisOut{YAxis: a, AxisLabel: yLabel}
	}
	obj["xAxis"], obj["yAxis"] = xs, ys
	obj["dashd"] = map[string]any{"format": nf}
	return json.Marshal(obj)
}

// xAxisOut and yAxisOut are go-echarts' axes with dashd's labels: the
// outer axisLabel hides the embedded one (encoding/json takes the less
// nested field of a name).
type (
	xAxisOut struct {
		opts.XAxis
		AxisLabel map[string]any `json:"axisLabel,omitempty"`
	}
	yAxisOut struct {
		opts.YAxis
		AxisLabel map[string]any `json:"axisLabel,omitempty"`
	}
)

// The label layout, decided here so that the option alone draws the
// chart as dashd's pages do. A card's plot is taken to be about
// layoutWidth pixels wide and a label's character about charWidth (ECharts
// draws axis labels at 12 px).
const (
	// maxShownCategories is the most category labels shown: up to it,
	// every one; beyond, every k-th, so that about this many show.
	maxShownCategories = 12
	layoutWidth        = 360
	charWidth          = 7
	// maxLabelWidth caps a category label (then cut with an ellipsis):
	// rotated labels, and the gutter of a horizontal chart, whose value
	// ticks would otherwise be squeezed until they overprint.
	maxLabelWidth = 100
	// rotateLabels is the angle of category labels too long to sit side by
	// side.
	rotateLabels = 30
	// maxThresholdWidth caps the room a threshold label takes right of
	// the plot: "SLO · 250 ms" fits; on a phone it is a quarter of the card.
	maxThresholdWidth = 96
)

// categoryLabels lays out the labels of categories: every one up to
// maxShownCategories, beyond that every k-th; each cut with an ellipsis at
// a width that fits, rotated when they do not fit side by side. On a
// horizontal chart they stand one above the other, in a gutter at most
// maxLabelWidth wide.
//
// The option is drawn once and then fed frames, whose categories may be
// more than those seen now (a page opened before the data, or while it
// still grows): the labels are laid out for at least as many as the chart
// may show, up to maxShownCategories (its top N and "other", if it has a
// top), so a chart that shows 2 routes now and 7 later still shows all 7.
// With no category yet they are rotated. hideOverlap is the safety net for
// what the estimate misses (a narrower card, more than 12 later).
func categoryLabels(categories []string, horizontal bool, top int) map[string]any {
	n := len(categories)
	interval := 0
	if n > maxShownCategories {
		interval = (n+maxShownCategories-1)/maxShownCategories - 1
	}
	label := map[string]any{
		"interval": interval, "hideOverlap": true,
		"overflow": "truncate", "ellipsis": "…", "width": maxLabelWidth,
	}
	if horizontal {
		return label
	}
	if n == 0 {
		label["rotate"] = rotateLabels
		return label
	}
	longest := 0
	for _, c := range categories {
		longest = max(longest, utf8.RuneCountInString(c))
	}
	expected := maxShownCategories
	if top > 0 {
		expected = min(top+1, maxShownCategories) // top N and other
	}
	shown := max((n+interval)/(interval+1), expected)
	slot := layoutWidth / shown
	if longest*charWidth <= slot-8 {
		label["width"] = slot - 8
	} else {
		label["rotate"] = rotateLabels
	}
	return label
}

// valueTemplate is an ECharts string formatter that writes nf's prefix,
// suffix and unit around a tick ("${value}", "{value} ms"). Validate
// refuses braces in them, so none is read as a template.
func valueTemplate(nf NumberFormat) string {
	t := nf.Prefix + "{value}" + nf.Suffix
	if nf.Unit != "" {
		t += " " + nf.Unit
	}
	return t
}

// thresholdLines returns the mark lines of def's thresholds, and the
// grid's right margin, in pixels, that their labels need. Each line is
// labelled with its label and its value in the chart's format ("SLO · 250
// ms"), outside the plot so that it covers no bar. On a vertical chart the
// label stands right of the line's end, in the margin (at most
// maxThresholdWidth: a longer text is written on two lines, label above
// value, and cut with an ellipsis past that). On a horizontal chart it
// stands above the line's top end, which is its start: the category axis
// is inverse there.
func thresholdLines(def Chart, nf NumberFormat) (marks []any, right int) {
	const margin = 16 // the grid's right margin without thresholds
	axis, position := "yAxis", "end"
	if def.Horizontal {
		axis, position = "xAxis", "start"
	}
	widest := 0 // characters of the longest line drawn right of the plot
	for _, t := range def.Thresholds {
		text := ThresholdText(t, nf)
		lines := []string{text}
		if !def.Horizontal && utf8.RuneCountInString(text)*charWidth > maxThresholdWidth && t.Label != "" {
			lines = []string{t.Label, nf.Value(t.Value)}
		}
		for _, l := range lines {
			widest = max(widest, utf8.RuneCountInString(l))
		}
		label := map[string]any{
			"show": true, "position": position, "formatter": strings.Join(lines, "\n"),
			"width": maxThresholdWidth, "overflow": "truncate", "ellipsis": "…",
		}
		if len(lines) > 1 {
			label["lineHeight"] = 14 // else ECharts draws the two lines one over the other
		}
		item := map[string]any{"name": t.Label, axis: t.Value, "label": label}
		if t.Color != "" {
			item["lineStyle"] = map[string]any{"color": t.Color}
		}
		marks = append(marks, item)
	}
	if def.Horizontal || widest == 0 {
		return marks, margin
	}
	return marks, min(widest*charWidth, maxThresholdWidth) + 12
}

// ThresholdText is the label drawn on threshold t: its label and its value
// in format nf ("SLO · 250 ms"), or the value alone.
func ThresholdText(t Threshold, nf NumberFormat) string {
	v := nf.Value(t.Value)
	if t.Label == "" {
		return v
	}
	return t.Label + " · " + v
}
