package charts

import (
	"encoding/json"
	"math"

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
		var lines []interface{}
		for _, t := range def.Thresholds {
			if def.Horizontal {
				lines = append(lines, opts.MarkLineNameXAxisItem{Name: t.Label, XAxis: t.Value})
			} else {
				lines = append(lines, opts.MarkLineNameYAxisItem{Name: t.Label, YAxis: t.Value})
			}
		}
		bar.AddSeries("", nil, echarts.WithSeriesOpts(func(ss *echarts.SingleSeries) {
			ss.Id = thresholdSeriesID
			ss.MarkLines = &opts.MarkLines{Data: lines, MarkLineStyle: opts.MarkLineStyle{Symbol: []string{"none", "none"}}}
		}))
	}
	bar.Validate()
	return json.Marshal(bar.JSON())
}
