package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/rewind"
)

// stream resolves ?dashboard=ID or ?charts=a,b into topics and hands the
// request to the transport, with a lease that ends the viewer when the
// embed token that let it in expires or is revoked. A HEAD request is
// answered with the headers alone. With ?from=T (and ?speed=S) the viewer
// first gets the transport's replay from T (replay.go).
func (a *API) stream(serve func(http.ResponseWriter, *http.Request, []string, context.Context), replay func(http.ResponseWriter, *http.Request, *rewind.Replay, int, []string, context.Context)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		topics, err := topicsOf(a.cfg.Board, q.Get("dashboard"), q.Get("charts"))
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error(), nil)
			return
		}
		if r.Method == http.MethodHead {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			return
		}
		charted := topics // by chart id, for a replay
		if a.filteredReader(r) {
			// A token with tag filters, or chosen dashboard variables:
			// each chart is seen through its filter, live (its filtered
			// view's topic) and in a replay (startReplay narrows the set).
			var release func()
			if err := a.canFilter(r); err != nil {
				filterError(w, "stream", err)
				return
			}
			if topics, release, err = a.filteredTopics(r, topics, q.Get("dashboard")); err != nil {
				filterError(w, "chart", err)
				return
			}
			// A WebSocket's serve returns once it is hijacked; the view
			// then stays while the hub says its topic is watched.
			defer release()
		}
		if replay != nil {
			// An SSE replay goes on live on topics: the filtered ones.
			rp, speed, handled := a.startReplay(w, r, charted, q.Get("dashboard"))
			if rp != nil {
				replay(w, r, rp, speed, topics, a.cfg.Leases.Lease(decisionOf(r).Grant))
			}
			if handled {
				return
			}
		}
		serve(w, r, topics, a.cfg.Leases.Lease(decisionOf(r).Grant))
	}
}

// topicsOf lists the chart ids a stream subscribes to.
func topicsOf(board Board, dashboard, chartList string) ([]string, error) {
	switch {
	case dashboard != "" && chartList != "":
		return nil, errors.New("give either ?dashboard=ID or ?charts=a,b, not both")
	case dashboard != "":
		d, ok := board.Dashboard(dashboard)
		if !ok {
			return nil, fmt.Errorf("no dashboard %q (GET /api/v1/dashboards lists them)", dashboard)
		}
		// The dashboard's own topic announces its definition, so an open
		// page redraws when charts are added, removed or changed.
		topics := []string{charts.DashboardTopic(d.ID)}
		for _, c := range d.Charts {
			topics = append(topics, c.ID)
		}
		return topics, nil
	case chartList != "":
		var topics []string
		for _, id := range access.SplitList(chartList) {
			if _, ok := board.Chart(id); !ok {
				return nil, fmt.Errorf("no chart %q", id)
			}
			topics = append(topics, id)
		}
		if len(topics) > 0 {
			return topics, nil
		}
	}
	return nil, errors.New("say what to stream: ?dashboard=ID or ?charts=a,b")
}
