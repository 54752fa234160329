package charts

import (
	"slices"
	"strings"

	"github.com/dashd/dashd/ingest"
)

// Router hands a sample to the views that may read it, so that a sample
// is not matched (View.Matches) against every view of its metric: on a
// board of charts that read one metric apart by a tag (a chart per host,
// per route, per dashboard), Matches was a fifth of the server's CPU in
// the 5,000-viewer fan-out and a third of a rewind's (docs/BENCHMARKS.md).
//
// Per metric, the tag key that most of its views fix to a plain value
// (not a $variable) indexes them by that value; the views that do not fix
// it are always candidates. It is exact: a view it passes over has a where
// that the sample's tags fail. The board (one per definition change) and
// each rewind (one per replay) build their own; a Router is read-only
// once built and may be shared by goroutines.
type Router struct {
	metrics map[string]*metricViews
}

type metricViews struct {
	key     string             // the indexed tag key; "" when no two views fix one
	rest    []*View            // candidates whatever the sample's value of key
	byValue map[string][]*View // views whose where fixes key to that value
}

// NewRouter indexes views (in their order within each list).
func NewRouter(views []*View) *Router {
	byMetric := map[string][]*View{}
	for _, v := range views {
		if m := v.def.Metric; m != "" {
			byMetric[m] = append(byMetric[m], v)
		}
	}
	r := &Router{metrics: make(map[string]*metricViews, len(byMetric))}
	for m, vs := range byMetric {
		r.metrics[m] = indexViews(vs)
	}
	return r
}

// Candidates returns the views that may read s, in two lists: a superset
// of those whose Matches is true, each at most once. The caller still asks
// Matches; it must not change the lists.
func (r *Router) Candidates(s *ingest.Sample) (rest, fixed []*View) {
	mv := r.metrics[s.Metric]
	if mv == nil {
		return nil, nil
	}
	if mv.key != "" {
		if value, ok := s.Tag(mv.key); ok {
			fixed = mv.byValue[value]
		}
	}
	return mv.rest, fixed
}

// plainWhere is the value a where requires of key, if it requires a plain
// one (a $variable binds any value until the page chooses).
func plainWhere(where map[string]string, key string) (string, bool) {
	want, ok := where[key]
	if !ok || strings.HasPrefix(want, "$") {
		return "", false
	}
	return want, true
}

// indexViews indexes vs by the key most of them fix, where two or more do
// (ties: the smallest key, so that the index does not depend on map order).
func indexViews(vs []*View) *metricViews {
	count := map[string]int{}
	for _, v := range vs {
		for k := range v.def.Where {
			if _, ok := plainWhere(v.def.Where, k); ok {
				count[k]++
			}
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mv := &metricViews{}
	best := 1
	for _, k := range keys {
		if count[k] > best {
			mv.key, best = k, count[k]
		}
	}
	if mv.key == "" {
		mv.rest = vs
		return mv
	}
	mv.byValue = map[string][]*View{}
	for _, v := range vs {
		if want, ok := plainWhere(v.def.Where, mv.key); ok {
			mv.byValue[want] = append(mv.byValue[want], v)
		} else {
			mv.rest = append(mv.rest, v)
		}
	}
	return mv
}
