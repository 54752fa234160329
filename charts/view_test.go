package charts_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// sample builds a sample of metric m at t0+at with tags given as k, v pairs.
func sample(m string, value float64, at time.Duration, kv ...string) ingest.Sample {
	s := ingest.Sample{Metric: m, Field: "value", Value: value, Time: t0.Add(at)}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Tags = append(s.Tags, ingest.Tag{Key: kv[i], Value: kv[i+1]})
	}
	slices.SortFunc(s.Tags, func(a, b ingest.Tag) int {
		if a.Key < b.Key {
			return -1
		}
		return 1
	})
	return s
}

func newView(t *testing.T, c charts.Chart) *charts.View {
	t.Helper()
	if c.ID == "" {
		c.ID = "c"
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatalf("invalid test chart: %v", err)
	}
	return charts.NewView(c, charts.Limits{})
}

func add(t *testing.T, v *charts.View, now time.Duration, ss ...ingest.Sample) {
	t.Helper()
	for i := range ss {
		if v.Matches(&ss[i]) {
			v.Add(&ss[i], t0.Add(now))
		}
	}
}

// values maps "category/series" to the frame's value; NaN cells are left out.
func values(f charts.Frame) map[string]float64 {
	out := map[string]float64{}
	for _, s := range f.Series {
		for i, x := range s.Data {
			if !math.IsNaN(x) {
				out[f.Categories[i]+"/"+s.Name] = x
			}
		}
	}
	return out
}

func TestAggregations(t *testing.T) {
	in := []ingest.Sample{
		sample("req", 4, 0, "route", "/a", "status", "200"),
		sample("req", 2, time.Second, "route", "/a", "status", "200"),
		sample("req", 9, 2*time.Second, "route", "/a", "status", "500"),
		sample("req", 3, 3*time.Second, "route", "/b", "status", "200"),
		sample("other", 100, 0, "route", "/a", "status", "200"), // another metric
	}
	tests := map[string]struct {
		agg    charts.Agg
		window time.Duration
		want   map[string]float64
	}{
		"sum":   {charts.Sum, 0, map[string]float64{"/a/200": 6, "/a/500": 9, "/b/200": 3}},
		"count": {charts.Count, 0, map[string]float64{"/a/200": 2, "/a/500": 1, "/b/200": 1}},
		"avg":   {charts.Avg, 0, map[string]float64{"/a/200": 3, "/a/500": 9, "/b/200": 3}},
		"min":   {charts.Min, 0, map[string]float64{"/a/200": 2, "/a/500": 9, "/b/200": 3}},
		"max":   {charts.Max, 0, map[string]float64{"/a/200": 4, "/a/500": 9, "/b/200": 3}},
		"last":  {charts.Last, 0, map[string]float64{"/a/200": 2, "/a/500": 9, "/b/200": 3}},
		"rate":  {charts.Rate, 10 * time.Second, map[string]float64{"/a/200": 0.6, "/a/500": 0.9, "/b/200": 0.3}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := newView(t, charts.Chart{Metric: "req", X: "route", Series: "status", Agg: tc.agg, Window: charts.Duration(tc.window)})
			add(t, v, 3*time.Second, in...)
			f := v.Frame(t0.Add(3 * time.Second))
			if got := values(f); !mapsClose(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if !slices.Equal(f.Categories, []string{"/a", "/b"}) {
				t.Errorf("categories %v, want [/a /b]", f.Categories)
			}
		})
	}
}

func mapsClose(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || math.Abs(x-y) > 1e-9 {
			return false
		}
	}
	return true
}

func TestLastTakesTheNewestSampleNotTheLatestArrival(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Agg: charts.Last})
	add(t, v, 10*time.Second, sample("m", 7, 5*time.Second, "k", "a"), sample("m", 1, time.Second, "k", "a"))
	if got := values(v.Frame(t0.Add(10 * time.Second))); got["a/m"] != 7 {
		t.Errorf("last = %v, want 7 (the sample with the newest time)", got["a/m"])
	}
}

