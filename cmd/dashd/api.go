package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/journal"
)

// api serves definitions and chart data: thin handlers over the board that
// turn its errors into statuses.
type api struct {
	board        *charts.Board
	store        *journal.Journal     // where definitions are written; the board follows it
	provisioned  func(id string) bool // dashboards the configuration owns
	adminTokens  []string
	ingestTokens []string
	log          *slog.Logger
	// dataApplied says whether the board shows push data stored at rev.
	dataApplied func(rev uint64) bool
}

// maxDefinitionBytes bounds a PUT body of definitions or push data.
const maxDefinitionBytes = 1 << 20

type apiError struct {
	Error   string        `json:"error"`
	Details []fieldDetail `json:"details,omitempty"`
}

type fieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string, err error) {
	body := apiError{Error: msg}
	for _, fe := range charts.FieldErrors(err) {
		body.Details = append(body.Details, fieldDetail{Field: fe.Field, Message: fe.Message})
	}
	if err != nil && len(body.Details) == 0 {
		body.Error += ": " + err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// boardError maps a board error to its status.
func boardError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, charts.ErrNotFound):
		writeError(w, http.StatusNotFound, what+" not found", nil)
	case errors.Is(err, charts.ErrNotPush):
		writeError(w, http.StatusConflict, err.Error(), nil)
	case len(charts.FieldErrors(err)) > 0:
		writeError(w, http.StatusBadRequest, "invalid "+what, err)
	case errors.Is(err, charts.ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "dashd is shutting down", nil)
	default:
		writeError(w, http.StatusInternalServerError, what, err)
	}
}

// authorized checks a bearer token against tokens in constant time. With
// no tokens configured, everyone is.
func authorized(r *http.Request, tokens []string) bool {
	if len(tokens) == 0 {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	match := 0
	for _, t := range tokens {
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(t))
	}
	return match == 1
}

func (a *api) listDashboards(c *gin.Context) {
	ds := a.board.Dashboards()
	if ds == nil {
		ds = []charts.Dashboard{}
	}
	c.JSON(http.StatusOK, ds)
}

func (a *api) getDashboard(c *gin.Context) {
	d, ok := a.board.Dashboard(c.Param("id"))
	if !ok {
		writeError(c.Writer, http.StatusNotFound, fmt.Sprintf("no dashboard %q", c.Param("id")), nil)
		return
	}
	c.JSON(http.StatusOK, d)
}

// putDashboard creates or replaces one dashboard: it is validated, then
// stored in the bucket, which every node (this one included) follows.
func (a *api) putDashboard(c *gin.Context) {
	if !authorized(c.Request, a.adminTokens) {
		writeError(c.Writer, http.StatusUnauthorized, "writing dashboards needs an admin token: send the header 'Authorization: Bearer <token>' with a token from auth.admin_tokens", nil)
		return
	}
	var d charts.Dashboard
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, maxDefinitionBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		writeError(c.Writer, http.StatusBadRequest, "the body is not a dashboard definition: "+err.Error(), nil)
		return
	}
	id := c.Param("id")
	if d.ID == "" {
		d.ID = id
	}
	if d.ID != id {
		writeError(c.Writer, http.StatusBadRequest, fmt.Sprintf("the body's id %q differs from the id %q in the path", d.ID, id), nil)
		return
	}
	if a.refuseProvisioned(c, id) {
		return
	}
	status := http.StatusOK
	if _, ok := a.board.Dashboard(id); !ok {
		status = http.StatusCreated
	}
	if err := checkDashboard(a.board.Dashboards(), &d); err != nil {
		boardError(c.Writer, "dashboard", err)
		return
	}
	if err := a.store.PutDashboard(c.Request.Context(), d); err != nil {
		storeError(c.Writer, err)
		return
	}
	awaitBoard(c.Request.Context(), func() bool {
		got, ok := a.board.Dashboard(id)
		return ok && reflect.DeepEqual(got, d)
	})
	c.JSON(status, d)
}

// refuseProvisioned answers 409 for a dashboard the configuration defines.
func (a *api) refuseProvisioned(c *gin.Context, id string) bool {
	if !a.provisioned(id) {
		return false
	}
	writeError(c.Writer, http.StatusConflict, fmt.Sprintf("dashboard %q is defined in the configuration file (or by --demo), which wins at every start: change it there", id), nil)
	return true
}

// storeError answers a failure to write to the store.
func storeError(w http.ResponseWriter, err error) {
	if len(charts.FieldErrors(err)) > 0 {
		writeError(w, http.StatusBadRequest, "invalid dashboard", err)
		return
	}
	w.Header().Set("Retry-After", "2")
	writeError(w, http.StatusServiceUnavailable, "the dashboard store is unavailable", err)
}

func (a *api) deleteDashboard(c *gin.Context) {
	if !authorized(c.Request, a.adminTokens) {
		writeError(c.Writer, http.StatusUnauthorized, "deleting dashboards needs an admin token: send the header 'Authorization: Bearer <token>' with a token from auth.admin_tokens", nil)
		return
	}
	id := c.Param("id")
	if a.refuseProvisioned(c, id) {
		return
	}
	if err := a.store.DeleteDashboard(c.Request.Context(), id); err != nil {
		if errors.Is(err, charts.ErrNotFound) {
			writeError(c.Writer, http.StatusNotFound, fmt.Sprintf("no dashboard %q", id), nil)
			return
		}
		storeError(c.Writer, err)
		return
	}
	awaitBoard(c.Request.Context(), func() bool {
		_, ok := a.board.Dashboard(id)
		return !ok
	})
	c.Status(http.StatusNoContent)
}

func (a *api) getChart(c *gin.Context) {
	ch, ok := a.board.Chart(c.Param("id"))
	if !ok {
		writeError(c.Writer, http.StatusNotFound, fmt.Sprintf("no chart %q", c.Param("id")), nil)
		return
	}
	c.JSON(http.StatusOK, ch)
}

func (a *api) getFrame(c *gin.Context) {
	b, err := a.board.Frame(c.Request.Context(), c.Param("id"))
	if err != nil {
		boardError(c.Writer, "chart", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json", b)
}

func (a *api) getOption(c *gin.Context) {
	b, err := a.board.Option(c.Request.Context(), c.Param("id"))
	if err != nil {
		boardError(c.Writer, "chart", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json", b)
}

// putData sets a push chart's data; it takes the ingest tokens, since it is
// a way of pushing numbers. The data is stored in the bucket
// dashd_pushdata, which every node (this one included) follows, so it
// shows everywhere and survives a restart.
func (a *api) putData(c *gin.Context) {
	w, r := c.Writer, c.Request
	if !authorized(r, a.ingestTokens) {
		writeError(w, http.StatusUnauthorized, "setting chart data needs an ingest token: send the header 'Authorization: Bearer <token>' with a token from auth.ingest_tokens", nil)
		return
	}
	var body journal.PushData
	dec := json.NewDecoder(io.LimitReader(r.Body, maxDefinitionBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `the body is not chart data ({"categories":[…],"series":[{"name":…,"data":[…]}]}): `+err.Error(), nil)
		return
	}
	id := c.Param("id")
	if err := checkPushData(a.board, id, body); err != nil {
		boardError(w, "chart data", err)
		return
	}
	rev, err := a.store.PutData(r.Context(), id, body)
	if err != nil {
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "the chart data store is unavailable", err)
		return
	}
	awaitBoard(r.Context(), func() bool { return a.dataApplied(rev) })
	w.WriteHeader(http.StatusNoContent)
}

// splitList splits "a,b, c" into its non-empty trimmed items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
