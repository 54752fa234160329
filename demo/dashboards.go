package demo

import (
	"time"

	"github.com/dashd/dashd/charts"
)

// The metrics the generator writes and the demo dashboards read.
const (
	// MetricRequests counts requests, tagged country, region, route and
	// status; one sample per tag set and batch, its value the count.
	MetricRequests = "http_requests"
	// MetricLatency is one request's latency in milliseconds, tagged
	// region, route and status.
	MetricLatency = "http_latency_ms"
)

func dur(d time.Duration) charts.Duration { return charts.Duration(d) }

// Dashboards returns the demo dashboards, "web" and "traffic", fresh on every
// call so the caller may keep or change them. They pass Check.
func Dashboards() []charts.Dashboard {
	return []charts.Dashboard{
		{
			ID:    "web",
			Title: "Web traffic (demo)",
			Charts: []charts.Chart{
				{
					ID: "requests-by-route", Title: "Requests by route and status, last minute",
					Type: charts.Stacked, Metric: MetricRequests,
					X: "route", Series: "status", Agg: charts.Sum, Window: dur(time.Minute),
					Sort: charts.SortValue,
				},
				{
					ID: "latency-by-route", Title: "Mean latency by route and region, last minute",
					Type: charts.Grouped, Metric: MetricLatency,
					X: "route", Series: "region", Agg: charts.Avg, Window: dur(time.Minute),
					Unit:       "ms",
					Thresholds: []charts.Threshold{{Value: 250, Label: "SLO", Color: "#d62728"}},
				},
				{
					ID: "status-share-by-region", Title: "Share of statuses by region, last minute",
					Type: charts.Percent, Metric: MetricRequests,
					X: "region", Series: "status", Agg: charts.Sum, Window: dur(time.Minute),
				},
				{
					ID: "top-countries", Title: "Top 5 countries, last minute",
					Type: charts.Grouped, Horizontal: true, Metric: MetricRequests,
					X: "country", Agg: charts.Sum, Window: dur(time.Minute),
					Top: 5, Sort: charts.SortValue,
				},
			},
		},
		{
			ID:    "traffic",
			Title: "Traffic over time (demo)",
			Charts: []charts.Chart{
				{
					ID: "requests-over-time", Title: "Requests per 2 s by status",
					Type: charts.Stacked, Metric: MetricRequests,
					X: charts.TimeAxis, Bucket: dur(2 * time.Second), Window: dur(time.Minute),
					Series: "status", Agg: charts.Sum,
				},
				{
					ID: "rate-over-time", Title: "Request rate by region",
					Type: charts.Stacked, Metric: MetricRequests,
					X: charts.TimeAxis, Bucket: dur(2 * time.Second), Window: dur(time.Minute),
					Series: "region", Agg: charts.Rate, Unit: "req/s",
				},
				{
					ID: "rate-by-route", Title: "Request rate by route, last 10 s",
					Type: charts.Grouped, Metric: MetricRequests,
					X: "route", Agg: charts.Rate, Window: dur(10 * time.Second),
					Sort: charts.SortValue, Unit: "req/s",
				},
				{
					ID: "slowest-over-time", Title: "Slowest request per 2 s",
					Type: charts.Grouped, Metric: MetricLatency,
					X: charts.TimeAxis, Bucket: dur(2 * time.Second), Window: dur(time.Minute),
					Agg: charts.Max, Unit: "ms",
					Thresholds: []charts.Threshold{{Value: 1000, Label: "1 s"}},
				},
			},
		},
	}
}
