package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/rewind"
)

// Rewind computes what charts showed at past moments (rewind.Rewinder).
type Rewind interface {
	Moment(ctx context.Context, set rewind.Set, at time.Time) (*rewind.Moment, error)
	Range(ctx context.Context) (first, now time.Time, err error)
}

// Replays start replays of the past (rewind.Rewinder).
type Replays interface {
	Replay(ctx context.Context, set rewind.Set, from time.Time) (*rewind.Replay, error)
}

// logBounds is the answer of GET /api/v1/log.
type logBounds struct {
	First  *time.Time `json:"first"`  // the oldest moment that can be shown; null: the log holds nothing
	Last   time.Time  `json:"last"`   // now
	Rewind bool       `json:"rewind"` // false: the token reads the present only
}

// getLog answers GET /api/v1/log: the span of moments ?at= may name, for
// the reader asking (an embed token may reach less far back).
func (a *API) getLog(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Rewind == nil {
		writeError(w, http.StatusNotImplemented, "this dashd has no rewind", nil)
		return
	}
	first, now, err := a.cfg.Rewind.Range(r.Context())
	if err != nil {
		boardError(w, "log", err)
		return
	}
	out := logBounds{Last: now.UTC(), Rewind: true}
	if g := decisionOf(r).Grant; g != nil {
		earliest, ok := g.Reach(now)
		switch {
		case !ok:
			out.Rewind, first = false, now
		case earliest.After(first):
			first = earliest
		}
	}
	if !first.IsZero() {
		first = first.UTC()
		out.First = &first
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// momentOf reads ?at= (or the parameter named) of r: ok false when absent.
// A moment that cannot be parsed, or that the reader may not reach, is
// answered here (400, 403) and reported as handled.
func (a *API) momentOf(w http.ResponseWriter, r *http.Request, param string) (at time.Time, present, handled bool) {
	raw, present := r.URL.Query()[param]
	if !present {
		return time.Time{}, false, false
	}
	if a.cfg.Rewind == nil {
		writeError(w, http.StatusNotImplemented, "this dashd has no rewind: drop ?"+param+"=", nil)
		return time.Time{}, true, true
	}
	first, now, err := a.cfg.Rewind.Range(r.Context())
	if err != nil {
		boardError(w, "log", err)
		return time.Time{}, true, true
	}
	span := retained(first, now)
	v := ""
	if len(raw) > 0 {
		v = raw[0]
	}
	at, err = ingest.ParseTime(v)
	if err != nil {
		WriteError(w, http.StatusBadRequest, access.JSON, Error{
			Error:  fmt.Sprintf("?%s=: %v; %s", param, err, span),
			Reason: "bad_moment",
		}, 0)
		return time.Time{}, true, true
	}
	if g := decisionOf(r).Grant; g != nil {
		earliest, ok := g.Reach(now)
		switch {
		case !ok:
			WriteError(w, http.StatusForbidden, access.JSON, Error{
				Error:  fmt.Sprintf("this embed token reads the present only: drop ?%s= (or mint a token with \"rewind\")", param),
				Reason: "rewind_forbidden",
			}, 0)
			return time.Time{}, true, true
		case !earliest.IsZero() && at.Before(earliest):
			WriteError(w, http.StatusForbidden, access.JSON, Error{
				Error: fmt.Sprintf("this embed token reaches back to %s only; %s is before that",
					earliest.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339Nano)),
				Reason: "rewind_forbidden",
			}, 0)
			return time.Time{}, true, true
		}
	}
	return at, true, false
}

// retained says which moments can be shown, for error messages.
func retained(first, now time.Time) string {
	if first.IsZero() {
		return "the log holds nothing yet"
	}
	return fmt.Sprintf("the log can show %s to %s (RFC 3339, or a Unix time in s, ms, µs or ns)",
		first.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
}

// rewindError answers an error of a rewind.
func rewindError(w http.ResponseWriter, err error) {
	var re *rewind.RangeError
	if errors.As(err, &re) {
		WriteError(w, http.StatusBadRequest, access.JSON, Error{Error: err.Error(), Reason: "bad_moment"}, 0)
		return
	}
	if wait, busy := rewind.IsBusy(err); busy {
		WriteError(w, http.StatusTooManyRequests, access.JSON, Error{Error: err.Error(), Reason: "busy"}, wait)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "the rewind was not finished in time", err)
		return
	}
	boardError(w, "rewind", err)
}

// setOf is the set a chart is rewound with: its dashboard's charts (one
// replay of the log serves them all, and every chart of a page asking for
// the same moment shares it), or the chart alone.
func (a *API) setOf(id string) (rewind.Set, charts.Chart, bool) {
	def, ok := a.cfg.Board.Chart(id)
	if !ok {
		return rewind.Set{}, charts.Chart{}, false
	}
	for _, d := range a.cfg.Board.Dashboards() {
		for _, c := range d.Charts {
			if c.ID == id {
				return rewind.Set{Key: "dashboard\x00" + d.ID, Charts: d.Charts}, def, true
			}
		}
	}
	return rewind.Set{Key: "chart\x00" + id, Charts: []charts.Chart{def}}, def, true
}

// serveRewound answers ?at=T on a chart's frame (option false) or option.
// A push chart's data is not in the log: it answers current, the chart's
// current read, without "at". A filtered reader's rewind is that of the
// chart seen through its filter (narrowSet); a chart its filter leaves
// nothing of answers current too (its filtered view: empty).
func (a *API) serveRewound(w http.ResponseWriter, r *http.Request, at time.Time, option bool, current func(context.Context, string) ([]byte, error)) {
	id := r.PathValue("id")
	set, def, ok := a.setOf(id)
	if !ok {
		writeError(w, http.StatusNotFound, "chart not found", nil)
		return
	}
	if a.filteredReader(r) {
		var err error
		if set, err = a.narrowSet(r, set, ""); err != nil {
			filterError(w, "chart", err)
			return
		}
		if !slices.ContainsFunc(set.Charts, func(c charts.Chart) bool { return c.ID == id }) {
			def = charts.Chart{} // nothing to rewind: answer current
		}
	}
	if def.Metric == "" {
		a.serveChartBytes(w, r, current)
		return
	}
	m, err := a.cfg.Rewind.Moment(r.Context(), set, at)
	if err != nil {
		rewindError(w, err)
		return
	}
	f, ok := m.Frame(id)
	if !ok {
		writeError(w, http.StatusNotFound, "chart not found", nil)
		return
	}
	var b []byte
	if option {
		if b, err = charts.Option(def, f); err != nil {
			boardError(w, "chart", err)
			return
		}
	} else {
		b = rewind.AppendJSON(make([]byte, 0, 256), &f, m.At, m.Through.Seq)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
