package charts_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
)

// The bounds of a default Prometheus histogram, in numeric order.
var promBounds = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}

// categoriesOf feeds one sample per category (value: its weight, or 1) to a
// chart on x: le and returns the frame's categories.
func categoriesOf(t *testing.T, c charts.Chart, limits charts.Limits, les []string, weight map[string]float64) []string {
	t.Helper()
	c.ID, c.Metric, c.X = "h", "m_bucket", charts.BucketBound
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatalf("invalid test chart: %v", err)
	}
	v := charts.NewView(c, limits)
	for _, le := range les {
		w, ok := weight[le]
		if !ok {
			w = 1
		}
		s := sample("m_bucket", w, 0, "le", le)
		v.Add(&s, t0)
	}
	return v.Frame(t0).Categories
}

func TestLeCategoriesSortAsNumbers(t *testing.T) {
	t.Parallel()
	reversed := slices.Clone(promBounds)
	slices.Reverse(reversed)
	tests := map[string]struct {
		chart  charts.Chart
		limits charts.Limits
		les    []string
		weight map[string]float64
		want   []string
	}{
		"prometheus bounds, +Inf last": {
			les:  []string{"1", "+Inf", "0.5", "10", "0.005", "2.5", "0.1", "0.025", "5", "0.05", "0.25", "0.01"},
			want: promBounds,
		},
		"reversed arrival": {les: reversed, want: promBounds},
		"mixed formats compare as numbers": {
			les:  []string{"Inf", "1e1", "2.5e0", "0x1p-2", "1", "0.01", "1e-3"},
			want: []string{"1e-3", "0.01", "0x1p-2", "1", "2.5e0", "1e1", "Inf"},
		},
		"equal numbers by name": {
			les:  []string{"1e0", "1.0", "1", "0.001", "1e-3"},
			want: []string{"0.001", "1e-3", "1", "1.0", "1e0"},
		},
		"negatives and -Inf first": {
			les:  []string{"0", "+Inf", "-1", "-Inf", "-0.5"},
			want: []string{"-Inf", "-1", "-0.5", "0", "+Inf"},
		},
		"out of range counts as infinite": {
			les:  []string{"1e999", "+Inf", "5", "-1e999"},
			want: []string{"-1e999", "5", "+Inf", "1e999"},
		},
		"not numbers after the numbers, by name": {
			les:  []string{"NaN", "nan", "abc", "+Inf", "1,5", " 2", "1", ""},
			want: []string{"1", "+Inf", "", " 2", "1,5", "NaN", "abc", "nan"},
		},
		"top N keeps the largest, in numeric order, other last": {
			chart:  charts.Chart{Top: 3},
			les:    promBounds,
			weight: map[string]float64{"+Inf": 50, "0.005": 40, "0.5": 30, "0.1": 20},
			want:   []string{"0.005", "0.5", "+Inf", charts.Other},
		},
		"a category named other stays last": {
			les:  []string{charts.Other, "+Inf", "zzz", "1"},
			want: []string{"1", "+Inf", "zzz", charts.Other},
		},
		"the category limit's other stays last": {
			limits: charts.Limits{MaxCategories: 3},
			les:    []string{"10", "+Inf", "0.5", "1", "5"},
			want:   []string{"0.5", "10", "+Inf", charts.Other},
		},
		"sort name keeps the string order": {
			chart: charts.Chart{Sort: charts.SortName},
			les:   []string{"1", "+Inf", "0.5", "10", "2.5"},
			want:  []string{"+Inf", "0.5", "1", "10", "2.5"},
		},
		"sort value ranks by total": {
			chart:  charts.Chart{Sort: charts.SortValue},
			les:    []string{"1", "+Inf", "0.5"},
			weight: map[string]float64{"1": 3, "+Inf": 2, "0.5": 1},
			want:   []string{"1", "+Inf", "0.5"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := categoriesOf(t, tc.chart, tc.limits, tc.les, tc.weight)
			if !slices.Equal(got, tc.want) {
				t.Errorf("categories %q, want %q", got, tc.want)
			}
		})
	}
}

// sort: numeric orders any tag axis, not only le.
func TestSortNumericOnAnyTag(t *testing.T) {
	t.Parallel()
	v := newView(t, charts.Chart{Metric: "m", X: "shard", Sort: charts.SortNumeric})
	for _, k := range []string{"10", "9", "100", "x", "1"} {
		add(t, v, 0, sample("m", 1, 0, "shard", k))
	}
	if got, want := v.Frame(t0).Categories, []string{"1", "9", "10", "100", "x"}; !slices.Equal(got, want) {
		t.Errorf("categories %q, want %q", got, want)
	}
}

