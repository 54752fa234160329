package access_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/embed"
)

// BenchmarkDecide is the policy's cost on the paths a request takes most:
// an ingest with a token, and a read with an embed token.
func BenchmarkDecide(b *testing.B) {
	keys, _ := embed.New(embed.Config{Secret: secret})
	tok, _, _ := keys.Mint(embed.Scope{Chart: "sales"}, time.Hour)
	p, _ := access.New(access.Config{Loopback: true, IngestTokens: []string{"ing"}, AdminTokens: []string{"adm"}, ReadToken: true, Keys: keys})
	routes := map[string]access.Route{}
	for _, rt := range access.Routes() {
		routes[rt.Key()] = rt
	}
	b.Run("ingest token", func(b *testing.B) {
		r := httptest.NewRequest("POST", "/api/v1/ingest", nil)
		r.Host = "127.0.0.1:8080"
		r.Header.Set("Authorization", "Bearer ing")
		rt := routes["POST /api/v1/ingest"]
		b.ReportAllocs()
		for b.Loop() {
			if d := p.Decide(r, rt); !d.Allowed() {
				b.Fatal(d.Message)
			}
		}
	})
	b.Run("embed token read", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/api/v1/charts/sales/frame?token="+tok, nil)
		r.Host = "127.0.0.1:8080"
		r.SetPathValue("id", "sales")
		rt := routes["GET /api/v1/charts/{id}/frame"]
		b.ReportAllocs()
		for b.Loop() {
			if d := p.Decide(r, rt); !d.Allowed() {
				b.Fatal(d.Message)
			}
		}
	})
}