func TestSlidingWindowExpires(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Agg: charts.Sum, Window: charts.Duration(time.Minute)})
	add(t, v, 0, sample("m", 1, 0, "k", "old"))
	add(t, v, 40*time.Second, sample("m", 2, 40*time.Second, "k", "new"))

	if got := values(v.Frame(t0.Add(50 * time.Second))); !mapsClose(got, map[string]float64{"old/m": 1, "new/m": 2}) {
		t.Fatalf("inside the window: %v", got)
	}
	f := v.Frame(t0.Add(70 * time.Second))
	if got := values(f); !mapsClose(got, map[string]float64{"new/m": 2}) {
		t.Errorf("after 70s the first sample must be gone: %v", got)
	}
	if !slices.Equal(f.Categories, []string{"new"}) {
		t.Errorf("an expired category must leave the axis: %v", f.Categories)
	}
	if got := values(v.Frame(t0.Add(2 * time.Minute))); len(got) != 0 {
		t.Errorf("after two minutes nothing is left: %v", got)
	}
}

func TestSampleOlderThanTheWindowIsCountedNotApplied(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Window: charts.Duration(time.Minute)})
	s := sample("m", 1, 0, "k", "a")
	if v.Add(&s, t0.Add(5*time.Minute)) {
		t.Error("Add reported a change for a sample outside the window")
	}
	if v.Outside() != 1 {
		t.Errorf("Outside = %d, want 1", v.Outside())
	}
	if got := values(v.Frame(t0.Add(5 * time.Minute))); len(got) != 0 {
		t.Errorf("frame has %v", got)
	}
}

func TestTimeBuckets(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(10 * time.Second), Window: charts.Duration(30 * time.Second), Series: "s", Agg: charts.Sum})
	add(t, v, 25*time.Second,
		sample("m", 1, 1*time.Second, "s", "x"),
		sample("m", 2, 9*time.Second, "s", "x"),
		sample("m", 5, 12*time.Second, "s", "y"),
		sample("m", 7, 25*time.Second, "s", "x"),
	)
	f := v.Frame(t0.Add(25 * time.Second))
	wantCats := []string{"2026-11-23T12:00:00Z", "2026-11-23T12:00:10Z", "2026-11-23T12:00:20Z"}
	if !slices.Equal(f.Categories, wantCats) {
		t.Fatalf("categories %v, want %v", f.Categories, wantCats)
	}
	want := map[string]float64{wantCats[0] + "/x": 3, wantCats[1] + "/y": 5, wantCats[2] + "/x": 7}
	if got := values(f); !mapsClose(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	// Ten seconds later the oldest bucket has scrolled off and an empty one
	// has appeared at the end.
	f = v.Frame(t0.Add(35 * time.Second))
	if f.Categories[0] != wantCats[1] || f.Categories[2] != "2026-11-23T12:00:30Z" {
		t.Errorf("after scrolling: %v", f.Categories)
	}
	want = map[string]float64{wantCats[1] + "/y": 5, wantCats[2] + "/x": 7}
	if got := values(f); !mapsClose(got, want) {
		t.Errorf("after scrolling got %v, want %v", got, want)
	}
}

func TestTopFoldsTheRestIntoOther(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Top: 2, Sort: charts.SortValue})
	add(t, v, 0,
		sample("m", 10, 0, "k", "a"),
		sample("m", 1, 0, "k", "b"),
		sample("m", 5, 0, "k", "c"),
		sample("m", 2, 0, "k", "d"),
	)
	f := v.Frame(t0)
	if !slices.Equal(f.Categories, []string{"a", "c", charts.Other}) {
		t.Fatalf("categories %v, want [a c other]", f.Categories)
	}
	if got := values(f); !mapsClose(got, map[string]float64{"a/m": 10, "c/m": 5, "other/m": 3}) {
		t.Errorf("got %v", got)
	}
}

func TestPercentNormalisesEachCategory(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Series: "s", Type: charts.Percent})
	add(t, v, 0,
		sample("m", 3, 0, "k", "a", "s", "ok"),
		sample("m", 1, 0, "k", "a", "s", "err"),
		sample("m", 2, 0, "k", "b", "s", "ok"),
	)
	want := map[string]float64{"a/ok": 75, "a/err": 25, "b/ok": 100}
	if got := values(v.Frame(t0)); !mapsClose(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWhereFilters(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Where: map[string]string{"env": "prod"}})
	add(t, v, 0,
		sample("m", 1, 0, "k", "a", "env", "prod"),
		sample("m", 50, 0, "k", "a", "env", "dev"),
		sample("m", 50, 0, "k", "a"),
	)
	if got := values(v.Frame(t0)); !mapsClose(got, map[string]float64{"a/m": 1}) {
		t.Errorf("got %v", got)
	}
}

