package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/embed"
)

// defaultEmbedTTL is the lifetime of a token minted without one.
const defaultEmbedTTL = 24 * time.Hour

// embedding is who may read what, and from which other origins: the read
// gate (auth.read: token), CORS for the pages that embed dashd
// (embed.allowed_parents), and the embed-token API. Nothing in it changes
// after newEmbedding but the revocations Keys holds.
type embedding struct {
	keys      *embed.Keys // nil: no auth.embed_secret, embed tokens are refused
	readToken bool        // auth.read is "token"
	admin     []string
	anyParent bool
	parents   map[string]bool // origins, lower case
	board     *charts.Board
	log       *slog.Logger
}

func newEmbedding(f *config.File, board *charts.Board, log *slog.Logger) *embedding {
	e := &embedding{
		readToken: f.Auth.Read == config.ReadToken,
		admin:     f.Auth.AdminTokens,
		parents:   map[string]bool{},
		board:     board,
		log:       log,
	}
	for _, p := range f.Embed.AllowedParents {
		if p == "*" {
			e.anyParent = true
		}
		e.parents[strings.ToLower(p)] = true
	}
	if f.Auth.EmbedSecret != "" {
		k, err := embed.New(embed.Config{Secret: f.Auth.EmbedSecret, Revoked: f.Embed.Revoked})
		if err != nil { // config.Validate checks the secret first
			log.Error("embed tokens are disabled", "err", err)
		}
		e.keys = k
	}
	return e
}

// streamOrigins are the origins that may open the stream: the configured
// ones and the pages allowed to embed dashd, so that one setting does it.
func streamOrigins(f *config.File) []string {
	return slices.Concat(f.Stream.AllowedOrigins, f.Embed.AllowedParents)
}

// mount adds /embed.js (served by pages), the embed-token API and the
// answers to CORS preflights.
func (e *embedding) mount(r *gin.Engine, pages gin.HandlerFunc) {
	r.GET("/embed.js", pages)
	r.POST("/api/v1/embed-tokens", e.mint)
	r.DELETE("/api/v1/embed-tokens/:jti", e.revoke)
	preflight := func(c *gin.Context) { c.Status(http.StatusNoContent) }
	for _, p := range corsRoutes() {
		r.OPTIONS(p, preflight)
	}
}

// corsRoutes may be read from the pages of embed.allowed_parents: what
// <dashd-chart> fetches (the WebSocket has its own origin check, in stream).
func corsRoutes() []string {
	return []string{
		"/embed.js",
		"/api/v1/charts/:id",
		"/api/v1/charts/:id/frame",
		"/api/v1/charts/:id/option",
		"/api/v1/stream/sse",
	}
}

// gate runs before every route: it answers CORS for the routes an embedding
// page reads, and with auth.read: token refuses a read without a token that
// grants it (401, saying why).
func (e *embedding) gate(c *gin.Context) {
	route := c.FullPath()
	if slices.Contains(corsRoutes(), route) {
		e.cors(c)
		if c.Request.Method == http.MethodOptions {
			return
		}
	}
	if !e.readToken || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		return
	}
	var dashboard string
	var chartIDs []string
	switch route {
	case "/", "/api/v1/dashboards":
		// Lists of everything: admin tokens only.
	case "/d/:id", "/api/v1/dashboards/:id":
		dashboard = c.Param("id")
	case "/embed/:chart":
		chartIDs = []string{c.Param("chart")}
	case "/api/v1/charts/:id", "/api/v1/charts/:id/frame", "/api/v1/charts/:id/option":
		chartIDs = []string{c.Param("id")}
	case "/api/v1/stream", "/api/v1/stream/sse":
		dashboard, chartIDs = c.Query("dashboard"), splitList(c.Query("charts"))
	default:
		return // not a read of dashboards or charts
	}
	if err := e.allows(c.Request, dashboard, chartIDs); err != nil {
		e.refuse(c, err)
	}
}

