package embed_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/embed"
)

// TestRewindReach: a token carries how far back it may rewind, signed with
// the rest of its claims; a token minted without saying reads any moment
// the log retains, and an older token (no rewind claim) reads the same.
func TestRewindReach(t *testing.T) {
	t.Parallel()
	k, clk := newKeys(t, embed.Config{})
	now := clk.Now()
	tests := map[string]struct {
		rewind   time.Duration
		earliest time.Time // zero: any moment retained
		ok       bool
	}{
		"unsaid: within retention": {0, time.Time{}, true},
		"live only":                {embed.NoRewind, time.Time{}, false},
		"any negative: live only":  {-time.Hour, time.Time{}, false},
		"an hour back":             {time.Hour, now.Add(-time.Hour), true},
		"rounded up to a second":   {1500 * time.Millisecond, now.Add(-2 * time.Second), true},
	}
	for name, tc := range tests {
		tok, _, err := k.Mint(embed.Scope{Dashboard: "web", Rewind: tc.rewind}, time.Hour)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := k.Verify(tok)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		earliest, ok := c.Reach(now)
		if ok != tc.ok || !earliest.Equal(tc.earliest) {
			t.Errorf("%s: Reach = %s, %v; want %s, %v", name, earliest, ok, tc.earliest, tc.ok)
		}
	}
}

// TestRewindClaimIsSigned: widening a token's reach breaks its signature.
func TestRewindClaimIsSigned(t *testing.T) {
	t.Parallel()
	k, _ := newKeys(t, embed.Config{})
	tok, _, err := k.Mint(embed.Scope{Chart: "c", Rewind: embed.NoRewind}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	body, _ := base64.RawURLEncoding.DecodeString(payload)
	wider := []byte(strings.Replace(string(body), `"rewind":-1`, `"rewind":0`, 1))
	forged := base64.RawURLEncoding.EncodeToString(wider) + "." + sig
	if _, err := k.Verify(forged); embed.ReasonOf(err) != embed.BadSignature {
		t.Errorf("a widened reach: got %v, want a bad signature", err)
	}
}
