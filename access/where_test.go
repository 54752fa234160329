package access_test

import (
	"net/http/httptest"
	"testing"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/embed"
)

// The tag filters of an embed token reach the handlers in the grant, with
// auth.read token and public alike; an edited token is refused.
func TestGrantCarriesWhere(t *testing.T) {
	t.Parallel()
	keys, err := embed.New(embed.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(t, keys, embed.Scope{Chart: "sales", Where: map[string]string{"tenant": "acme"}})
	rt := route(t, "GET", "/api/v1/charts/{id}/frame")
	for name, cfg := range map[string]access.Config{
		"read token": {Loopback: true, ReadToken: true, Keys: keys},
		"public":     {Loopback: true, Keys: keys},
	} {
		p, err := access.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/charts/sales/frame?token="+tok, nil)
		r.SetPathValue("id", "sales")
		d := p.Decide(r, rt)
		if !d.Allowed() || d.Grant == nil || d.Grant.Where["tenant"] != "acme" {
			t.Errorf("%s: %+v, want a grant with where tenant=acme", name, d)
		}
	}
	// It may rewind (issue 15: the API rewinds the chart with the filter
	// in its where), and the grant that reaches the handler still carries
	// the filter: a rewound read cannot lose it.
	for name, cfg := range map[string]access.Config{
		"read token": {Loopback: true, ReadToken: true, Keys: keys},
		"public":     {Loopback: true, Keys: keys},
	} {
		p, _ := access.New(cfg)
		for _, q := range []string{"at=2026-01-01T00:00:00Z", "from=1700000000"} {
			r := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/charts/sales/frame?"+q+"&token="+tok, nil)
			r.SetPathValue("id", "sales")
			if d := p.Decide(r, rt); !d.Allowed() || d.Grant == nil || d.Grant.Where["tenant"] != "acme" {
				t.Errorf("%s, %s: %+v, want a grant with where tenant=acme", name, q, d)
			}
		}
	}
	p, _ := access.New(access.Config{Loopback: true, ReadToken: true, Keys: keys})
	r := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/charts/sales/frame?token="+tok[:len(tok)-2]+"xx", nil)
	r.SetPathValue("id", "sales")
	if d := p.Decide(r, rt); d.Status != 401 {
		t.Errorf("altered token: %+v, want 401", d)
	}
}
