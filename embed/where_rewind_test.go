package embed_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/embed"
)

// TestWhereAndRewindTogether: a token carries both its tag filter (issue
// 15) and its reach into the past (rewind), both kept by Mint and Verify
// and both covered by the one signature.
func TestWhereAndRewindTogether(t *testing.T) {
	t.Parallel()
	k, _ := newKeys(t, embed.Config{})
	tok, _, err := k.Mint(embed.Scope{Chart: "c", Where: map[string]string{"tenant": "acme"}, Rewind: embed.NoRewind}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Where["tenant"] != "acme" || len(c.Where) != 1 || c.Rewind != -1 {
		t.Fatalf("claims: where %v, rewind %d; want tenant=acme, -1", c.Where, c.Rewind)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	body, _ := base64.RawURLEncoding.DecodeString(payload)
	for name, forged := range map[string]string{
		"another tenant": strings.Replace(string(body), `"acme"`, `"evil"`, 1),
		"a wider reach":  strings.Replace(string(body), `"rewind":-1`, `"rewind":0`, 1),
	} {
		if forged == string(body) {
			t.Fatalf("%s: the claims %s do not hold what the forgery replaces", name, body)
		}
		if _, err := k.Verify(base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig); embed.ReasonOf(err) != embed.BadSignature {
			t.Errorf("%s: got %v, want a bad signature", name, err)
		}
	}
}
