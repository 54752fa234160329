package rewind

import (
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// router hands a sample to the views that may take it, so that a rewind
// does not ask every view of a metric about every sample (Matches ranges
// over the chart's where per call: on a dashboard of charts that read one
// metric apart by a tag, a third of a rewind's CPU went there). It is
// exact: a view it passes over has a where that the sample's tags fail.
//
// Per metric, the tag key that most of its views filter on with a plain
// value (not a $variable) indexes them by that value; the views that do
// not filter on it are always asked. One router serves one apply call,
// from one goroutine.
type router struct {
	metrics map[string]*metricViews
}

type metricViews struct {
	key     string                    // the indexed tag key; "" asks every view in rest
	rest    []*charts.View            // views asked whatever the sample's key
	byValue map[string][]*charts.View // views whose where has key = value
}

func newRouter(views []*charts.View) *router {
	byMetric := map[string][]*charts.View{}
	for _, v := range views {
		m := v.Definition().Metric
		byMetric[m] = append(byMetric[m], v)
	}
	r := &router{metrics: make(map[string]*metricViews, len(byMetric))}
	for m, vs := range byMetric {
		r.metrics[m] = index(vs)
	}
	return r
}

// plain is the value where[key] requires, if it requires one.
func plain(where map[string]string, key string) (string, bool) {
	want, ok := where[key]
	if !ok || (want != "" && want[0] == '$') {
		return "", false
	}
	return want, true
}

// index indexes vs by the key most of them filter on, where two or more do.
func index(vs []*charts.View) *metricViews {
	count := map[string]int{}
	for _, v := range vs {
		for k := range v.Definition().Where {
			if _, ok := plain(v.Definition().Where, k); ok {
				count[k]++
			}
		}
	}
	key, best := "", 1
	for k, n := range count {
		if n > best || (n == best && n > 1 && k < key) {
			key, best = k, n
		}
	}
	mv := &metricViews{key: key}
	if key == "" {
		mv.rest = vs
		return mv
	}
	mv.byValue = map[string][]*charts.View{}
	for _, v := range vs {
		if want, ok := plain(v.Definition().Where, key); ok {
			mv.byValue[want] = append(mv.byValue[want], v)
		} else {
			mv.rest = append(mv.rest, v)
		}
	}
	return mv
}

// each calls fn with every view that may take s.
func (r *router) each(s *ingest.Sample, fn func(*charts.View)) {
	mv := r.metrics[s.Metric]
	if mv == nil {
		return
	}
	for _, v := range mv.rest {
		fn(v)
	}
	if mv.key == "" {
		return
	}
	if got, ok := s.Tag(mv.key); ok {
		for _, v := range mv.byValue[got] {
			fn(v)
		}
	}
}
