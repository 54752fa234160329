package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/embed"
)

// TestTenantRewindTogether: issue 15's tag filters and rewind in one
// server. A token carries both claims (API and CLI mint them); ?at= is
// served through rewind to an unfiltered reader; a filtered token asking
// for ?at= or ?from= is served the moment filtered (the chart rewound
// with the token's where in its own), and so is a reader choosing a
// variable (?var-) with ?at=; a filtered token whose rewind claim is off
// is still refused (403).
func TestTenantRewindTogether(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
		f.Dashboards = append(tenantDashboards(), charts.Dashboard{ID: "geo", Variables: []charts.Variable{{Name: "region", Tag: "region"}}, Charts: []charts.Chart{
			{ID: "by-host", Metric: "cpu", X: "host", Agg: charts.Sum, Window: charts.Duration(time.Hour), Where: map[string]string{"region": "$region"}},
		}})
	})
	ingestJSON(t, s, `[{"metric":"usage","tags":{"tenant":"t00","host":"t00-h0","status":"ok"},"value":1},`+
		`{"metric":"usage","tags":{"tenant":"t01","host":"t01-h0","status":"ok"},"value":2},`+
		`{"metric":"cpu","tags":{"region":"eu","host":"eu-1"},"value":1},`+
		`{"metric":"cpu","tags":{"region":"us","host":"us-1"},"value":5}]`)
	at := between().UTC().Format(time.RFC3339Nano)
	// After the moment: a rewind must not show it.
	ingestJSON(t, s, `[{"metric":"usage","tags":{"tenant":"t00","host":"t00-later","status":"ok"},"value":1},`+
		`{"metric":"cpu","tags":{"region":"eu","host":"eu-later"},"value":1}]`)
	admin := []string{"Authorization", "Bearer " + testAdminToken}

	// Unfiltered: ?at= is rewind's, and shows every tenant.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body := getAt(t, s, "/api/v1/charts/usage/frame", at, admin...)
		if code == http.StatusOK && strings.Contains(body, `"at"`) && strings.Contains(body, "t00-h0") && strings.Contains(body, "t01-h0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("frame ?at= for an admin: %d %s, want the rewound frame of both tenants", code, body)
		}
	}
	if code, body := getAt(t, s, "/api/v1/charts/usage/option", at, admin...); code != http.StatusOK || !strings.Contains(body, "t01-h0") {
		t.Errorf("option ?at= for an admin: %d %s", code, body)
	}

	// Minted with both claims, both kept.
	code, m, raw := mintAPI(t, s, `{"chart":"usage","where":{"tenant":"t00"},"rewind":"1h"}`)
	if code != http.StatusCreated {
		t.Fatalf("mint: %d %s", code, raw)
	}
	k, _ := embed.New(embed.Config{Secret: testEmbedSecret})
	c, err := k.Verify(m.Token)
	if err != nil || c.Where["tenant"] != "t00" || c.Rewind != 3600 {
		t.Fatalf("minted claims %+v (%v), want where tenant=t00 and rewind 3600", c, err)
	}
	tok := "&token=" + url.QueryEscape(m.Token)
	if code, body, _ := getWith(t, s.url+"/api/v1/charts/usage/frame?x=1"+tok); code != http.StatusOK || !strings.Contains(body, "t00-h0") || strings.Contains(body, "t01-h0") {
		t.Errorf("filtered frame: %d %s, want t00's only", code, body)
	}
	for _, path := range []string{
		"/api/v1/charts/usage/frame?at=" + url.QueryEscape(at),
		"/api/v1/charts/usage/option?at=" + url.QueryEscape(at),
	} {
		body := retryBusy(t, s.url+path+tok)
		if !strings.Contains(body, "t00-h0") || strings.Contains(body, "t01") || strings.Contains(body, "t00-later") {
			t.Errorf("%s with a filtered token whose rewind claim is 1h: %s, want t00's moment only", path, body)
		}
	}
	if body := retryBusy(t, s.url+"/api/v1/charts/usage/frame?at="+url.QueryEscape(at)+tok); !strings.Contains(body, `"at"`) {
		t.Errorf("a filtered frame ?at= is not the moment's (no \"at\"): %s", body)
	}
	// A replay on the SSE stream: the moment, filtered, then live, filtered.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/stream/sse?charts=usage&speed=60&from="+url.QueryEscape(at)+tok, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE ?from= with a filtered token: %v %v", err, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	moment, live := false, false
	for sc.Scan() && !(live && strings.Contains(sc.Text(), "t00-later")) {
		line := sc.Text()
		live = live || line == "event: live"
		if strings.Contains(line, "t01") {
			t.Fatalf("SSE ?from= with t00's token shows t01: %s", line)
		}
		moment = moment || !live && strings.Contains(line, "t00-h0") && !strings.Contains(line, "t00-later")
	}
	resp.Body.Close()
	if !moment || !live {
		t.Errorf("SSE ?from= with a filtered token: the moment seen %v, live %v (%v)", moment, live, sc.Err())
	}

	// A variable's choice is the same kind of filter.
	if code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/by-host/frame?var-region=eu&at="+url.QueryEscape(at), "", admin...)); code != http.StatusOK || !strings.Contains(body, "eu-1") || strings.Contains(body, "us-1") || strings.Contains(body, "eu-later") || !strings.Contains(body, `"at"`) {
		t.Errorf("?var-region=eu&at=: %d %s, want the moment of eu-1 only", code, body)
	}

	// The rewind claim stays in force with a filter.
	_, off, _ := mintAPI(t, s, `{"chart":"usage","where":{"tenant":"t00"},"rewind":"off"}`)
	if code, body, _ := getWith(t, s.url+"/api/v1/charts/usage/frame?at="+url.QueryEscape(at)+"&token="+url.QueryEscape(off.Token)); code != http.StatusForbidden || !strings.Contains(body, "rewind") || strings.Contains(body, "t0") {
		t.Errorf("?at= with a filtered token that reads the present only: %d %s, want 403", code, body)
	}

	// The CLI mints both claims too.
	cfg := t.TempDir() + "/dashd.yaml"
	if err := os.WriteFile(cfg, []byte("auth:\n  embed_secret: "+testEmbedSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"embed-token", "--config", cfg, "--chart", "usage", "--where", "tenant=t01", "--rewind", "off"}, noEnv, &stdout, &stderr); code != 0 {
		t.Fatalf("embed-token: exit %d: %s", code, stderr.String())
	}
	if c, err := k.Verify(strings.TrimSpace(stdout.String())); err != nil || c.Where["tenant"] != "t01" || c.Rewind != -1 {
		t.Errorf("embed-token --where tenant=t01 --rewind off: claims %+v (%v)", c, err)
	}
}
