package embed_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dashd/dashd/embed"
)

func TestWhereTravelsSigned(t *testing.T) {
	t.Parallel()
	k, _ := newKeys(t, embed.Config{})
	tok, _, err := k.Mint(embed.Scope{Chart: "c", Where: map[string]string{"tenant": "acme"}}, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Verify(tok)
	if err != nil || c.Where["tenant"] != "acme" || len(c.Where) != 1 {
		t.Fatalf("Verify: %+v, %v", c, err)
	}
	// An edited filter (another tenant, or none) breaks the signature.
	payload, sig, _ := strings.Cut(tok, ".")
	body, _ := base64.RawURLEncoding.DecodeString(payload)
	for name, edit := range map[string]func(m map[string]any){
		"other tenant": func(m map[string]any) { m["where"] = map[string]string{"tenant": "globex"} },
		"removed":      func(m map[string]any) { delete(m, "where") },
	} {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		edit(m)
		b, _ := json.Marshal(m)
		forged := base64.RawURLEncoding.EncodeToString(b) + "." + sig
		if _, err := k.Verify(forged); embed.ReasonOf(err) != embed.BadSignature {
			t.Errorf("%s: Verify = %v, want bad signature", name, err)
		}
	}
}

func TestWhereBounded(t *testing.T) {
	t.Parallel()
	k, _ := newKeys(t, embed.Config{})
	tests := map[string]map[string]string{
		"too many keys": {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"},
		"empty key":     {"": "x"},
		"empty value":   {"tenant": ""},
		"long value":    {"tenant": strings.Repeat("x", embed.MaxWhereValueLen+1)},
		"long key":      {strings.Repeat("k", embed.MaxWhereKeyLen+1): "x"},
		"control":       {"tenant": "a\x00b"},
	}
	for name, where := range tests {
		if _, _, err := k.Mint(embed.Scope{Chart: "c", Where: where}, 3600e9); err == nil || !strings.Contains(err.Error(), "where") {
			t.Errorf("%s: Mint = %v, want an error about where", name, err)
		}
	}
	if _, err := embed.ParseWhere([]string{"tenant=acme", "tenant=globex"}); err == nil {
		t.Error("ParseWhere accepted a key twice")
	}
	if w, err := embed.ParseWhere([]string{"tenant=acme", "region=eu=1"}); err != nil || w["region"] != "eu=1" {
		t.Errorf("ParseWhere = %v, %v", w, err)
	}
}
