package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/dashd/dashd/embed"
)

// Config is what a Policy decides with. Tokens are compared in constant
// time; the slices are copied.
type Config struct {
	IngestTokens []string // auth.ingest_tokens; none: ingest is open
	AdminTokens  []string // auth.admin_tokens (or the one generated at start)
	// AdminHint is added to a refusal that wants an admin token: where to
	// find the generated one.
	AdminHint string
	// ReadToken is auth.read: token: reads need an admin or embed token.
	ReadToken bool
	// Keys verifies embed tokens; nil when auth.embed_secret is not set.
	Keys *embed.Keys
	// DashboardOf names the dashboard a chart belongs to ("" for none), so
	// a dashboard's embed token reads its charts.
	DashboardOf func(chart string) string

	// AllowedHosts are the Host names served (allowed_hosts): "name",
	// "name:port" or "*.suffix". Empty: with Loopback, only loopback names;
	// else any.
	AllowedHosts []string
	// Loopback says dashd listens on a loopback address only.
	Loopback bool
	// TrustedOrigins may make state-changing requests from a browser
	// (embed.allowed_parents that name an origin).
	TrustedOrigins []string
}

// Policy decides who may call which route. Make it with New.
type Policy struct {
	ingest, admin [][sha256.Size]byte
	adminHint     string
	readToken     bool
	keys          *embed.Keys
	dashboardOf   func(string) string
	hosts         hostList
	csrf          *http.CrossOriginProtection
}

// New returns the Policy of cfg, or an error naming a trusted origin that is
// not an origin.
func New(cfg Config) (*Policy, error) {
	p := &Policy{
		ingest:      hashAll(cfg.IngestTokens),
		admin:       hashAll(cfg.AdminTokens),
		adminHint:   cfg.AdminHint,
		readToken:   cfg.ReadToken,
		keys:        cfg.Keys,
		dashboardOf: cfg.DashboardOf,
		hosts:       newHostList(cfg.AllowedHosts, cfg.Loopback),
		csrf:        http.NewCrossOriginProtection(),
	}
	for _, o := range cfg.TrustedOrigins {
		if err := p.csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("access: trusted origin %q: %w", o, err)
		}
	}
	return p, nil
}

func hashAll(tokens []string) [][sha256.Size]byte {
	out := make([][sha256.Size]byte, 0, len(tokens))
	for _, t := range tokens {
		out = append(out, sha256.Sum256([]byte(t)))
	}
	return out
}

// Decision is the Policy's answer for one request. Status 0 means allowed.
type Decision struct {
	Status  int    // the refusal's HTTP status; 0 when allowed
	Reason  string // a word for programs: "forbidden_host", "cross_origin", "unauthorized", "forbidden", or an embed token's reason
	Message string // what is wrong and what to do, for people
	// Challenge is the WWW-Authenticate header of a 401.
	Challenge string
	// Grant is the embed token that allowed a read, if one did: a stream it
	// opens ends when the token expires or is revoked (Leases).
	Grant *embed.Claims
}

// Allowed reports whether the request may pass.
func (d Decision) Allowed() bool { return d.Status == 0 }

func refuse(status int, reason, msg string) Decision {
	return Decision{Status: status, Reason: reason, Message: msg}
}

