package api

import (
	"net/http"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/rewind"
)

// narrowSet is set as a filtered reader r sees it (issue 15: a rewind
// with a filtered token): each chart with r's filter for it (whereFor:
// the token's where and r's dashboard variables) ANDed into its where
// (charts.Narrow), the charts the filter leaves nothing of left out. The
// rewinder computes it like any set: a narrowed chart hashes apart from
// the chart, so no checkpoint of the chart is used for it (it is filled
// from the log), the flight of a moment is shared only by readers with
// the same filters, and its cost counts against the rewinder's bounds
// (rewind.Config.MaxCells, MaxRewinds) as any chart's does. The filter is
// applied here, at the seam, so that the rewinder knows nothing of
// tenants and no unfiltered view of the chart is ever built for r.
// Errors are *refusal (a variable the token pins).
func (a *API) narrowSet(r *http.Request, set rewind.Set, dashboard string) (rewind.Set, error) {
	out := rewind.Set{Key: set.Key + "\x00narrowed"}
	for _, c := range set.Charts {
		where, err := a.whereFor(r, c.ID, dashboard)
		if err != nil {
			return rewind.Set{}, err
		}
		if n, ok := charts.Narrow(c, where); ok {
			out.Charts = append(out.Charts, n)
		}
	}
	return out, nil
}
