package main

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// BenchmarkBrowserUpdate measures the main-thread cost of one update of a
// chart of 50 categories × 10 series in Chromium: the client's frameOption,
// ECharts' setOption (series keyed by id, replaceMerge) and a paint forced
// at once. The page runs b.N updates in one go and reports the mean in
// ms/update (issue 7's budget is 4 ms).
//
//	go test -run '^$' -bench BrowserUpdate -benchtime 2000x ./cmd/dashd/
func BenchmarkBrowserUpdate(b *testing.B) {
	s := startServer(b, nil)
	ctx := newBrowser(b)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		b.Fatal(err)
	}
	ready := `(function () {
		var el = document.querySelector('[data-chart][data-id="req-by-route"]');
		var c = el && echarts.getInstanceByDom(el);
		return !!(c && c.getOption());
	})()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	perUpdate, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(function (n) {
		var ec = echarts.getInstanceByDom(document.querySelector('[data-chart][data-id="req-by-route"]'));
		var chart = { id: 'req-by-route', type: 'stacked', horizontal: false };
		var categories = [];
		for (var i = 0; i < 50; i++) categories.push('/route-' + i);
		var total = 0;
		for (var k = 0; k < n; k++) {
			var series = [];
			for (var s = 0; s < 10; s++) {
				var data = [];
				for (var c = 0; c < 50; c++) data.push(Math.round(Math.random() * 1000));
				series.push({ name: 'status-' + s, data: data });
			}
			var frame = { type: 'frame', chart: chart.id, seq: k + 1, categories: categories, series: series };
			var t0 = performance.now();
			ec.setOption(dashdCore.frameOption(chart, frame), { replaceMerge: ['series'] });
			ec.getZr().refreshImmediately();
			total += performance.now() - t0;
		}
		return total / n;
	})(`+strconv.Itoa(b.N)+`)`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(perUpdate, "ms/update")
}