// Decide says whether r may call rt. Path values are read with
// r.PathValue, so the caller sets them before. It writes nothing.
func (p *Policy) Decide(r *http.Request, rt Route) Decision {
	if !p.hosts.allows(r.Host) {
		return refuse(http.StatusMisdirectedRequest, "forbidden_host",
			fmt.Sprintf("dashd does not serve the host %q: add it to allowed_hosts in the configuration (on a loopback address only localhost, 127.0.0.1 and [::1] are served by default, which stops DNS rebinding)", r.Host))
	}
	if err := p.csrf.Check(r); err != nil {
		return refuse(http.StatusForbidden, "cross_origin",
			fmt.Sprintf("a browser page of another origin (%q) may not change anything here: call dashd from a server or a script (curl, a client library), or list that page's origin in embed.allowed_parents", r.Header.Get("Origin")))
	}
	switch rt.Class {
	case Public:
		return Decision{}
	case Read:
		return p.read(r, rt)
	case Ingest:
		if len(p.ingest) == 0 {
			return Decision{}
		}
		return p.needToken(r, rt, p.ingest, "an ingest token", "auth.ingest_tokens")
	case Push:
		if len(p.ingest) == 0 {
			return p.needAdmin(r, rt, "setting chart data")
		}
		return p.needToken(r, rt, p.ingest, "an ingest token", "auth.ingest_tokens")
	case Admin:
		return p.needAdmin(r, rt, "this")
	}
	return refuse(http.StatusForbidden, "forbidden", fmt.Sprintf("%s %s has no access class, so nobody may call it", rt.Method, rt.Path))
}

// needAdmin allows an admin token only.
func (p *Policy) needAdmin(r *http.Request, rt Route, what string) Decision {
	if len(p.admin) == 0 {
		return refuse(http.StatusForbidden, "forbidden",
			what+" needs an admin token, and none is configured: set auth.admin_tokens")
	}
	d := p.needToken(r, rt, nil, "an admin token", "auth.admin_tokens")
	if !d.Allowed() && p.adminHint != "" {
		d.Message += " (" + p.adminHint + ")"
	}
	return d
}

// needToken allows one of tokens, or an admin token.
func (p *Policy) needToken(r *http.Request, rt Route, tokens [][sha256.Size]byte, what, setting string) Decision {
	got, ok := credential(r, rt.Dialect)
	if ok && (matches(got, tokens) || matches(got, p.admin)) {
		return Decision{}
	}
	want := "the header 'Authorization: Bearer <token>'"
	scheme := "Bearer"
	if rt.Dialect == Influx {
		want = "the header 'Authorization: Token <token>' (or Bearer; InfluxDB 1.x clients may send it as the password)"
		scheme = "Token"
	}
	msg := fmt.Sprintf("%s %s needs %s: send %s with a token from %s", rt.Method, rt.Path, what, want, setting)
	if ok {
		msg = "the token is not valid here; " + msg
	}
	d := refuse(http.StatusUnauthorized, "unauthorized", msg)
	d.Challenge = scheme + ` realm="dashd"`
	return d
}

// read allows a read: anyone with auth.read: public; else an admin token,
// or an embed token whose scope covers the target.
//
// With auth.read: public, an embed token that verifies and carries tag
// filters (issue 15) is still a grant: whoever sends one sees only what it
// filters to, though anyone may read the whole chart without it.
func (p *Policy) read(r *http.Request, rt Route) Decision {
	if !p.readToken {
		return p.publicGrant(r)
	}
	tok := readToken(r)
	if tok != "" && matches(tok, p.admin) {
		return Decision{}
	}
	var dashboard string
	var charts []string
	switch rt.Target {
	case DashboardParam:
		dashboard = r.PathValue("id")
	case ChartParam:
		id := r.PathValue("id")
		if id == "" {
			id = r.PathValue("chart")
		}
		charts = []string{id}
	case StreamQuery:
		q := r.URL.Query()
		dashboard, charts = q.Get("dashboard"), SplitList(q.Get("charts"))
	}
	if p.keys == nil {
		if tok == "" {
			return p.tokenRefusal(&embed.Error{Reason: embed.Missing, Message: "reading needs a token (auth.read is token): send an admin token as ?token=… or 'Authorization: Bearer …'"})
		}
		return p.tokenRefusal(&embed.Error{Reason: embed.BadSignature, Message: "the token is not an admin token, and embed tokens are off (auth.embed_secret is empty)"})
	}
	claims, err := p.keys.Verify(tok)
	if err == nil && rt.Target != AnyReader {
		err = claims.Allows(dashboard, charts, p.dashboardOf)
	}
	if err != nil {
		return p.tokenRefusal(err)
	}
	return filteredGrant(&claims)
}