func TestCardinalityLimitFoldsIntoOther(t *testing.T) {
	c := charts.Chart{ID: "c", Metric: "m", X: "k"}
	c.Normalize()
	v := charts.NewView(c, charts.Limits{MaxCategories: 3})
	for i := range 10 {
		s := sample("m", 1, 0, "k", string(rune('a'+i)))
		v.Add(&s, t0)
	}
	f := v.Frame(t0)
	if len(f.Categories) != 4 || f.Categories[3] != charts.Other {
		t.Fatalf("categories %v, want 3 and other", f.Categories)
	}
	if got := values(f); got["other/m"] != 7 {
		t.Errorf("other = %v, want 7", got["other/m"])
	}
	if v.Folded() != 7 {
		t.Errorf("Folded = %d, want 7", v.Folded())
	}
}

func TestSeqRises(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k"})
	a, b := v.Frame(t0), v.Frame(t0)
	if b.Seq <= a.Seq {
		t.Errorf("seq %d then %d", a.Seq, b.Seq)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := map[string]struct {
		chart charts.Chart
		field string
	}{
		"bad agg":         {charts.Chart{ID: "c", Metric: "m", X: "k", Agg: "median"}, "agg"},
		"bad type":        {charts.Chart{ID: "c", Metric: "m", X: "k", Type: "pie"}, "type"},
		"no x":            {charts.Chart{ID: "c", Metric: "m"}, "x"},
		"time no bucket":  {charts.Chart{ID: "c", Metric: "m", X: "time"}, "bucket"},
		"too many bars":   {charts.Chart{ID: "c", Metric: "m", X: "time", Bucket: charts.Duration(time.Second), Window: charts.Duration(time.Hour)}, "window"},
		"push with x":     {charts.Chart{ID: "c", X: "k"}, "x"},
		"rate no window":  {charts.Chart{ID: "c", Metric: "m", X: "k", Agg: charts.Rate}, "window"},
		"bad id":          {charts.Chart{ID: "<b>", Metric: "m", X: "k"}, "id"},
		"series equals x": {charts.Chart{ID: "c", Metric: "m", X: "k", Series: "k"}, "series"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.chart.Normalize()
			fes := charts.FieldErrors(tc.chart.Validate())
			if len(fes) == 0 {
				t.Fatal("no error")
			}
			if fes[0].Field != tc.field {
				t.Errorf("error names %q (%v), want %q", fes[0].Field, fes[0], tc.field)
			}
		})
	}
}

// A sample is inside a 20 s window until 20 s have passed, however the
// window's slots fall.
func TestSlidingWindowKeepsItsWholeSpan(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Window: charts.Duration(20 * time.Second)})
	s := sample("m", 1, 900*time.Millisecond, "k", "a")
	v.Add(&s, t0.Add(time.Second))
	if got := values(v.Frame(t0.Add(20100 * time.Millisecond))); got["a/m"] != 1 {
		t.Errorf("a sample 19.2 s old fell out of a 20 s window: %v (outside %d)", got, v.Outside())
	}
	if got := values(v.Frame(t0.Add(22 * time.Second))); len(got) != 0 {
		t.Errorf("a sample 21.1 s old is still in a 20 s window (slots are 1 s): %v", got)
	}
}

func TestRateIsTakenOverTheSpanCovered(t *testing.T) {
	v := newView(t, charts.Chart{Metric: "m", X: "k", Agg: charts.Rate, Window: charts.Duration(20 * time.Second)})
	for i := range 40 { // 2 a second for 20 s: 2/s
		s := sample("m", 1, time.Duration(i)*500*time.Millisecond, "k", "a")
		v.Add(&s, s.Time)
	}
	got := values(v.Frame(t0.Add(20 * time.Second)))["a/m"]
	if math.Abs(got-2) > 0.11 {
		t.Errorf("rate %v, want about 2/s", got)
	}
}

func TestPercentPushChartIsNormalised(t *testing.T) {
	c := charts.Chart{ID: "p", Type: charts.Percent}
	c.Normalize()
	v := charts.NewView(c, charts.Limits{})
	v.SetData([]string{"a"}, []charts.FrameSeries{{Name: "x", Data: []float64{3}}, {Name: "y", Data: []float64{1}}})
	f := v.Frame(t0)
	if f.Series[0].Data[0] != 75 || f.Series[1].Data[0] != 25 {
		t.Errorf("percent push chart: %v %v, want 75 25", f.Series[0].Data, f.Series[1].Data)
	}
	if again := v.Frame(t0); again.Series[0].Data[0] != 75 {
		t.Errorf("normalising twice changed the data: %v", again.Series[0].Data)
	}
}
