package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dashd/dashd/access"
)

// RouterConfig is what NewRouter needs.
type RouterConfig struct {
	// Policy decides every request; required.
	Policy *access.Policy
	// Handlers serve the routes of access.Routes, by Route.Key ("GET
	// /healthz"). Every route of the table needs one, and none may be
	// given for a route that is not in the table.
	Handlers map[string]http.Handler
	// Parents are the origins (embed.allowed_parents; "*" for any) whose
	// pages may read the CrossOrigin routes (CORS).
	Parents []string
	// Logger reports panics recovered in handlers; nil discards.
	Logger *slog.Logger
	// Refused, if set, is called for every request the policy refuses
	// (to count it); it must be quick and safe for concurrent use.
	Refused func(access.Route, access.Decision)
}

// NewRouter mounts every route of access.Routes with its handler behind the
// policy: HEAD is served wherever GET is, OPTIONS answers the CORS
// preflights of the CrossOrigin routes, and anything else gets 404 or 405
// in the one error body. It fails if a route has no handler or a handler
// no route.
func NewRouter(cfg RouterConfig) (http.Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		cfg.Logger.Error("a handler panicked", "path", c.Request.URL.Path, "err", err)
		WriteError(c.Writer, http.StatusInternalServerError, access.JSON, Error{Error: "internal error (logged)"}, 0)
		c.Abort()
	}))
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	cors := newCORS(cfg.Parents)

	mounted := map[string]bool{}
	for _, rt := range access.Routes() {
		h, ok := cfg.Handlers[rt.Key()]
		if !ok {
			return nil, fmt.Errorf("api: no handler for the route %s", rt.Key())
		}
		mounted[rt.Key()] = true
		path := ginPath(rt.Path)
		serve := gate(cfg.Policy, rt, h, cors, cfg.Refused)
		r.Handle(rt.Method, path, serve)
		if rt.Method == http.MethodGet {
			r.Handle(http.MethodHead, path, serve)
		}
		if rt.CrossOrigin {
			r.OPTIONS(path, func(c *gin.Context) {
				cors.allow(c.Writer.Header(), c.Request, true)
				c.Status(http.StatusNoContent)
			})
		}
	}
	for key := range cfg.Handlers {
		if !mounted[key] {
			return nil, fmt.Errorf("api: a handler for %s, which has no row in access.Routes (add it there with its access class)", key)
		}
	}
	r.NoRoute(func(c *gin.Context) {
		WriteError(c.Writer, http.StatusNotFound, access.JSON, Error{Error: fmt.Sprintf("no such route: %s (dashboards are listed at / and /api/v1/dashboards)", c.Request.URL.Path), Reason: "not_found"}, 0)
	})
	r.NoMethod(func(c *gin.Context) {
		WriteError(c.Writer, http.StatusMethodNotAllowed, access.JSON, Error{Error: fmt.Sprintf("%s is not served at %s (the Allow header lists what is)", c.Request.Method, c.Request.URL.Path), Reason: "method_not_allowed"}, 0)
	})
	return r, nil
}

// grantKey carries the access.Decision that let a request in.
type grantKey struct{}

// decisionOf returns the decision that let r in.
func decisionOf(r *http.Request) access.Decision {
	d, _ := r.Context().Value(grantKey{}).(access.Decision)
	return d
}

// gate sets the path values, answers CORS, asks the policy and runs h.
func gate(p *access.Policy, rt access.Route, h http.Handler, cors corsPolicy, refused func(access.Route, access.Decision)) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		for _, prm := range c.Params {
			v := prm.Value
			if strings.HasSuffix(rt.Path, "...}") {
				v = strings.TrimPrefix(v, "/")
			}
			r.SetPathValue(prm.Key, v)
		}
		if rt.CrossOrigin {
			cors.allow(c.Writer.Header(), r, false)
		}
		d := p.Decide(r, rt)
		if !d.Allowed() {
			if refused != nil {
				refused(rt, d)
			}
			if d.Challenge != "" {
				c.Writer.Header().Set("WWW-Authenticate", d.Challenge)
			}
			WriteError(c.Writer, d.Status, rt.Dialect, Error{Error: d.Message, Reason: d.Reason}, 0)
			c.Abort()
			return
		}
		h.ServeHTTP(c.Writer, r.WithContext(context.WithValue(r.Context(), grantKey{}, d)))
	}
}

var paramPattern = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)

// ginPath turns a net/http pattern ("/charts/{id}", "/static/{path...}")
// into gin's ("/charts/:id", "/static/*path").
func ginPath(p string) string {
	return paramPattern.ReplaceAllStringFunc(p, func(m string) string {
		sub := paramPattern.FindStringSubmatch(m)
		if sub[2] != "" {
			return "*" + sub[1]
		}
		return ":" + sub[1]
	})
}

// corsPolicy lets the pages of embed.allowed_parents read the CrossOrigin
// routes. Tokens travel in the URL or the Authorization header, never in
// cookies, so no credentials are allowed.
type corsPolicy struct {
	any     bool
	parents map[string]bool // origins, lower case
}

func newCORS(parents []string) corsPolicy {
	c := corsPolicy{parents: map[string]bool{}}
	for _, p := range parents {
		if p == "*" {
			c.any = true
		}
		c.parents[strings.ToLower(p)] = true
	}
	return c
}

func (c corsPolicy) allow(h http.Header, r *http.Request, preflight bool) {
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !(c.any || c.parents[strings.ToLower(origin)]) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if preflight {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Accept, Last-Event-ID")
		h.Set("Access-Control-Max-Age", "600")
	}
}