// filteredGrant is the decision for a read granted by claims. A token
// with tag filters may rewind (?at=, ?from=) as far as its rewind claim
// reaches, like any embed token: the API rewinds the chart with the
// filter in its where (api.narrowSet), so a rewound read is filtered as
// a live one is.
func filteredGrant(claims *embed.Claims) Decision {
	return Decision{Grant: claims}
}

// publicGrant is the grant of a filtered embed token sent to a public
// read, or no grant.
func (p *Policy) publicGrant(r *http.Request) Decision {
	tok := readToken(r)
	if p.keys == nil || tok == "" {
		return Decision{}
	}
	claims, err := p.keys.Verify(tok)
	if err != nil || len(claims.Where) == 0 {
		return Decision{}
	}
	return filteredGrant(&claims)
}

func (p *Policy) tokenRefusal(err error) Decision {
	reason := string(embed.ReasonOf(err))
	d := refuse(http.StatusUnauthorized, reason, err.Error())
	d.Challenge = fmt.Sprintf(`Bearer realm="dashd", error="invalid_token", error_description=%q`, reason)
	return d
}

// matches reports whether tok is one of hashed, in constant time.
func matches(tok string, hashed [][sha256.Size]byte) bool {
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for i := range hashed {
		match |= subtle.ConstantTimeCompare(sum[:], hashed[i][:])
	}
	return match == 1
}

// credential is the token a write presents: "Authorization: Bearer", and
// for the InfluxDB routes also "Token", basic auth's password or the 1.x
// query parameter p. Tokens in the URL are not taken for other writes: URLs
// end up in logs.
func credential(r *http.Request, d Dialect) (string, bool) {
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		return rest, true
	case d != Influx:
		return "", false
	case strings.EqualFold(scheme, "Token") && rest != "":
		return rest, true
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		_, pass, ok := strings.Cut(string(raw), ":")
		return pass, ok && pass != ""
	}
	if pw := r.URL.Query().Get("p"); pw != "" {
		return pw, true
	}
	return "", false
}

// readToken is the token a read carries: ?token= (pages, iframes, the
// WebSocket and EventSource, which cannot set headers) or Bearer.
func readToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// SplitList splits "a,b, c" into its non-empty trimmed items.
func SplitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// hostList is the allowed_hosts check.
type hostList struct {
	any      bool
	loopback bool        // the default on a loopback address
	entries  []hostEntry // allowed_hosts
}

// hostEntry is one entry of allowed_hosts: a name (lower case, IPv6
// without brackets), or a suffix for "*.name", and a port ("" for any).
type hostEntry struct {
	name     string
	wildcard bool
	port     string
}

func newHostList(allowed []string, loopback bool) hostList {
	if len(allowed) == 0 {
		return hostList{any: !loopback, loopback: loopback}
	}
	var h hostList
	for _, a := range allowed {
		name, port := splitHost(strings.ToLower(strings.TrimSpace(a)))
		e := hostEntry{name: name, port: port}
		if s, ok := strings.CutPrefix(name, "*."); ok {
			e.name, e.wildcard = "."+s, true
		}
		h.entries = append(h.entries, e)
	}
	return h
}

// splitHost splits "name", "name:port", "[v6]" or "[v6]:port" into a name
// without brackets and a port ("" when none).
func splitHost(host string) (name, port string) {
	if n, p, err := net.SplitHostPort(host); err == nil {
		return n, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ""
}

// allows reports whether host (a Host header) is served. An entry without
// a port matches the name on any port.
func (h hostList) allows(host string) bool {
	if h.any {
		return true
	}
	name, port := splitHost(strings.ToLower(host))
	if name == "" {
		return false
	}
	if h.loopback {
		if ip := net.ParseIP(name); ip != nil {
			return ip.IsLoopback()
		}
		return name == "localhost" || strings.HasSuffix(name, ".localhost")
	}
	for _, e := range h.entries {
		if e.port != "" && e.port != port {
			continue
		}
		if name == e.name || (e.wildcard && strings.HasSuffix(name, e.name)) {
			return true
		}
	}
	return false
}
