package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dashd/dashd/embed"
	"github.com/dashd/dashd/journal"
)

// DefaultEmbedTTL is the lifetime of a token minted without one.
const DefaultEmbedTTL = 24 * time.Hour

// mintRequest is the body of POST /api/v1/embed-tokens.
type mintRequest struct {
	Chart     string `json:"chart"`
	Dashboard string `json:"dashboard"`
	TTL       string `json:"ttl"` // a Go duration; default 24h
	// Where are tag filters every read with the token is held to
	// (embed.CheckWhere bounds them).
	Where map[string]string `json:"where"`
	// Rewind: "" or "on", any moment the log retains; "off", the present
	// only; a duration ("1h"), at most that far back.
	Rewind string `json:"rewind"`
}

// mintResponse is its answer.
type mintResponse struct {
	Token     string            `json:"token"`
	ID        string            `json:"jti"`
	Chart     string            `json:"chart,omitempty"`
	Dashboard string            `json:"dashboard,omitempty"`
	Where     map[string]string `json:"where,omitempty"`
	Expires   time.Time         `json:"expires"`
	URL       string            `json:"url"` // the page to frame, relative to dashd
}

// ParseRewind reads how far back an embed token may rewind (the "rewind" of
// POST /api/v1/embed-tokens, dashd embed-token --rewind): "" or "on", any
// moment the log retains (0); "off", the present only (embed.NoRewind); a
// positive duration, at most that far back.
func ParseRewind(s string) (time.Duration, error) {
	switch s {
	case "", "on":
		return 0, nil
	case "off":
		return embed.NoRewind, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf(`rewind %q is not "on", "off" or a positive duration (how far back the token may read, e.g. 1h)`, s)
	}
	return d, nil
}

// embedTokensOff answers 409 when auth.embed_secret is not set.
func (a *API) embedTokensOff(w http.ResponseWriter) bool {
	if a.cfg.Keys != nil {
		return false
	}
	writeError(w, http.StatusConflict, "embed tokens are off: set auth.embed_secret (e.g. to the output of `openssl rand -hex 32`)", nil)
	return true
}

// mint answers POST /api/v1/embed-tokens: a token for one chart or one
// dashboard that exists now.
func (a *API) mint(w http.ResponseWriter, r *http.Request) {
	if a.embedTokensOff(w) {
		return
	}
	var req mintRequest
	if err := decodeBody(w, r, 64<<10, &req); err != nil {
		writeError(w, bodyStatus(err), `the body is not {"chart":ID} or {"dashboard":ID} with an optional "ttl":"24h", "where":{"tag":"value"} and "rewind":"off"|"1h": `+err.Error(), nil)
		return
	}
	ttl := DefaultEmbedTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("ttl %q is not a duration (expected e.g. 30m, 24h, 720h)", req.TTL), nil)
			return
		}
		ttl = d
	}
	reach, err := ParseRewind(req.Rewind)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	url := ""
	switch {
	case req.Chart != "" && req.Dashboard == "":
		if _, ok := a.cfg.Board.Chart(req.Chart); !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no chart %q", req.Chart), nil)
			return
		}
		url = "/embed/" + req.Chart
	case req.Dashboard != "" && req.Chart == "":
		if _, ok := a.cfg.Board.Dashboard(req.Dashboard); !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q", req.Dashboard), nil)
			return
		}
		url = "/d/" + req.Dashboard
	}
	tok, claims, err := a.cfg.Keys.Mint(embed.Scope{Chart: req.Chart, Dashboard: req.Dashboard, Where: req.Where, Rewind: reach}, ttl)
	if err != nil {
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "embed: "), nil)
		return
	}
	a.log.Info("embed token minted", "jti", claims.ID, "chart", claims.Chart, "dashboard", claims.Dashboard, "where", claims.Where, "rewind", claims.Rewind, "expires", claims.ExpiresAt())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, mintResponse{
		Token: tok, ID: claims.ID, Chart: claims.Chart, Dashboard: claims.Dashboard, Where: claims.Where,
		Expires: claims.ExpiresAt().UTC(), URL: url + "?token=" + tok,
	})
}

// revoke answers DELETE /api/v1/embed-tokens/{jti}: the token is refused
// on every node, from now on and after restarts, and every stream it opened
// ends.
func (a *API) revoke(w http.ResponseWriter, r *http.Request) {
	if a.embedTokensOff(w) {
		return
	}
	jti := r.PathValue("jti")
	if err := journal.CheckJTI(jti); err != nil {
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "journal: "), nil)
		return
	}
	// The token's expiry is not known from its id: the revocation is kept
	// as long as a token can live (embed.MaxTTL).
	if err := a.cfg.Revocations.Revoke(r.Context(), jti, time.Time{}); err != nil {
		boardError(w, "revocation", err)
		return
	}
	a.log.Warn("embed token revoked", "jti", jti)
	w.WriteHeader(http.StatusNoContent)
}
