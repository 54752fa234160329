package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/embed"
)

// Filtered is what the API reads of the charts for a request whose embed
// token carries tag filters (issue 15): the chart seen through the
// filter (charts.Board's filtered views).
type Filtered interface {
	FrameWhere(ctx context.Context, id string, where map[string]string) ([]byte, error)
	OptionWhere(ctx context.Context, id string, where map[string]string) ([]byte, error)
	Acquire(ctx context.Context, id string, where map[string]string) (topic string, release func(), err error)
}

// WhereOf is the tag filter of the embed token that let r in (nil:
// none), for handlers mounted beside the API's (the pages).
func WhereOf(r *http.Request) map[string]string { return whereOf(r) }

// whereOf is the tag filter of the embed token that let r in (nil: none).
// Nothing in the request can remove or widen it: it is in the signed
// claims, and the board ANDs it with the chart's own where.
func whereOf(r *http.Request) map[string]string {
	if g := decisionOf(r).Grant; g != nil {
		return g.Where
	}
	return nil
}

// readFor is read, or its filtered twin when r's token carries a filter.
// A filtered read fails closed when the API has no Filtered: the read it
// returns then answers a *refusal.
func (a *API) readFor(r *http.Request, read func(context.Context, string) ([]byte, error), filtered func(Filtered, context.Context, string, map[string]string) ([]byte, error)) func(context.Context, string) ([]byte, error) {
	if !a.filteredReader(r) {
		return read
	}
	if err := a.canFilter(r); err != nil {
		return func(context.Context, string) ([]byte, error) { return nil, err }
	}
	return func(ctx context.Context, id string) ([]byte, error) {
		where, err := a.whereFor(r, id, "")
		if err != nil {
			return nil, err
		}
		return filtered(a.cfg.Filtered, ctx, id, where)
	}
}

// filteredReader reports whether r reads through a filtered view: its
// embed token carries where, or it chooses a variable's value.
func (a *API) filteredReader(r *http.Request) bool {
	return len(whereOf(r)) > 0 || hasVars(r)
}

// varPrefix starts the query parameters that choose a dashboard
// variable's value: ?var-region=eu.
const varPrefix = "var-"

// hasVars reports whether r chooses a variable's value.
func hasVars(r *http.Request) bool {
	for k := range r.URL.Query() {
		if strings.HasPrefix(k, varPrefix) {
			return true
		}
	}
	return false
}

// whereFor is the tag filter of a read of chart id by r: its embed
// token's where, and the values r chooses (?var-NAME=value) for the
// variables of the chart's dashboard (dashboard, or the one that holds
// the chart). A token's where pins: a variable set to another value for
// the same tag is refused (403), never widened. Errors are *refusal.
func (a *API) whereFor(r *http.Request, id, dashboard string) (map[string]string, error) {
	where := maps.Clone(whereOf(r))
	vars := map[string]string{}
	for k, vals := range r.URL.Query() {
		name, ok := strings.CutPrefix(k, varPrefix)
		if !ok {
			continue
		}
		if len(vals) == 1 && vals[0] == "" {
			continue // "all": the variable stays unbound
		}
		if len(vals) != 1 || len(vals[0]) > embed.MaxWhereValueLen || embed.CheckWhere(map[string]string{"v": vals[0]}) != nil {
			return nil, &refusal{http.StatusBadRequest, fmt.Sprintf("?%s= must be given once, 1 to %d printable bytes", k, embed.MaxWhereValueLen)}
		}
		vars[name] = vals[0]
	}
	if len(vars) == 0 {
		return where, nil
	}
	d, ok := a.dashboardOf(id, dashboard)
	if !ok {
		return nil, &refusal{http.StatusBadRequest, fmt.Sprintf("chart %q is in no dashboard, so it has no variables to set", id)}
	}
	for name := range vars {
		if _, ok := d.Variable(name); !ok {
			return nil, &refusal{http.StatusBadRequest, fmt.Sprintf("dashboard %q has no variable %q (?%s%s=)", d.ID, name, varPrefix, name)}
		}
	}
	c, _ := a.cfg.Board.Chart(id)
	for k, v := range d.Filter(c, vars) {
		if pinned, ok := where[k]; ok && pinned != v {
			return nil, &refusal{http.StatusForbidden, fmt.Sprintf("the embed token pins the tag %q to %q: it cannot be set to %q", k, pinned, v)}
		}
		if where == nil {
			where = map[string]string{}
		}
		where[k] = v
	}
	return where, nil
}

// dashboardOf is the dashboard named, or else the one that holds chart id.
func (a *API) dashboardOf(id, dashboard string) (charts.Dashboard, bool) {
	if dashboard != "" {
		return a.cfg.Board.Dashboard(dashboard)
	}
	for _, d := range a.cfg.Board.Dashboards() {
		for _, c := range d.Charts {
			if c.ID == id {
				return d, true
			}
		}
	}
	return charts.Dashboard{}, false
}

// refusal is a filtered request that cannot be served.
type refusal struct {
	status int
	msg    string
}

func (e *refusal) Error() string { return e.msg }

// canFilter says why a filtered request cannot be served (no filtered
// views wired), or nil.
func (a *API) canFilter(r *http.Request) error {
	if a.cfg.Filtered == nil {
		return &refusal{http.StatusForbidden, "this server cannot filter reads by an embed token's where"}
	}
	return nil
}

// filteredTopics swaps each chart's topic in topics for the topic of its
// filtered view, and returns a release for all of them. The dashboard's
// own topic (definitions only) stays.
func (a *API) filteredTopics(r *http.Request, topics []string, dashboard string) ([]string, func(), error) {
	var releases []func()
	release := func() {
		for _, rel := range releases {
			rel()
		}
	}
	out := make([]string, len(topics))
	for i, t := range topics {
		if _, isChart := a.cfg.Board.Chart(t); !isChart {
			out[i] = t // the dashboard's topic
			continue
		}
		where, err := a.whereFor(r, t, dashboard)
		if err != nil {
			release()
			return nil, nil, err
		}
		ft, rel, err := a.cfg.Filtered.Acquire(r.Context(), t, where)
		if err != nil {
			release()
			return nil, nil, err
		}
		releases = append(releases, rel)
		out[i] = ft
	}
	return out, release, nil
}

// filterError answers a refused filtered read: 429 past
// embed.max_filtered_views, else as boardError.
func filterError(w http.ResponseWriter, what string, err error) {
	var tooMany *charts.TooManyViewsError
	var ref *refusal
	if errors.As(err, &ref) {
		writeError(w, ref.status, ref.msg, nil)
		return
	}
	if errors.As(err, &tooMany) {
		WriteError(w, http.StatusTooManyRequests, 0, Error{Error: err.Error(), Reason: "too_many_filtered_views"}, max(tooMany.RetryAfter, time.Second))
		return
	}
	boardError(w, what, err)
}