// tokenOf is the token a request carries: ?token= (pages, iframes,
// WebSocket, EventSource) or Authorization: Bearer.
func tokenOf(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// isAdmin reports whether tok is one of the admin tokens, in constant time.
func isAdmin(tok string, admin []string) bool {
	match := 0
	for _, a := range admin {
		match |= subtle.ConstantTimeCompare([]byte(tok), []byte(a))
	}
	return tok != "" && match == 1
}

// allows decides whether r may read dashboard and chartIDs (nil and empty:
// a list of everything, for admin tokens only).
func (e *embedding) allows(r *http.Request, dashboard string, chartIDs []string) error {
	tok := tokenOf(r)
	if isAdmin(tok, e.admin) {
		return nil
	}
	if e.keys == nil {
		if tok == "" {
			return &embed.Error{Reason: embed.Missing, Message: "reading needs a token (auth.read is token): send an admin token as ?token=… or 'Authorization: Bearer …'"}
		}
		return &embed.Error{Reason: embed.BadSignature, Message: "the token is not an admin token, and embed tokens are off (auth.embed_secret is empty)"}
	}
	claims, err := e.keys.Verify(tok)
	if err != nil {
		return err
	}
	return claims.Allows(dashboard, chartIDs, e.dashboardOf)
}

// dashboardOf names the dashboard chart belongs to, or "".
func (e *embedding) dashboardOf(chart string) string {
	for _, d := range e.board.Dashboards() {
		for _, c := range d.Charts {
			if c.ID == chart {
				return d.ID
			}
		}
	}
	return ""
}

// refuse answers 401 with the reason: JSON on the API, text on pages.
func (e *embedding) refuse(c *gin.Context, err error) {
	reason := embed.ReasonOf(err)
	c.Header("WWW-Authenticate", fmt.Sprintf(`Bearer realm="dashd", error="invalid_token", error_description=%q`, string(reason)))
	c.Header("Cache-Control", "no-store")
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": err.Error(), "reason": reason})
		return
	}
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.Header("X-Content-Type-Options", "nosniff")
	c.String(http.StatusUnauthorized, "401 unauthorized: %s\n", err)
	c.Abort()
}

// cors lets a page of embed.allowed_parents read the response. Tokens
// travel in the URL or the Authorization header, never in cookies, so no
// credentials are allowed.
func (e *embedding) cors(c *gin.Context) {
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	origin := c.GetHeader("Origin")
	if origin == "" || !(e.anyParent || e.parents[strings.ToLower(origin)]) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.Request.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Accept, Last-Event-ID")
		h.Set("Access-Control-Max-Age", "600")
	}
}

// mintRequest is the body of POST /api/v1/embed-tokens.
type mintRequest struct {
	Chart     string `json:"chart"`
	Dashboard string `json:"dashboard"`
	TTL       string `json:"ttl"` // a Go duration; default 24h
}

// mintResponse is its answer.
type mintResponse struct {
	Token     string    `json:"token"`
	ID        string    `json:"jti"`
	Chart     string    `json:"chart,omitempty"`
	Dashboard string    `json:"dashboard,omitempty"`
	Expires   time.Time `json:"expires"`
	URL       string    `json:"url"` // the page to frame, relative to dashd
}

// adminOnly answers 401/403 unless r carries an admin token.
func (e *embedding) adminOnly(c *gin.Context, what string) bool {
	if len(e.admin) == 0 {
		writeError(c.Writer, http.StatusForbidden, what+" needs an admin token, and none is configured (set auth.admin_tokens)", nil)
		return false
	}
	got, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !isAdmin(got, e.admin) {
		writeError(c.Writer, http.StatusUnauthorized, what+" needs an admin token: send the header 'Authorization: Bearer <token>' with a token from auth.admin_tokens", nil)
		return false
	}
	if e.keys == nil {
		writeError(c.Writer, http.StatusConflict, "embed tokens are off: set auth.embed_secret (e.g. to the output of `openssl rand -hex 32`)", nil)
		return false
	}
	return true
}

