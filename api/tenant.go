package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dashd/dashd/charts"
)

// Filtered is what the API reads of the charts for a request whose embed
// token carries tag filters (issue 15): the chart seen through the
// filter (charts.Board's filtered views).
type Filtered interface {
	FrameWhere(ctx context.Context, id string, where map[string]string) ([]byte, error)
	OptionWhere(ctx context.Context, id string, where map[string]string) ([]byte, error)
	Acquire(ctx context.Context, id string, where map[string]string) (topic string, release func(), err error)
}

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
// A filtered read refuses ?at= (rewind reads the log unfiltered) and fails
// closed when the API has no Filtered: the read it returns then answers
// a *refusal.
func (a *API) readFor(r *http.Request, read func(context.Context, string) ([]byte, error), filtered func(Filtered, context.Context, string, map[string]string) ([]byte, error)) func(context.Context, string) ([]byte, error) {
	where := whereOf(r)
	if len(where) == 0 {
		return read
	}
	if err := a.canFilter(r, "at"); err != nil {
		return func(context.Context, string) ([]byte, error) { return nil, err }
	}
	return func(ctx context.Context, id string) ([]byte, error) { return filtered(a.cfg.Filtered, ctx, id, where) }
}

// refusal is a filtered request that cannot be served.
type refusal struct {
	status int
	msg    string
}

func (e *refusal) Error() string { return e.msg }

// canFilter says why a filtered request cannot be served (rewind
// parameters, or no filtered views wired), or nil.
func (a *API) canFilter(r *http.Request, params ...string) error {
	for _, p := range params {
		if r.URL.Query().Has(p) {
			return &refusal{http.StatusBadRequest, fmt.Sprintf("?%s= is not served to an embed token with tag filters (where): rewind reads the whole log, unfiltered; drop ?%s=", p, p)}
		}
	}
	if a.cfg.Filtered == nil {
		return &refusal{http.StatusForbidden, "this server cannot filter reads by an embed token's where"}
	}
	return nil
}

// filteredTopics swaps each chart's topic in topics for the topic of its
// filtered view, and returns a release for all of them. The dashboard's
// own topic (definitions only) stays.
func (a *API) filteredTopics(ctx context.Context, topics []string, where map[string]string) ([]string, func(), error) {
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
		ft, rel, err := a.cfg.Filtered.Acquire(ctx, t, where)
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
