package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/embed"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/rewind"
)

// Board is what the API reads of the charts.
type Board interface {
	Dashboards() []charts.Dashboard
	Dashboard(id string) (charts.Dashboard, bool)
	Chart(id string) (charts.Chart, bool)
	Frame(ctx context.Context, id string) ([]byte, error)
	Option(ctx context.Context, id string) ([]byte, error)
}

// Definitions stores dashboards and returns once this node shows the
// change (catalog.Definitions).
type Definitions interface {
	Put(ctx context.Context, d charts.Dashboard) (created bool, err error)
	Delete(ctx context.Context, id string) error
}

// PushData stores a push chart's data and returns once this node shows it
// (catalog.PushData).
type PushData interface {
	Put(ctx context.Context, id string, d journal.PushData) error
}

// Revocations stores the revocation of an embed token for every node
// (journal.Journal).
type Revocations interface {
	Revoke(ctx context.Context, jti string, expires time.Time) error
}

// Streams serves the live transports (stream.Hub): each viewer ends when
// its lease does.
type Streams interface {
	ServeWS(w http.ResponseWriter, r *http.Request, topics []string, lease context.Context)
	ServeSSE(w http.ResponseWriter, r *http.Request, topics []string, lease context.Context)
}

// Config is what New needs. Keys and Revocations may be nil (embed tokens
// off), and Rewind and Replays (no rewind); the rest is required.
type Config struct {
	Board       Board
	Definitions Definitions
	PushData    PushData
	Streams     Streams
	Leases      *access.Leases
	Keys        *embed.Keys
	Revocations Revocations
	// Rewind serves ?at= on frames and options and GET /api/v1/log, and
	// Replays ?from= on the streams; nil: they answer 501.
	Rewind  Rewind
	Replays Replays
	Logger  *slog.Logger
	// Filtered serves the reads of embed tokens with tag filters and of
	// ?var- readers (tenant.go); nil refuses them.
	Filtered Filtered
}

// API holds the handlers of the definitions, embed-token and stream routes.
type API struct {
	cfg Config
	log *slog.Logger
}

// New returns the API of cfg.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, log: cfg.Logger}
}

// Handlers are the API's handlers by access.Route key, for
// RouterConfig.Handlers.
func (a *API) Handlers() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/dashboards":            http.HandlerFunc(a.listDashboards),
		"GET /api/v1/dashboards/{id}":       http.HandlerFunc(a.getDashboard),
		"PUT /api/v1/dashboards/{id}":       http.HandlerFunc(a.putDashboard),
		"DELETE /api/v1/dashboards/{id}":    http.HandlerFunc(a.deleteDashboard),
		"GET /api/v1/charts/{id}":           http.HandlerFunc(a.getChart),
		"GET /api/v1/charts/{id}/frame":     http.HandlerFunc(a.getFrame),
		"GET /api/v1/charts/{id}/option":    http.HandlerFunc(a.getOption),
		"PUT /api/v1/charts/{id}/data":      http.HandlerFunc(a.putData),
		"POST /api/v1/embed-tokens":         http.HandlerFunc(a.mint),
		"DELETE /api/v1/embed-tokens/{jti}": http.HandlerFunc(a.revoke),
		"GET /api/v1/stream": a.stream(a.cfg.Streams.ServeWS, func(w http.ResponseWriter, r *http.Request, rp *rewind.Replay, speed int, _ []string, lease context.Context) {
			a.replayWS(w, r, rp, speed, lease)
		}),
		"GET /api/v1/stream/sse": a.stream(a.cfg.Streams.ServeSSE, a.replaySSE),
		"GET /api/v1/log":        http.HandlerFunc(a.getLog),
	}
}

// maxDefinitionBytes bounds a PUT body of definitions or push data.
const maxDefinitionBytes = 1 << 20

// decodeBody decodes r's JSON body into v, strictly, at most limit bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value in the body")
	}
	return nil
}

// bodyStatus is the status of a body that could not be decoded.
func bodyStatus(err error) int {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) listDashboards(w http.ResponseWriter, r *http.Request) {
	ds := a.cfg.Board.Dashboards()
	if ds == nil {
		ds = []charts.Dashboard{}
	}
	writeJSON(w, http.StatusOK, ds)
}

