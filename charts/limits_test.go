package charts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
)

// tagChart reads metric m by tag k, series s: the most cells a tag chart
// can ask for.
func tagChart(id string) charts.Chart {
	return charts.Chart{ID: id, Metric: "m", X: "k", Series: "s", Window: charts.Duration(time.Minute)}
}

// timeChart is a time axis of n one-second buckets; series says whether it
// has a series key.
func timeChart(id string, n int, series bool) charts.Chart {
	c := charts.Chart{ID: id, Metric: "m", X: charts.TimeAxis, Bucket: charts.Duration(time.Second), Window: charts.Duration(time.Duration(n) * time.Second)}
	if series {
		c.Series = "s"
	}
	return c
}

// dashboard makes dashboard id with n tag charts named id-0, id-1, ….
func dashboard(id string, n int) charts.Dashboard {
	d := charts.Dashboard{ID: id, Charts: make([]charts.Chart, n)}
	for i := range d.Charts {
		d.Charts[i] = tagChart(fmt.Sprintf("%s-%d", id, i))
	}
	return d
}

// dashboards makes n dashboards d0, d1, … of per charts each.
func dashboards(n, per int) []charts.Dashboard {
	ds := make([]charts.Dashboard, n)
	for i := range ds {
		ds[i] = dashboard(fmt.Sprintf("d%d", i), per)
	}
	return ds
}

// TestDefinitionLimits puts one dashboard next to others, just inside and
// just over each limit. CheckDashboard (the API's check) and SetDashboards
// (the board's, through CheckDashboards) must agree on every case, and a
// refusal names the limit and the value.
func TestDefinitionLimits(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		current []charts.Dashboard
		d       charts.Dashboard
		want    string // "" accepts; else the refusal, "field: message" in part
	}{
		"charts per dashboard, at the limit": {d: dashboard("x", charts.MaxChartsPerDashboard)},
		"charts per dashboard, one over": {d: dashboard("x", charts.MaxChartsPerDashboard+1),
			want: "charts: 101 charts, at most 100 per dashboard"},
		"the 3,000 charts that took 2.2 GB": {d: func() charts.Dashboard {
			d := charts.Dashboard{ID: "x"}
			for i := range 3000 {
				d.Charts = append(d.Charts, timeChart(fmt.Sprintf("c%d", i), 60, false))
			}
			return d
		}(), want: "charts: 3000 charts, at most 100 per dashboard"},
		"dashboards, at the limit": {current: dashboards(charts.MaxDashboards-1, 0), d: dashboard("x", 1)},
		"dashboards, one over": {current: dashboards(charts.MaxDashboards, 0), d: dashboard("x", 1),
			want: "id: 501 dashboards, at most 500 on the board"},
		"dashboards, one replaced at the limit": {current: append(dashboards(charts.MaxDashboards-1, 0), dashboard("x", 3)), d: dashboard("x", 1)},
		"charts on the board, at the limit":     {current: dashboards(charts.MaxCharts/100-1, 100), d: dashboard("x", 100)},
		"charts on the board, one over": {current: append(dashboards(charts.MaxCharts/100-1, 100), dashboard("y", 1)), d: dashboard("x", 100),
			want: "charts: 501 charts on the board with this dashboard's 100, at most 500 in all dashboards together"},
		"charts on the board, the replaced ones do not count": {current: append(dashboards(charts.MaxCharts/100-1, 100), dashboard("x", 100)), d: dashboard("x", 100)},
		"cells of a time axis with series, at the limit":      {d: charts.Dashboard{ID: "x", Charts: []charts.Chart{timeChart("t", charts.MaxChartCells/charts.MaxSeries, true)}}},
		"cells of a time axis with series, one bucket over": {d: charts.Dashboard{ID: "x", Charts: []charts.Chart{timeChart("t", charts.MaxChartCells/charts.MaxSeries+1, true)}},
			want: "charts[0].window: window 8m21s / bucket 1s is 501 bars × up to 50 series (series: s) = 25050 cells, at most 25000 per chart"},
		"cells of a time axis without series, every bucket": {d: charts.Dashboard{ID: "x", Charts: []charts.Chart{timeChart("t", charts.MaxBuckets, false)}}},
		"buckets, one over": {d: charts.Dashboard{ID: "x", Charts: []charts.Chart{timeChart("t", charts.MaxBuckets+1, false)}},
			want: "charts[0].window: 24m1s / bucket 1s is 1441 bars (at most 1440)"},
		"a chart id of another dashboard": {current: []charts.Dashboard{dashboard("y", 2)}, d: charts.Dashboard{ID: "x", Charts: []charts.Chart{tagChart("y-1")}},
			want: `charts[0].id: "y-1" is already a chart of dashboard "y" (chart ids are unique across dashboards)`},
		"a chart id of the dashboard replaced": {current: []charts.Dashboard{dashboard("x", 2)}, d: charts.Dashboard{ID: "x", Charts: []charts.Chart{tagChart("x-1")}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := tc.d
			d.Charts = append([]charts.Chart(nil), tc.d.Charts...)
			err := charts.CheckDashboard(tc.current, &d)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckDashboard refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckDashboard = %v, want %q", err, tc.want)
			}
			if tc.want != "" && len(charts.FieldErrors(err)) == 0 {
				t.Errorf("the refusal is not a *charts.FieldError: %#v", err)
			}

			// The board takes the same catalog (d in the place of the one
			// it replaces) exactly when CheckDashboard does.
			var catalog []charts.Dashboard
			for _, o := range tc.current {
				if o.ID != tc.d.ID {
					catalog = append(catalog, o)
				}
			}
			catalog = append(catalog, tc.d)
			b := charts.NewBoard(charts.Config{}, discard{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- b.Run(ctx) }()
			defer func() { cancel(); <-done }()
			berr := b.SetDashboards(context.Background(), catalog)
			if (berr == nil) != (err == nil) {
				t.Fatalf("the board and CheckDashboard disagree: SetDashboards = %v, CheckDashboard = %v", berr, err)
			}
			if tc.want != "" && !strings.Contains(berr.Error(), tc.want) {
				t.Errorf("SetDashboards = %v, want %q", berr, tc.want)
			}
		})
	}
}