func TestLeChartDefaults(t *testing.T) {
	t.Parallel()
	le := charts.Chart{ID: "h", Metric: "m_bucket", X: charts.BucketBound}
	le.Normalize()
	if le.Sort != charts.SortNumeric || le.Histogram != charts.HistogramPerBucket {
		t.Errorf("x: le normalized to sort %q, buckets %q; want numeric, per_bucket", le.Sort, le.Histogram)
	}
	tag := charts.Chart{ID: "c", Metric: "m", X: "route"}
	tag.Normalize()
	if tag.Sort != charts.SortName || tag.Histogram != "" {
		t.Errorf("x: route normalized to sort %q, histogram %q; want name and none", tag.Sort, tag.Histogram)
	}
	b, _ := json.Marshal(tag)
	if strings.Contains(string(b), "histogram") {
		t.Errorf("a chart that is not on x: le encodes histogram: %s", b)
	}
}

// perBucketFrame feeds rows of {le, route, value} to a chart on x: le and
// returns its frame.
func perBucketFrame(t *testing.T, c charts.Chart, rows [][3]any) charts.Frame {
	t.Helper()
	c.ID, c.Metric, c.X = "h", "m_bucket", charts.BucketBound
	v := newView(t, c)
	for _, r := range rows {
		add(t, v, 0, sample("m_bucket", r[2].(float64), 0, "le", r[0].(string), "route", r[1].(string)))
	}
	return v.Frame(t0)
}

