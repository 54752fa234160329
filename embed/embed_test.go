package embed_test

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/embed"
)

const secret = "0123456789abcdef0123456789abcdef"

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newKeys(t *testing.T, cfg embed.Config) (*embed.Keys, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	cfg.Now = clk.Now
	k, err := embed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k, clk
}

func TestMintThenVerify(t *testing.T) {
	k, _ := newKeys(t, embed.Config{})
	tok, claims, err := k.Mint(embed.Scope{Chart: "req"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, claims) || got.Chart != "req" || got.Expires-got.IssuedAt != 3600 || got.ID == "" {
		t.Errorf("claims = %+v, minted %+v", got, claims)
	}
	if strings.ContainsAny(tok, "+/= ") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	tok2, c2, _ := k.Mint(embed.Scope{Chart: "req"}, time.Hour)
	if tok2 == tok || c2.ID == claims.ID {
		t.Error("two tokens minted alike share an id")
	}
}

func TestVerifyRefusals(t *testing.T) {
	k, clk := newKeys(t, embed.Config{Revoked: []string{"gone"}})
	other, _ := newKeys(t, embed.Config{Secret: "another secret, long enough for HMAC"})
	good, claims, _ := k.Mint(embed.Scope{Dashboard: "web"}, time.Minute)
	foreign, _, _ := other.Mint(embed.Scope{Dashboard: "web"}, time.Minute)
	payload, sig, _ := strings.Cut(good, ".")
	// A payload changed to name another chart keeps the old signature.
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"jti":"x","chart":"secret","iat":1,"exp":99999999999}`)) + "." + sig

	tests := map[string]struct {
		token string
		want  embed.Reason
	}{
		"empty":             {"", embed.Missing},
		"no dot":            {"abc", embed.Malformed},
		"signature not b64": {payload + ".!!!", embed.Malformed},
		"foreign secret":    {foreign, embed.BadSignature},
		"forged claims":     {forged, embed.BadSignature},
		"truncated":         {good[:len(good)-1], embed.BadSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := k.Verify(tc.token)
			if got := embed.ReasonOf(err); got != tc.want {
				t.Errorf("reason = %q (%v), want %q", got, err, tc.want)
			}
		})
	}

	k.Revoke(claims.ID)
	if _, err := k.Verify(good); embed.ReasonOf(err) != embed.Revoked {
		t.Errorf("revoked at run time: %v", err)
	}

	fresh, _, _ := k.Mint(embed.Scope{Chart: "c"}, time.Minute)
	clk.Add(59 * time.Second)
	if _, err := k.Verify(fresh); err != nil {
		t.Errorf("before expiry: %v", err)
	}
	clk.Add(time.Second)
	_, err := k.Verify(fresh)
	if embed.ReasonOf(err) != embed.Expired || !strings.Contains(err.Error(), "2026-03-01T12:01:00Z") {
		t.Errorf("at expiry: %v", err)
	}
}

func TestRevokedByConfig(t *testing.T) {
	k, _ := newKeys(t, embed.Config{})
	tok, c, _ := k.Mint(embed.Scope{Chart: "c"}, time.Hour)
	k2, _ := newKeys(t, embed.Config{Revoked: []string{c.ID}})
	if _, err := k2.Verify(tok); embed.ReasonOf(err) != embed.Revoked {
		t.Errorf("a jti in Config.Revoked: %v", err)
	}
}

func TestMintRefusesBadRequests(t *testing.T) {
	k, _ := newKeys(t, embed.Config{})
	for name, tc := range map[string]struct {
		scope embed.Scope
		ttl   time.Duration
	}{
		"no scope":   {embed.Scope{}, time.Hour},
		"both":       {embed.Scope{Chart: "a", Dashboard: "b"}, time.Hour},
		"zero ttl":   {embed.Scope{Chart: "a"}, 0},
		"ttl beyond": {embed.Scope{Chart: "a"}, embed.MaxTTL + time.Second},
	} {
		if _, _, err := k.Mint(tc.scope, tc.ttl); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
}

// The secret must be at least 32 bytes, as docs/configuration.md says: one
// byte fewer is refused, with a message naming the lengths.
func TestNewSecretLength(t *testing.T) {
	t.Parallel()
	if embed.MinSecretLen != 32 {
		t.Errorf("MinSecretLen = %d, want 32", embed.MinSecretLen)
	}
	for _, short := range []string{"", "short", strings.Repeat("x", 31)} {
		_, err := embed.New(embed.Config{Secret: short})
		if err == nil {
			t.Errorf("New accepted a secret of %d bytes", len(short))
			continue
		}
		if want := fmt.Sprintf("has %d bytes, want at least 32", len(short)); !strings.Contains(err.Error(), want) {
			t.Errorf("New(%d bytes): %v, want it to say %q", len(short), err, want)
		}
		if short != "" && strings.Contains(err.Error(), short) {
			t.Errorf("New echoed the secret: %v", err)
		}
	}
	if _, err := embed.New(embed.Config{Secret: strings.Repeat("x", 32)}); err != nil {
		t.Errorf("New refused 32 bytes: %v", err)
	}
}

func TestAllows(t *testing.T) {
	dashboardOf := func(chart string) string {
		return map[string]string{"a": "web", "b": "web", "c": "ops"}[chart]
	}
	chart := embed.Claims{Chart: "a"}
	dash := embed.Claims{Dashboard: "web"}
	tests := map[string]struct {
		claims    embed.Claims
		dashboard string
		charts    []string
		ok        bool
	}{
		"chart reads itself":              {chart, "", []string{"a"}, true},
		"chart reads no other":            {chart, "", []string{"b"}, false},
		"chart reads not all of several":  {chart, "", []string{"a", "b"}, false},
		"chart does not read a dashboard": {chart, "web", nil, false},
		"dashboard reads itself":          {dash, "web", nil, true},
		"dashboard reads its charts":      {dash, "", []string{"a", "b"}, true},
		"dashboard reads no other chart":  {dash, "", []string{"a", "c"}, false},
		"dashboard reads no other":        {dash, "ops", nil, false},
		"nothing named":                   {dash, "", nil, false},
	}
	for name, tc := range tests {
		err := tc.claims.Allows(tc.dashboard, tc.charts, dashboardOf)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", name, err, tc.ok)
		}
		if err != nil && embed.ReasonOf(err) != embed.WrongScope {
			t.Errorf("%s: reason %q", name, embed.ReasonOf(err))
		}
	}
}

func TestConcurrentRevokeAndVerify(t *testing.T) {
	k, _ := newKeys(t, embed.Config{})
	tok, _, _ := k.Mint(embed.Scope{Chart: "c"}, time.Hour)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				k.Revoke(string(rune('a'+i)) + string(rune(j)))
				k.Verify(tok)
			}
		})
	}
	wg.Wait()
	if _, err := k.Verify(tok); err != nil {
		t.Error(err)
	}
}

func BenchmarkVerify(b *testing.B) {
	k, err := embed.New(embed.Config{Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, _ := k.Mint(embed.Scope{Chart: "req-by-route"}, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