// mint answers POST /api/v1/embed-tokens: a token for one chart or one
// dashboard that exists now.
func (e *embedding) mint(c *gin.Context) {
	if !e.adminOnly(c, "minting embed tokens") {
		return
	}
	var req mintRequest
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(c.Writer, http.StatusBadRequest, `the body is not {"chart":ID} or {"dashboard":ID} with an optional "ttl":"24h": `+err.Error(), nil)
		return
	}
	ttl := defaultEmbedTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			writeError(c.Writer, http.StatusBadRequest, fmt.Sprintf("ttl %q is not a duration (expected e.g. 30m, 24h, 720h)", req.TTL), nil)
			return
		}
		ttl = d
	}
	url := ""
	switch {
	case req.Chart != "" && req.Dashboard == "":
		if _, ok := e.board.Chart(req.Chart); !ok {
			writeError(c.Writer, http.StatusNotFound, fmt.Sprintf("no chart %q", req.Chart), nil)
			return
		}
		url = "/embed/" + req.Chart
	case req.Dashboard != "" && req.Chart == "":
		if _, ok := e.board.Dashboard(req.Dashboard); !ok {
			writeError(c.Writer, http.StatusNotFound, fmt.Sprintf("no dashboard %q", req.Dashboard), nil)
			return
		}
		url = "/d/" + req.Dashboard
	}
	tok, claims, err := e.keys.Mint(embed.Scope{Chart: req.Chart, Dashboard: req.Dashboard}, ttl)
	if err != nil {
		writeError(c.Writer, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "embed: "), nil)
		return
	}
	e.log.Info("embed token minted", "jti", claims.ID, "chart", claims.Chart, "dashboard", claims.Dashboard, "expires", claims.ExpiresAt())
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, mintResponse{
		Token: tok, ID: claims.ID, Chart: claims.Chart, Dashboard: claims.Dashboard,
		Expires: claims.ExpiresAt().UTC(), URL: url + "?token=" + tok,
	})
}

// revoke answers DELETE /api/v1/embed-tokens/{jti}: the token is refused
// from now until this process ends. embed.revoked keeps it refused.
func (e *embedding) revoke(c *gin.Context) {
	if !e.adminOnly(c, "revoking embed tokens") {
		return
	}
	jti := c.Param("jti")
	e.keys.Revoke(jti)
	e.log.Warn("embed token revoked until restart: add its id to embed.revoked to keep it revoked", "jti", jti)
	c.Status(http.StatusNoContent)
}

// embedToken is `dashd embed-token`: it prints a token signed with the
// configuration's auth.embed_secret.
func embedToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embed-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file with auth.embed_secret (required)")
	chart := fs.String("chart", "", "the chart the token reads")
	dashboard := fs.String("dashboard", "", "the dashboard the token reads (instead of --chart)")
	ttl := fs.Duration("ttl", defaultEmbedTTL, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dashd embed-token --config FILE (--chart ID | --dashboard ID) [--ttl 24h]\n\nPrints an embed token: use it as /embed/ID?token=… or <dashd-chart token=\"…\">.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *configPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	f, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", err)
		return 2
	}
	if f.Auth.EmbedSecret == "" {
		fmt.Fprintf(stderr, "dashd embed-token: %s sets no auth.embed_secret (set it, e.g. to the output of `openssl rand -hex 32`)\n", *configPath)
		return 2
	}
	keys, err := embed.New(embed.Config{Secret: f.Auth.EmbedSecret})
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", err)
		return 2
	}
	tok, claims, err := keys.Mint(embed.Scope{Chart: *chart, Dashboard: *dashboard}, *ttl)
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", strings.TrimPrefix(err.Error(), "embed: "))
		return 2
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "jti %s, expires %s (revoke it with embed.revoked: [%s])\n", claims.ID, claims.ExpiresAt().UTC().Format(time.RFC3339), claims.ID)
	return 0
}
