package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// mintTenantTokens mints, with --tenants N, one embed token per tenant for
// the scenario's dashboard, each with where tenant=tNNNN (issue 15), so
// that viewer i reads tenant i mod N's filtered views. None without
// --tenants.
func mintTenantTokens(ctx context.Context, client *http.Client, target string, sc scenario) ([]string, error) {
	if sc.tenants <= 0 || sc.unfiltered {
		return nil, nil
	}
	id := sc.dashboardIDs()[0]
	out := make([]string, sc.tenants)
	for i := range out {
		body, _ := json.Marshal(map[string]any{"dashboard": id, "ttl": "1h", "where": map[string]string{"tenant": tenantName(i)}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/api/v1/embed-tokens", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if sc.adminToken != "" {
			req.Header.Set("Authorization", "Bearer "+sc.adminToken)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("mint tenant %d's token: %w", i, err)
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var m struct {
			Token string `json:"token"`
		}
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &m) != nil || m.Token == "" {
			return nil, fmt.Errorf("mint tenant %d's token: POST /api/v1/embed-tokens: %s: %s (the server needs auth.embed_secret, and --admin-token)", i, resp.Status, bytes.TrimSpace(raw))
		}
		out[i] = m.Token
	}
	return out, nil
}