func TestCheckDashboardsNamesTheDashboard(t *testing.T) {
	t.Parallel()
	ds := []charts.Dashboard{dashboard("a", 1), dashboard("a", 0), dashboard("b", charts.MaxChartsPerDashboard+1)}
	var fields []string
	for _, fe := range charts.FieldErrors(charts.CheckDashboards(ds)) {
		fields = append(fields, fe.Field+": "+fe.Message)
	}
	want := []string{
		`dashboards[1].id: "a" is already the id of dashboards[0]`,
		"dashboards[2].charts: 101 charts, at most 100 per dashboard",
	}
	if strings.Join(fields, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(fields, "\n"), strings.Join(want, "\n"))
	}
}

func TestPushDataIsLimitedToMaxChartCells(t *testing.T) {
	t.Parallel()
	b, _ := startBoard(t, charts.Config{}, webDash)
	set := func(categories, series int) error {
		cs := make([]string, categories)
		for i := range cs {
			cs[i] = fmt.Sprint(i)
		}
		ss := make([]charts.FrameSeries, series)
		for i := range ss {
			ss[i] = charts.FrameSeries{Name: fmt.Sprint(i), Data: make([]float64, categories)}
		}
		return b.SetData(context.Background(), "push", cs, ss)
	}
	if err := set(500, 50); err != nil {
		t.Errorf("500 × 50 cells: %v", err)
	}
	err := set(501, 50)
	if fes := charts.FieldErrors(err); len(fes) != 1 || !strings.Contains(err.Error(), "501 categories × 50 series = 25050 cells, at most 25000 per chart") {
		t.Errorf("501 × 50 cells: %v", err)
	}
	if err := set(25_001, 0); err == nil {
		t.Error("25,001 categories without series were taken")
	}
}
