package embed

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"
)

// MinSecretLen is the shortest secret New accepts, in bytes: 32 bytes is
// the output size of SHA-256, so an HMAC-SHA256 key shorter than that is the
// weakest link. `openssl rand -hex 32` gives 64 characters.
const MinSecretLen = 32

// MaxTTL is the longest lifetime Mint gives a token.
const MaxTTL = 366 * 24 * time.Hour

// version is the claims format; a token of another version is malformed.
const version = 1

// Claims is what a token grants.
type Claims struct {
	Version   int    `json:"v"`
	ID        string `json:"jti"`
	Chart     string `json:"chart,omitempty"`
	Dashboard string `json:"dashboard,omitempty"`
	IssuedAt  int64  `json:"iat"`
	Expires   int64  `json:"exp"`
	// Where are tag filters every read made with the token applies, on top
	// of each chart's own where (issue 15: one chart, many tenants). The
	// signature covers them; CheckWhere bounds them.
	Where map[string]string `json:"where,omitempty"`
	// Rewind bounds reading past moments (rewind): absent or 0, any
	// moment the log retains; -1, none (live only); N > 0, at most N
	// seconds back from now.
	Rewind int64 `json:"rewind,omitempty"`
}

// NoRewind is Scope.Rewind for a token that reads the present only.
const NoRewind time.Duration = -1

// Reach says how far back into the past the token reads at now: ok is
// false when it reads the present only; a zero earliest means any moment
// the log retains.
func (c Claims) Reach(now time.Time) (earliest time.Time, ok bool) {
	switch {
	case c.Rewind < 0:
		return time.Time{}, false
	case c.Rewind == 0:
		return time.Time{}, true
	}
	return now.Add(-time.Duration(c.Rewind) * time.Second), true
}

// ExpiresAt is the moment the token stops being valid.
func (c Claims) ExpiresAt() time.Time { return time.Unix(c.Expires, 0) }

// Scope is what a token names: one chart or one dashboard, the tag filters
// its reads are held to (none: the whole chart), and how far back it may
// rewind them.
type Scope struct {
	Chart     string
	Dashboard string
	Where     map[string]string
	// Rewind: 0, any moment the log retains; NoRewind (or any negative),
	// the present only; positive, at most that far back (whole seconds,
	// rounded up).
	Rewind time.Duration
}

func (s Scope) String() string {
	if s.Chart != "" {
		return fmt.Sprintf("chart %q", s.Chart)
	}
	return fmt.Sprintf("dashboard %q", s.Dashboard)
}

// Reason is why a token was refused.
type Reason string

// The reasons Verify and Check give.
const (
	Missing      Reason = "missing"
	Malformed    Reason = "malformed"
	BadSignature Reason = "bad signature"
	Expired      Reason = "expired"
	Revoked      Reason = "revoked"
	WrongScope   Reason = "wrong scope"
)

// Error is a refused token: its Reason, and a message a user can act on.
type Error struct {
	Reason  Reason
	Message string
}

func (e *Error) Error() string { return "embed token " + string(e.Reason) + ": " + e.Message }

// ReasonOf returns the Reason of an *Error in err's chain, or "".
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Config is what New needs.
type Config struct {
	// Secret signs and checks tokens (auth.embed_secret), at least
	// MinSecretLen bytes.
	Secret string
	// Revoked lists token ids (jti) refused whatever their signature says.
	Revoked []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Keys mints and verifies tokens with one secret.
type Keys struct {
	secret []byte
	now    func() time.Time

	mu      sync.RWMutex
	revoked map[string]bool
}

// New returns Keys for cfg, or an error if the secret is too short.
func New(cfg Config) (*Keys, error) {
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("embed: the secret has %d bytes, want at least %d (set auth.embed_secret, e.g. to the output of `openssl rand -hex 32`)", len(cfg.Secret), MinSecretLen)
	}
	k := &Keys{secret: []byte(cfg.Secret), now: cfg.Now, revoked: map[string]bool{}}
	if k.now == nil {
		k.now = time.Now
	}
	for _, id := range cfg.Revoked {
		k.revoked[id] = true
	}
	return k, nil
}