func (a *API) getDashboard(w http.ResponseWriter, r *http.Request) {
	d, ok := a.cfg.Board.Dashboard(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q", r.PathValue("id")), nil)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// putDashboard creates or replaces one dashboard; it answers once this
// node shows it.
func (a *API) putDashboard(w http.ResponseWriter, r *http.Request) {
	var d charts.Dashboard
	if err := decodeBody(w, r, maxDefinitionBytes, &d); err != nil {
		writeError(w, bodyStatus(err), "the body is not a dashboard definition: "+err.Error(), nil)
		return
	}
	id := r.PathValue("id")
	if d.ID == "" {
		d.ID = id
	}
	if d.ID != id {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the body's id %q differs from the id %q in the path", d.ID, id), nil)
		return
	}
	created, err := a.cfg.Definitions.Put(r.Context(), d)
	if err != nil {
		a.definitionError(w, "dashboard", err)
		return
	}
	got, _ := a.cfg.Board.Dashboard(id)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, got)
}

func (a *API) deleteDashboard(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.cfg.Definitions.Delete(r.Context(), id); err != nil {
		if errors.Is(err, charts.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q", id), nil)
			return
		}
		a.definitionError(w, "dashboard", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// definitionError answers a refused write of a definition.
func (a *API) definitionError(w http.ResponseWriter, what string, err error) {
	var conflict interface{ Conflict() bool }
	if errors.As(err, &conflict) && conflict.Conflict() {
		writeError(w, http.StatusConflict, err.Error(), nil)
		return
	}
	boardError(w, what, err)
}

func (a *API) getChart(w http.ResponseWriter, r *http.Request) {
	ch, ok := a.cfg.Board.Chart(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no chart %q", r.PathValue("id")), nil)
		return
	}
	writeJSON(w, http.StatusOK, ch)
}

// getFrame answers the chart's current frame, or with ?at=T the frame it
// showed at T (see serveRewound).
func (a *API) getFrame(w http.ResponseWriter, r *http.Request) {
	a.serveRead(w, r, a.cfg.Board.Frame, Filtered.FrameWhere, false)
}

// getOption answers the chart's ECharts option with its current data, or
// with ?at=T the data it showed at T.
func (a *API) getOption(w http.ResponseWriter, r *http.Request) {
	a.serveRead(w, r, a.cfg.Board.Option, Filtered.OptionWhere, true)
}

// serveRead answers a read of a chart: with ?at=T what the chart showed
// at T (as an option if option is set), else its current bytes. A
// filtered reader (a token with where, or ?var-) reads through its
// filter either way: its filtered view now, a rewind of the chart with
// the filter in its where at T (tenant_rewind.go).
func (a *API) serveRead(w http.ResponseWriter, r *http.Request, read func(context.Context, string) ([]byte, error),
	filtered func(Filtered, context.Context, string, map[string]string) ([]byte, error), option bool) {
	current := a.readFor(r, read, filtered)
	if at, present, handled := a.momentOf(w, r, "at"); handled {
		return
	} else if present {
		a.serveRewound(w, r, at, option, current)
		return
	}
	a.serveChartBytes(w, r, current)
}

func (a *API) serveChartBytes(w http.ResponseWriter, r *http.Request, read func(context.Context, string) ([]byte, error)) {
	b, err := read(r.Context(), r.PathValue("id"))
	if err != nil {
		filterError(w, "chart", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// putData sets a push chart's data; it answers once this node shows it.
func (a *API) putData(w http.ResponseWriter, r *http.Request) {
	var body journal.PushData
	if err := decodeBody(w, r, maxDefinitionBytes, &body); err != nil {
		writeError(w, bodyStatus(err), `the body is not chart data ({"categories":[…],"series":[{"name":…,"data":[…]}]}): `+err.Error(), nil)
		return
	}
	if err := a.cfg.PushData.Put(r.Context(), r.PathValue("id"), body); err != nil {
		boardError(w, "chart data", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
