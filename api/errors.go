package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// Error is dashd's one error body, on every route:
//
//	{"error":"what is wrong and what to do","reason":"word","details":[…]}
//
// reason is a word for programs (absent where the status says it all);
// details place the problems of an invalid body: {"field","message"} for
// definitions, {"line","column","index","message"} for ingest. On the
// InfluxDB routes the body also carries InfluxDB 2's "code" and "message".
type Error struct {
	Error   string   `json:"error"`
	Reason  string   `json:"reason,omitempty"`
	Details []Detail `json:"details,omitempty"`
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
}

// Detail is one problem of an invalid definition.
type Detail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// WriteError writes e with status. retryAfter > 0 sets Retry-After.
func WriteError(w http.ResponseWriter, status int, dialect access.Dialect, e Error, retryAfter time.Duration) {
	h := w.Header()
	if dialect == access.Influx {
		e.Code, e.Message = ingest.InfluxCode(status), e.Error
	}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // JSON with nosniff; keep <token> readable
	_ = enc.Encode(e)
}

// writeError writes a refusal of the definitions API: msg, and the field
// errors of err as details (or err's text after msg when it has none).
func writeError(w http.ResponseWriter, status int, msg string, err error) {
	e := Error{Error: msg}
	for _, fe := range charts.FieldErrors(err) {
		e.Details = append(e.Details, Detail{Field: fe.Field, Message: fe.Message})
	}
	if err != nil && len(e.Details) == 0 {
		e.Error += ": " + err.Error()
	}
	var retry time.Duration
	if status == http.StatusServiceUnavailable {
		retry = 2 * time.Second
	}
	WriteError(w, status, access.JSON, e, retry)
}

// boardError maps an error of the board or the store to its status.
func boardError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, charts.ErrNotFound):
		writeError(w, http.StatusNotFound, what+" not found", nil)
	case errors.Is(err, charts.ErrNotPush):
		writeError(w, http.StatusConflict, err.Error(), nil)
	case len(charts.FieldErrors(err)) > 0:
		writeError(w, http.StatusBadRequest, "invalid "+what, err)
	case errors.Is(err, charts.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "dashd is shutting down", nil)
	default:
		writeError(w, http.StatusServiceUnavailable, "the store is unavailable", err)
	}
}