// Mint returns a new token for scope, valid for ttl from now, and its claims.
func (k *Keys) Mint(scope Scope, ttl time.Duration) (string, Claims, error) {
	if (scope.Chart == "") == (scope.Dashboard == "") {
		return "", Claims{}, errors.New("embed: name exactly one chart or one dashboard")
	}
	if err := CheckWhere(scope.Where); err != nil {
		return "", Claims{}, fmt.Errorf("embed: %w", err)
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", Claims{}, fmt.Errorf("embed: ttl %s is out of range (expected more than 0 and at most %s)", ttl, MaxTTL)
	}
	var id [9]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Claims{}, fmt.Errorf("embed: token id: %w", err)
	}
	now := k.now()
	c := Claims{
		Version: version, ID: hex.EncodeToString(id[:]),
		Chart: scope.Chart, Dashboard: scope.Dashboard,
		IssuedAt: now.Unix(), Expires: now.Add(ttl).Unix(),
	}
	if len(scope.Where) > 0 {
		c.Where = maps.Clone(scope.Where)
	}
	switch {
	case scope.Rewind < 0:
		c.Rewind = -1
	case scope.Rewind > 0:
		c.Rewind = int64((scope.Rewind + time.Second - 1) / time.Second)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(k.sign(payload)), c, nil
}

func (k *Keys) sign(payload string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Verify checks token's signature, expiry and revocation and returns its
// claims, or an *Error saying why it is refused.
func (k *Keys) Verify(token string) (Claims, error) {
	if token == "" {
		return Claims{}, &Error{Missing, "no token was sent (add ?token=… or the header 'Authorization: Bearer …')"}
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, &Error{Malformed, "it is not two parts joined by a dot"}
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return Claims{}, &Error{Malformed, "its signature is not base64url"}
	}
	if !hmac.Equal(mac, k.sign(payload)) {
		return Claims{}, &Error{BadSignature, "it was not signed with this server's auth.embed_secret (altered, or minted elsewhere)"}
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Claims{}, &Error{Malformed, "its claims are not base64url"}
	}
	var c Claims
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Version != version || c.ID == "" || (c.Chart == "") == (c.Dashboard == "") || CheckWhere(c.Where) != nil || c.Rewind < -1 {
		return Claims{}, &Error{Malformed, "its claims are not those of a version 1 embed token"}
	}
	if now := k.now(); !now.Before(c.ExpiresAt()) {
		return Claims{}, &Error{Expired, fmt.Sprintf("it expired at %s; mint a new one", c.ExpiresAt().UTC().Format(time.RFC3339))}
	}
	if k.IsRevoked(c.ID) {
		return Claims{}, &Error{Revoked, fmt.Sprintf("token %s was revoked", c.ID)}
	}
	return c, nil
}

// Revoke refuses the token with id jti from now until the process ends.
func (k *Keys) Revoke(jti string) {
	k.mu.Lock()
	k.revoked[jti] = true
	k.mu.Unlock()
}

// IsRevoked reports whether the token with id jti is revoked.
func (k *Keys) IsRevoked(jti string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.revoked[jti]
}

// Allows reports whether c grants reading every chart in charts (a request
// naming several charts needs all of them), or the dashboard named.
// dashboardOf says which dashboard a chart belongs to ("" for none), so that a
// dashboard's token also reads each of its charts. A nil error means allowed.
func (c Claims) Allows(dashboard string, charts []string, dashboardOf func(chart string) string) error {
	scope := Scope{Chart: c.Chart, Dashboard: c.Dashboard}
	refuse := func(what string) error {
		return &Error{WrongScope, fmt.Sprintf("it reads %s only, not %s", scope, what)}
	}
	if dashboard != "" && dashboard != c.Dashboard {
		return refuse(fmt.Sprintf("dashboard %q", dashboard))
	}
	for _, id := range charts {
		if id == c.Chart {
			continue
		}
		if c.Dashboard != "" && dashboardOf != nil && dashboardOf(id) == c.Dashboard {
			continue
		}
		return refuse(fmt.Sprintf("chart %q", id))
	}
	if dashboard == "" && len(charts) == 0 {
		return refuse("this resource")
	}
	return nil
}
