package ingest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dashd/dashd/ingest"
)

// TestRefusalMessagesAreBounded: a problem that quotes what it refuses (a
// key, a token) as long as the body is cut in the answer, which says how
// much was left out; the answer stays small whatever the body.
func TestRefusalMessagesAreBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 50_000) // 100 KB
	tests := map[string]struct{ path, body string }{
		"json unknown key":        {"/api/v1/ingest", `[{"metric":"a","value":1,"` + long + `":1}]`},
		"json time":               {"/api/v1/ingest", `[{"metric":"a","value":1,"time":"` + long + `"}]`},
		"line protocol field key": {"/write", "m " + long + "\n"},
		"prometheus value":        {"/api/v1/import/prometheus", "m " + long + "\n"},
	}
	base := server(t, &sink{}, ingest.HandlerConfig{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := do(t, base, req{path: tc.path, body: tc.body})
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if len(a.raw) > 4096 || !strings.Contains(a.raw, " bytes more)") {
				t.Fatalf("answer of %d bytes: %.300s…", len(a.raw), a.raw)
			}
		})
	}
}
