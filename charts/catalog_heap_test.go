package charts_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// worstCharts makes n charts of a kind, each asking for the most cells the
// limits allow: "tag" (a sliding window over 500 categories × 50 series),
// "time" (500 one-second buckets × 50 series) or "push" (set to 500 × 50).
func worstCharts(kind string, n int) []charts.Dashboard {
	var ds []charts.Dashboard
	for i := range n {
		if i%charts.MaxChartsPerDashboard == 0 {
			ds = append(ds, charts.Dashboard{ID: fmt.Sprintf("%s%d", kind, len(ds))})
		}
		id := fmt.Sprintf("%s-%d", kind, i)
		var c charts.Chart
		switch kind {
		case "tag":
			c = tagChart(id)
		case "time":
			c = timeChart(id, charts.MaxChartCells/charts.MaxSeries, true)
			c.Metric = "t"
		case "push":
			c = charts.Chart{ID: id}
		}
		d := &ds[len(ds)-1]
		d.Charts = append(d.Charts, c)
	}
	return ds
}

// fillWorst feeds b samples that fill every cell of every chart of kind
// (and more: categories and series past the limits, which fold into
// other), and waits until they are applied and each chart's frame is
// built. It returns how long building every chart's frame took.
func fillWorst(tb testing.TB, b *charts.Board, kind string, ds []charts.Dashboard) time.Duration {
	tb.Helper()
	ctx := context.Background()
	var fed uint64
	feed := func(batch []ingest.Sample) {
		for i := range batch {
			// Values of 17 digits: the longest a frame encodes.
			batch[i].Value = 1e6/3 + float64(i)
		}
		for {
			err := b.Accept(ctx, batch)
			if err == nil {
				break
			}
			if _, overloaded := err.(*ingest.OverloadError); !overloaded {
				tb.Fatal(err)
			}
		}
		fed += uint64(len(batch))
	}
	applied := b.Stats().Applied
	switch kind {
	case "tag":
		all := cellSamples(charts.MaxCategories+10, charts.MaxSeries+10, 0)
		for len(all) > 0 {
			n := min(len(all), 1000)
			feed(all[:n:n])
			all = all[n:]
		}
	case "time":
		buckets := charts.MaxChartCells / charts.MaxSeries
		for j := range buckets {
			batch := make([]ingest.Sample, 0, charts.MaxSeries+10)
			for s := range charts.MaxSeries + 10 {
				batch = append(batch, sample("t", 1, -time.Duration(j)*time.Second, "s", fmt.Sprintf("s%02d", s)))
			}
			feed(batch)
		}
	case "push":
		categories := make([]string, charts.MaxCategories)
		for i := range categories {
			categories[i] = fmt.Sprintf("c%03d", i)
		}
		for _, d := range ds {
			for _, c := range d.Charts {
				series := make([]charts.FrameSeries, charts.MaxSeries)
				for i := range series {
					series[i] = charts.FrameSeries{Name: fmt.Sprintf("s%02d", i), Data: make([]float64, len(categories))}
					for j := range series[i].Data {
						series[i].Data[j] = 1e6/3 + float64(i*j)
					}
				}
				if err := b.SetData(ctx, c.ID, categories, series); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	for b.Stats().Applied < applied+fed {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	for _, d := range ds {
		for _, c := range d.Charts {
			if _, err := b.Frame(ctx, c.ID); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return time.Since(start)
}

// worstCaseHeap runs a board with n charts of kind filled to the brim and
// returns the heap it holds above the same board empty, then the same
// after every dashboard is deleted, and how long building every chart's
// frame took. The board flushes at most every 10 s, so that frames are
// built once, by the reads, not over and over while it is being filled.
func worstCaseHeap(tb testing.TB, kind string, n int) (full, deleted int64, frames time.Duration) {
	tb.Helper()
	b := charts.NewBoard(charts.Config{MaxFPS: 0.1, Now: func() time.Time { return t0 }}, discard{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	base := int64(liveHeap())
	ds := worstCharts(kind, n)
	if err := b.SetDashboards(ctx, ds); err != nil {
		tb.Fatal(err)
	}
	frames = fillWorst(tb, b, kind, ds)
	full = int64(liveHeap()) - base
	if err := b.SetDashboards(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	deleted = int64(liveHeap()) - base
	return full, deleted, frames
}

// perChartBound is what one chart filled to its limits may hold: about
// 3 MB measured (BenchmarkWorstCaseCatalog), with room to spare. Before
// MaxChartCells bounded a sliding window's slots, one tag chart could hold
// 21 × 25,000 accumulators (over 60 MB).
const perChartBound = 8 << 20

// The heap of a few charts of each kind, filled to the brim, stays under
// perChartBound each, and deleting them gives it back. (The whole catalog,
// MaxCharts charts, is BenchmarkWorstCaseCatalog: it takes too long for a
// unit test under -race.)
func TestWorstCaseChartsHeapAndDelete(t *testing.T) {
	// Not parallel: it measures the heap.
	const n = 4
	for _, kind := range []string{"tag", "time", "push"} {
		full, deleted, _ := worstCaseHeap(t, kind, n)
		t.Logf("%d %s charts filled: %.1f MB (%.2f MB a chart); deleted: %.2f MB", n, kind, float64(full)/1e6, float64(full)/n/1e6, float64(deleted)/1e6)
		if full > n*perChartBound {
			t.Errorf("%d %s charts hold %.1f MB, more than %.1f MB each", n, kind, float64(full)/1e6, float64(perChartBound)/1e6)
		}
		if deleted > 1<<20 {
			t.Errorf("after deleting %d %s charts the board still holds %.1f MB", n, kind, float64(deleted)/1e6)
		}
	}
}

// BenchmarkWorstCaseCatalog builds the largest catalog the limits allow
// (MaxCharts charts, each of MaxChartCells cells), fills every cell, and
// reports the heap the board holds, that after deleting it, and the time
// one chart's frame takes to build. Run it alone, once:
//
//	go test ./charts/ -run '^$' -bench WorstCaseCatalog -benchtime 1x
func BenchmarkWorstCaseCatalog(b *testing.B) {
	for _, kind := range []string{"tag", "time", "push"} {
		b.Run(kind, func(b *testing.B) {
			var (
				full, deleted int64
				frames        time.Duration
			)
			for range b.N {
				full, deleted, frames = worstCaseHeap(b, kind, charts.MaxCharts)
			}
			b.ReportMetric(float64(full)/1e6, "MB")
			b.ReportMetric(float64(full)/charts.MaxCharts/1e6, "MB/chart")
			b.ReportMetric(float64(deleted)/1e6, "MB-after-delete")
			b.ReportMetric(float64(frames.Microseconds())/1e3/charts.MaxCharts, "ms/frame")
			if full > charts.MaxCharts*perChartBound {
				b.Errorf("%d %s charts hold %.0f MB", charts.MaxCharts, kind, float64(full)/1e6)
			}
		})
	}
}
