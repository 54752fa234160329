package charts

import (
	"encoding/json"
	"math"
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
// mark lines on a data-less series with the id "t".
func Option(def Chart, f Frame) ([]byte, error) {
	bar := echarts.NewBar()
	bar.SetGlobalOptions(
		echarts.WithTitleOpts(opts.Title{Title: def.Title, Subtitle: def.Unit}),
		echarts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		echarts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(f.Series) > 1), Type: "scroll", Bottom: "0"}),
		echarts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(false)}),
		echarts.WithGridOpts(opts.Grid{ContainLabel: opts.Bool(true), Left: "8", Right: "16", Top: "48", Bottom: "32"}),
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
	if len(def.Thresholds) > 0 {
		// A data-less series whose mark lines are filled in below, with
		// labels go-echarts has no fields for.
		bar.AddSeries("", nil, echarts.WithSeriesOpts(func(ss *echarts.SingleSeries) {
			ss.Id = thresholdSeriesID
			ss.MarkLines = &opts.MarkLines{MarkLineStyle: opts.MarkLineStyle{Symbol: []string{"none", "none"}}}
		}))
	}
	bar.Validate()
	// go-echarts (v2.7.0) has no fields for a label's width, overflow and
	// ellipsis, nor for a mark line's own label: the option is finished as
	// plain JSON data.
	raw, err := json.Marshal(bar.JSON())
	if err != nil {
		return nil, err
	}
	var opt map[string]any
	if err := json.Unmarshal(raw, &opt); err != nil {
		return nil, err
	}
	finish(opt, def, f)
	return json.Marshal(opt)
}

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

// finish adds to opt (an option from go-echarts, as JSON data) what dashd
// decides beyond it: the number format (dashd.format, for dashd's client:
// ECharts ignores the key), the category labels' layout, the value axis's
// labels, and the thresholds' labelled lines.
func finish(opt map[string]any, def Chart, f Frame) {
	nf := def.NumberFormat()
	opt["dashd"] = map[string]any{"format": nf}
	catKey, valKey := "xAxis", "yAxis"
	if def.Horizontal {
		catKey, valKey = "yAxis", "xAxis"
	}
	if def.X != TimeAxis {
		// Time labels are the client's to lay out (round ticks).
		setAxisLabel(opt, catKey, categoryLabels(f.Categories, def.Horizontal))
	}
	valueLabel := map[string]any{"hideOverlap": true}
	if tpl := valueTemplate(nf); tpl != "{value}" {
		// For an ECharts without dashd's client, which writes the ticks
		// with the whole format (see dashd-format.js).
		valueLabel["formatter"] = tpl
	}
	setAxisLabel(opt, valKey, valueLabel)
	if len(def.Thresholds) > 0 {
		thresholds(opt, def, nf)
	}
}

// setAxisLabel merges label into the axisLabel of every axis under key.
func setAxisLabel(opt map[string]any, key string, label map[string]any) {
	axes, _ := opt[key].([]any)
	for _, a := range axes {
		axis, ok := a.(map[string]any)
		if !ok {
			continue
		}
		al, _ := axis["axisLabel"].(map[string]any)
		if al == nil {
			al = map[string]any{}
		}
		for k, v := range label {
			al[k] = v
		}
		axis["axisLabel"] = al
	}
}

// categoryLabels lays out the labels of categories: every one up to
// maxShownCategories, beyond that every k-th; each cut with an ellipsis at
// a width that fits, rotated when they do not fit side by side. On a
// horizontal chart they stand one above the other, in a gutter at most
// maxLabelWidth wide. hideOverlap is the safety net for what the estimate
// misses (a narrower card, more categories in a later frame).
func categoryLabels(categories []string, horizontal bool) map[string]any {
	n := len(categories)
	interval := 0
	if n > maxShownCategories {
		interval = (n+maxShownCategories-1)/maxShownCategories - 1
	}
	label := map[string]any{
		"interval": interval, "hideOverlap": true,
		"overflow": "truncate", "ellipsis": "…", "width": maxLabelWidth,
	}
	if horizontal || n == 0 {
		return label
	}
	longest := 0
	for _, c := range categories {
		longest = max(longest, utf8.RuneCountInString(c))
	}
	shown := (n + interval) / (interval + 1)
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

// thresholds fills the mark lines of the threshold series: each labelled
// with its label and its value in the chart's format ("SLO · 250 ms"),
// outside the plot so that it covers no bar. On a vertical chart the label
// stands right of the line's end, in a margin the grid leaves for it (at
// most maxThresholdWidth: a longer text is written on two lines, label
// above value, and cut with an ellipsis past that). On a horizontal chart
// it stands above the line's top end, which is its start: the category
// axis is inverse there.
func thresholds(opt map[string]any, def Chart, nf NumberFormat) {
	series, _ := opt["series"].([]any)
	var ts map[string]any
	for _, s := range series {
		if m, ok := s.(map[string]any); ok && m["id"] == thresholdSeriesID {
			ts = m
		}
	}
	if ts == nil {
		return
	}
	ml, _ := ts["markLine"].(map[string]any)
	if ml == nil {
		ml = map[string]any{}
	}
	axis, position := "yAxis", "end"
	if def.Horizontal {
		axis, position = "xAxis", "start"
	}
	widest := 0 // characters of the longest line drawn
	var data []any
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
		data = append(data, item)
	}
	ml["data"] = data
	ts["markLine"] = ml
	if def.Horizontal {
		return
	}
	right := min(widest*charWidth, maxThresholdWidth) + 12
	grids, _ := opt["grid"].([]any)
	for _, g := range grids {
		if gm, ok := g.(map[string]any); ok {
			gm["right"] = right
		}
	}
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