func TestCumulativeBucketsDrawEachBucketsOwnCount(t *testing.T) {
	t.Parallel()
	// Two routes' cumulative histograms; /b has no 0.5 bucket.
	rows := [][3]any{
		{"0.1", "/a", 2.0}, {"0.5", "/a", 5.0}, {"1", "/a", 9.0}, {"+Inf", "/a", 10.0},
		{"0.1", "/b", 1.0}, {"1", "/b", 4.0}, {"+Inf", "/b", 4.0},
	}
	tests := map[string]struct {
		chart charts.Chart
		cats  []string
		want  map[string]float64
	}{
		"cumulative": {
			chart: charts.Chart{Series: "route", Type: charts.Stacked, Agg: charts.Last, Histogram: charts.HistogramCumulative},
			cats:  []string{"0.1", "0.5", "1", "+Inf"},
			want: map[string]float64{
				"0.1/(/a)": 2, "0.5/(/a)": 3, "1/(/a)": 4, "+Inf/(/a)": 1,
				"0.1/(/b)": 1, "1/(/b)": 3, "+Inf/(/b)": 0,
			},
		},
		"per_bucket (default) draws the values as aggregated": {
			chart: charts.Chart{Series: "route", Agg: charts.Last},
			cats:  []string{"0.1", "0.5", "1", "+Inf"},
			want: map[string]float64{
				"0.1/(/a)": 2, "0.5/(/a)": 5, "1/(/a)": 9, "+Inf/(/a)": 10,
				"0.1/(/b)": 1, "1/(/b)": 4, "+Inf/(/b)": 4,
			},
		},
		// Per bucket over both routes: 0.1: 3, 0.5: 3, 1: 7, +Inf: 1. The
		// top 2 are taken on those counts, not on the cumulative values
		// (where +Inf, 14, is the largest); the rest add up into other.
		"cumulative with top N": {
			chart: charts.Chart{Series: "route", Agg: charts.Last, Histogram: charts.HistogramCumulative, Top: 2},
			cats:  []string{"0.1", "1", charts.Other},
			want: map[string]float64{
				"0.1/(/a)": 2, "1/(/a)": 4, "other/(/a)": 4,
				"0.1/(/b)": 1, "1/(/b)": 3, "other/(/b)": 0,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := perBucketFrame(t, tc.chart, rows)
			if !slices.Equal(f.Categories, tc.cats) {
				t.Errorf("categories %q, want %q", f.Categories, tc.cats)
			}
			got := map[string]float64{}
			for k, x := range values(f) {
				cat, series, _ := strings.Cut(k, "/")
				got[cat+"/("+series+")"] = x
			}
			if !mapsClose(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// Samples over the window sum per bucket before the buckets are told
// apart: two pushes of increases of a cumulative histogram.
func TestCumulativeBucketsSumOverTheWindow(t *testing.T) {
	t.Parallel()
	v := newView(t, charts.Chart{Metric: "m_bucket", X: charts.BucketBound, Histogram: charts.HistogramCumulative, Window: charts.Duration(5 * time.Minute)})
	for _, push := range [][]float64{{1, 3, 3}, {0, 2, 5}} {
		for i, le := range []string{"0.1", "1", "+Inf"} {
			add(t, v, 0, sample("m_bucket", push[i], 0, "le", le))
		}
	}
	f := v.Frame(t0)
	want := map[string]float64{"0.1/m_bucket": 1, "1/m_bucket": 4, "+Inf/m_bucket": 3}
	if got := values(f); !mapsClose(got, want) || !slices.Equal(f.Categories, []string{"0.1", "1", "+Inf"}) {
		t.Errorf("categories %q values %v, want %v", f.Categories, got, want)
	}
}

func TestBucketsAndNumericSortAreChecked(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		chart   charts.Chart
		field   string
		message string
	}{
		"histogram without x le":    {charts.Chart{Metric: "m", X: "route", Histogram: charts.HistogramCumulative}, "histogram", "only meaningful with x: le"},
		"unknown histogram":         {charts.Chart{Metric: "m", X: "le", Histogram: "cumulated"}, "histogram", `"cumulated" is not how a histogram counts (expected per_bucket or cumulative)`},
		"cumulative counts samples": {charts.Chart{Metric: "m", X: "le", Histogram: charts.HistogramCumulative, Agg: charts.Count}, "agg", "count counts samples"},
		"numeric on a time axis":    {charts.Chart{Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(time.Second), Sort: charts.SortNumeric}, "sort", "numeric is not possible on a time axis"},
		"unknown sort":              {charts.Chart{Metric: "m", X: "le", Sort: "numerical"}, "sort", "expected name, value or numeric"},
		"histogram on a push chart": {charts.Chart{Histogram: charts.HistogramPerBucket}, "histogram", "push chart"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := tc.chart
			c.ID = "c"
			c.Normalize()
			fes := charts.FieldErrors(c.Validate())
			if len(fes) != 1 || fes[0].Field != tc.field || !strings.Contains(fes[0].Message, tc.message) {
				t.Errorf("errors %v, want one on %s saying %q", fes, tc.field, tc.message)
			}
		})
	}
	for _, ok := range []charts.Chart{
		{ID: "c", Metric: "m", X: "le", Histogram: charts.HistogramCumulative, Agg: charts.Rate, Window: charts.Duration(time.Minute)},
		{ID: "c", Metric: "m", X: "route", Sort: charts.SortNumeric},
	} {
		ok.Normalize()
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
}

// The ECharts option keeps the frame's category order, on either axis.
func TestOptionKeepsTheBucketOrder(t *testing.T) {
	t.Parallel()
	for _, horizontal := range []bool{false, true} {
		def := charts.Chart{ID: "h", Metric: "m_bucket", X: charts.BucketBound, Horizontal: horizontal}
		def.Normalize()
		v := charts.NewView(def, charts.Limits{})
		for i, le := range slices.Backward(promBounds) {
			s := sample("m_bucket", float64(i), 0, "le", le)
			v.Add(&s, t0)
		}
		f := v.Frame(t0)
		b, err := charts.Option(def, f)
		if err != nil {
			t.Fatal(err)
		}
		var opt struct {
			XAxis, YAxis []struct{ Data []string }
			Series       []struct{ Data []struct{ Value float64 } }
		}
		if err := json.Unmarshal(b, &opt); err != nil {
			t.Fatal(err)
		}
		axis := opt.XAxis[0].Data
		if horizontal {
			axis = opt.YAxis[0].Data
		}
		if !slices.Equal(axis, promBounds) {
			t.Errorf("horizontal %v: option categories %q, want %q", horizontal, axis, promBounds)
		}
		for i, d := range opt.Series[0].Data {
			if d.Value != float64(i) {
				t.Errorf("horizontal %v: bar %d (%s) = %v, want %d", horizontal, i, axis[i], d.Value, i)
			}
		}
	}
}

// BenchmarkHistogramFrame measures building and encoding the frame of a
// histogram chart: the 12 Prometheus bounds × 10 series over a 20-slot
// window, and 500 numeric categories × 10 series, ordered by name (the
// cost before numeric order), as numbers, and as cumulative buckets.
func BenchmarkHistogramFrame(b *testing.B) {
	many := make([]string, 500)
	for i := range many {
		many[i] = strconv.FormatFloat(float64(i)*0.001, 'g', -1, 64)
	}
	for _, bounds := range []struct {
		name string
		les  []string
	}{{"12le", promBounds}, {"500le", many}} {
		for _, mode := range []struct {
			name          string
			sort, buckets string
		}{{"name", charts.SortName, ""}, {"numeric", "", ""}, {"cumulative", "", charts.HistogramCumulative}} {
			b.Run(bounds.name+"/"+mode.name, func(b *testing.B) {
				c := charts.Chart{ID: "h", Metric: "m_bucket", X: charts.BucketBound, Series: "s", Type: charts.Stacked,
					Window: charts.Duration(time.Minute), Sort: mode.sort, Histogram: mode.buckets, Agg: charts.Last}
				c.Normalize()
				v := charts.NewView(c, charts.Limits{})
				now := time.Now()
				for i := range len(bounds.les) * 10 * 20 {
					s := sample("m_bucket", float64(i), 0, "le", bounds.les[i%len(bounds.les)], "s", strconv.Itoa(i/len(bounds.les)%10))
					s.Time = now.Add(-time.Duration(i%60) * time.Second)
					v.Add(&s, now)
				}
				buf := make([]byte, 0, 64<<10)
				b.ReportAllocs()
				for b.Loop() {
					f := v.Frame(now)
					buf = f.AppendJSON(buf[:0])
				}
				b.SetBytes(int64(len(buf)))
			})
		}
	}
}
