package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/embed"
)

// The tenant tag is in every category and series name ("t07-h1",
// "t07-s"), so a leak shows as a string; each tenant's values are
// multiples of its own number, so a leaked value shows in a sum.
var tenantMark = regexp.MustCompile(`t\d\d-`)

const leakTenants = 50

func tenantDashboards() []charts.Dashboard {
	return []charts.Dashboard{{ID: "saas", Title: "Usage", Charts: []charts.Chart{
		{ID: "usage", Title: "Usage by host", Type: charts.Stacked, Metric: "usage", X: "host", Series: "status", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
	}}}
}

// tenantSamples is a round of samples: two per tenant, worth (i+1) each.
func tenantSamples(round int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range leakTenants {
		for h := range 2 {
			if b.Len() > 1 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"metric":"usage","tags":{"tenant":"t%02d","host":"t%02d-h%d","status":"t%02d-s%d"},"value":%d}`, i, i, (round+h)%3, i, h, i+1)
		}
	}
	b.WriteString("]")
	return b.String()
}

// checkTenant fails if body (a frame, an option, a page, a stream message)
// names another tenant than i; if it is a frame with data, it returns the
// sum of its values.
func checkTenant(t *testing.T, where string, i int, body string) float64 {
	t.Helper()
	own := fmt.Sprintf("t%02d-", i)
	for _, m := range tenantMark.FindAllString(body, -1) {
		if m != own {
			t.Fatalf("LEAK on %s: tenant %d received %q: %.300s", where, i, m, body)
		}
	}
	var f frame
	if json.Unmarshal([]byte(body), &f) != nil {
		return 0
	}
	sum := 0.0
	for _, fr := range append([]frame{f}, f.Frames...) {
		for _, s := range fr.Series {
			for _, d := range s.Data {
				if d != nil {
					sum += *d
				}
			}
		}
	}
	return sum
}

// tenantServer is a node of the leak test: reads need a token.
func tenantServer(t *testing.T, natsURL string) (*server, func()) {
	return startStoppable(t, func(f *config.File) {
		f.NATS.URL = natsURL
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
		f.Dashboards = nil // through the API, so that it can be edited
	})
}

// wsTenant reads a filtered WebSocket until a frame sums to want, checking
// every message on the way.
func wsTenant(t *testing.T, conn *websocket.Conn, i int, want float64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_ = conn.SetReadDeadline(deadline)
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("tenant %d: WebSocket: %v (waiting for a sum of %v)", i, err, want)
		}
		if checkTenant(t, "WebSocket", i, string(msg)) == want {
			return
		}
	}
}

func TestTenantLeak(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	a, stopA := tenantServer(t, ns.ClientURL())
	b, _ := tenantServer(t, ns.ClientURL())
	put := func(d charts.Dashboard) {
		t.Helper()
		def, _ := json.Marshal(d)
		if code, body := do(t, mustRequest(t, http.MethodPut, a.url+"/api/v1/dashboards/saas", string(def), "Authorization", "Bearer "+testAdminToken)); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("PUT: %d %s", code, body)
		}
		want, _ := a.board.Dashboard("saas")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if got, ok := b.board.Dashboard("saas"); ok && got.Version() == want.Version() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the dashboard never reached node b")
			}
		}
	}
	put(tenantDashboards()[0])
	ingest := func(round int) {
		t.Helper()
		if code, body := post(t, a.url+"/api/v1/ingest", "application/json", tenantSamples(round)); code != http.StatusOK {
			t.Fatalf("ingest: %d %s", code, body)
		}
	}
	ingest(0)
	ingest(1)

	tokens := make([]string, leakTenants)
	for i := range tokens {
		code, m, raw := mintAPI(t, a, fmt.Sprintf(`{"chart":"usage","ttl":"1h","where":{"tenant":"t%02d"}}`, i))
		if code != http.StatusCreated {
			t.Fatalf("mint: %d %s", code, raw)
		}
		tokens[i] = m.Token
	}
	dashTok := make([]string, 5)
	for i := range dashTok {
		_, m, _ := mintAPI(t, a, fmt.Sprintf(`{"dashboard":"saas","where":{"tenant":"t%02d"}}`, i))
		dashTok[i] = m.Token
	}
	sumAfter := func(i, rounds int) float64 { return float64(2 * (i + 1) * rounds) }

	// Every read path, on the node that took the samples and on another.
	readAll := func(t *testing.T, s *server, i, rounds int) {
		tok := tokens[i]
		want := sumAfter(i, rounds)
		for _, path := range []string{"/api/v1/charts/usage/frame", "/api/v1/charts/usage/option", "/embed/usage", "/api/v1/charts/usage"} {
			var code int
			var body string
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				code, body, _ = getWith(t, s.url+path+"?token="+tok)
				if code != http.StatusOK {
					t.Fatalf("tenant %d: GET %s: %d %s", i, path, code, body)
				}
				got := checkTenant(t, path, i, body)
				if !strings.HasSuffix(path, "/frame") || got == want || time.Now().After(deadline) {
					if strings.HasSuffix(path, "/frame") && got != want {
						t.Fatalf("tenant %d: frame sums to %v, want %v: %s", i, got, want, body)
					}
					break
				}
			}
			if strings.HasSuffix(path, "/option") && !strings.Contains(body, fmt.Sprintf("t%02d-", i)) {
				t.Fatalf("tenant %d: option without its own data: %.300s", i, body)
			}
		}
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=usage&token="+tok, nil)
		if err != nil {
			t.Fatalf("tenant %d: dial: %v %v", i, err, resp)
		}
		defer conn.Close()
		wsTenant(t, conn, i, want)

		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/stream/sse?charts=usage&token="+tok, nil)
		sse, err := http.DefaultClient.Do(req)
		if err != nil || sse.StatusCode != http.StatusOK {
			t.Fatalf("tenant %d: SSE: %v %v", i, err, sse)
		}
		defer sse.Body.Close()
		sc := bufio.NewScanner(sse.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && checkTenant(t, "SSE", i, data) == want {
				break
			}
		}
	}
	check := func(t *testing.T, rounds int, nodes ...*server) {
		var wg sync.WaitGroup
		for _, s := range nodes {
			for i := range leakTenants {
				wg.Go(func() { readAll(t, s, i, rounds) })
			}
		}
		wg.Wait()
	}
	check(t, 2, a, b)
	at := between().UTC().Format(time.RFC3339Nano) // two rounds in, on every node

	// A dashboard token with a filter: every chart of the dashboard's
	// stream is filtered.
	for i, tok := range dashTok {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+b.Addr()+"/api/v1/stream?dashboard=saas&token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		wsTenant(t, conn, i, sumAfter(i, 2))
		conn.Close()
	}

	// Viewers that stay open through an edit of the dashboard and more
	// samples see only their tenant, before and after.
	open := make([]*websocket.Conn, 10)
	for i := range open {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+b.Addr()+"/api/v1/stream?charts=usage&token="+tokens[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wsTenant(t, conn, i, sumAfter(i, 2))
		open[i] = conn
	}
	edited := tenantDashboards()
	edited[0].Charts[0].Type = charts.Grouped
	edited[0].Charts[0].Title = "Usage, edited"
	put(edited[0])
	ingest(2)
	for i, conn := range open {
		wsTenant(t, conn, i, sumAfter(i, 3))
	}
	check(t, 3, a, b)

	// Rewind (issue 15 with issue 14): the moment of two rounds, read
	// after the third, through every rewound read path, on a node that did
	// not take the samples.
	rewindAll := func(t *testing.T, s *server, i int) {
		tok := "token=" + tokens[i]
		want := sumAfter(i, 2)
		for _, path := range []string{"/api/v1/charts/usage/frame", "/api/v1/charts/usage/option"} {
			body := retryBusy(t, s.url+path+"?at="+url.QueryEscape(at)+"&"+tok)
			got := checkTenant(t, path+"?at=", i, body)
			switch {
			case strings.HasSuffix(path, "/frame") && (got != want || !strings.Contains(body, `"at"`)):
				t.Fatalf("tenant %d: frame ?at= sums to %v, want %v (the moment's): %s", i, got, want, body)
			case strings.HasSuffix(path, "/option") && !strings.Contains(body, fmt.Sprintf("t%02d-", i)):
				t.Fatalf("tenant %d: option ?at= without its own data: %.300s", i, body)
			}
		}
		// WebSocket replay: the moment's frame first, never another
		// tenant's, then "live".
		var conn *websocket.Conn
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Duration(10+i) * time.Millisecond) {
			c, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=usage&speed=60&from="+url.QueryEscape(at)+"&"+tok, nil)
			if err == nil {
				conn = c
				break
			}
			if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
				t.Fatalf("tenant %d: replay dial: %v %v", i, err, resp)
			}
		}
		defer conn.Close()
		sawMoment := false
		for {
			_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, msg, err := conn.ReadMessage()
			if err != nil {
				if !sawMoment || !strings.Contains(err.Error(), "live") {
					t.Fatalf("tenant %d: replay ended with %v, moment seen: %v", i, err, sawMoment)
				}
				break
			}
			if checkTenant(t, "WebSocket ?from=", i, string(msg)) == want {
				sawMoment = true
			}
		}
		// SSE replay: the same, then live in the same response, filtered.
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Duration(10+i) * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/stream/sse?charts=usage&speed=60&from="+url.QueryEscape(at)+"&"+tok, nil)
			sse, err := http.DefaultClient.Do(req)
			if err == nil && sse.StatusCode == http.StatusTooManyRequests && time.Now().After(deadline) == false {
				sse.Body.Close()
				cancel()
				continue
			}
			if err != nil || sse.StatusCode != http.StatusOK {
				cancel()
				t.Fatalf("tenant %d: SSE replay: %v %v", i, err, sse)
			}
			sc := bufio.NewScanner(sse.Body)
			sawMoment, live := false, false
			for sc.Scan() {
				line := sc.Text()
				if line == "event: live" {
					live = true
				}
				data, ok := strings.CutPrefix(line, "data: ")
				if !ok {
					continue
				}
				sum := checkTenant(t, "SSE ?from=", i, data)
				sawMoment = sawMoment || !live && sum == want
				if live && sum == sumAfter(i, 3) {
					break
				}
			}
			sse.Body.Close()
			cancel()
			if !sawMoment || !live {
				t.Fatalf("tenant %d: SSE replay: the moment seen %v, live %v (%v)", i, sawMoment, live, sc.Err())
			}
			break
		}
	}
	rewindCheck := func(t *testing.T, s *server) {
		// Ten tenants at once: the rewinder runs one rewind at a time on
		// two cores (429 to the others, which retry), so fifty would only
		// test patience.
		var wg sync.WaitGroup
		for i := 0; i < leakTenants; i += leakTenants / 10 {
			wg.Go(func() { rewindAll(t, s, i) })
		}
		wg.Wait()
	}
	rewindCheck(t, b)

	// A restart: the filtered views are made again, from the log.
	stopA()
	a2, _ := tenantServer(t, ns.ClientURL())
	check(t, 3, a2)
	rewindCheck(t, a2)

	// The filter cannot be edited away, nor rewound around.
	payload, sig, _ := strings.Cut(tokens[3], ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"t03"`, `"t04"`, 1))) + "." + sig
	if code, body, _ := getWith(t, a2.url+"/api/v1/charts/usage/frame?token="+forged); code != http.StatusUnauthorized {
		t.Errorf("an edited filter: %d %s, want 401", code, body)
	}
	// A filtered token's rewind claim stays in force.
	_, off, _ := mintAPI(t, a2, `{"chart":"usage","where":{"tenant":"t03"},"rewind":"off"}`)
	if code, body, _ := getWith(t, a2.url+"/api/v1/charts/usage/frame?at="+url.QueryEscape(at)+"&token="+off.Token); code != http.StatusForbidden || !strings.Contains(body, "rewind") || tenantMark.MatchString(body) {
		t.Errorf("?at= with a filtered token that reads the present only: %d %s, want 403", code, body)
	}
}

// retryBusy GETs url until it is not 429 (the rewinder's bounds: a rewind
// of a filtered reader counts against them like any other), and fails
// unless the answer is 200.
func retryBusy(t *testing.T, url string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(15 * time.Millisecond) {
		code, body, _ := getWith(t, url)
		if code == http.StatusOK {
			return body
		}
		if code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s", url, code, body)
		}
	}
}

// Minting with where, through the API and the command, and the bound on
// filtered views: a clear 429 with Retry-After.
func TestTenantMintAndLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
		f.Dashboards = tenantDashboards()
		f.Embed.MaxFilteredViews = 2
	})
	for name, body := range map[string]string{
		"too many tags": `{"chart":"usage","where":{"a":"1","b":"2","c":"3","d":"4","e":"5"}}`,
		"empty value":   `{"chart":"usage","where":{"tenant":""}}`,
		"not strings":   `{"chart":"usage","where":{"tenant":7}}`,
	} {
		if code, _, raw := mintAPI(t, s, body); code != http.StatusBadRequest || !strings.Contains(raw, "where") {
			t.Errorf("%s: %d %s, want 400 naming where", name, code, raw)
		}
	}
	var toks []string
	for i := range 3 {
		code, m, raw := mintAPI(t, s, fmt.Sprintf(`{"chart":"usage","where":{"tenant":"t%02d"}}`, i))
		if code != http.StatusCreated || !strings.Contains(raw, fmt.Sprintf(`"where":{"tenant":"t%02d"}`, i)) {
			t.Fatalf("mint: %d %s", code, raw)
		}
		toks = append(toks, m.Token)
	}
	for _, tok := range toks[:2] {
		if code, body, _ := getWith(t, s.url+"/api/v1/charts/usage/frame?token="+tok); code != http.StatusOK {
			t.Fatalf("frame: %d %s", code, body)
		}
	}
	code, body, h := getWith(t, s.url+"/api/v1/charts/usage/frame?token="+toks[2])
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "embed.max_filtered_views") {
		t.Errorf("past the limit: %d %s %v, want 429 with Retry-After naming embed.max_filtered_views", code, body, h)
	}
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?charts=usage&token="+toks[2], nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("WebSocket past the limit: %v %v, want 429", err, resp)
	}
	if st := s.board.Stats(); st.FilteredViews != 2 || st.FilteredRefused != 2 {
		t.Errorf("stats: %d filtered views, %d refused; want 2 and 2", st.FilteredViews, st.FilteredRefused)
	}
	if _, body, _ := getWith(t, s.url+"/metrics"); !strings.Contains(body, "dashd_filtered_views 2") || !strings.Contains(body, "dashd_filtered_views_refused_total 2") {
		t.Error("/metrics lacks dashd_filtered_views 2 or dashd_filtered_views_refused_total 2")
	}

	dir := t.TempDir()
	cfg := dir + "/dashd.yaml"
	if err := os.WriteFile(cfg, []byte("auth:\n  embed_secret: "+testEmbedSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"embed-token", "--config", cfg, "--chart", "usage", "--where", "tenant=acme", "--where", "region=eu", "--ttl", "1h"}, noEnv, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	k, _ := embed.New(embed.Config{Secret: testEmbedSecret})
	c, err := k.Verify(strings.TrimSpace(stdout.String()))
	if err != nil || c.Where["tenant"] != "acme" || c.Where["region"] != "eu" || len(c.Where) != 2 {
		t.Errorf("claims %+v, %v", c, err)
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"embed-token", "--config", cfg, "--chart", "usage", "--where", "tenant"}, noEnv, &stdout, &stderr); code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), "key=value") {
		t.Errorf("--where tenant: exit %d, %q", code, stderr.String())
	}
}

// A tenant embed on another origin: the host page's <dashd-chart> holds
// acme's token, its iframe globex's; each draws its tenant's bars live and
// never the other's.
func TestBrowserTenantEmbedsOnAnotherOrigin(t *testing.T) {
	host := newHostPage(t)
	s := tokenReadServer(t, host.origin)
	host.serve(t, s.url)
	_, frameTok, _ := mintAPI(t, s, `{"chart":"req-by-route","where":{"tenant":"globex"}}`)
	_, elTok, _ := mintAPI(t, s, `{"chart":"req-by-route","where":{"tenant":"acme"}}`)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(host.origin+"/ok?frame="+frameTok.Token+"&el="+elTok.Token)); err != nil {
		t.Fatal(err)
	}
	fctx := frameContext(t, ctx, s.url)
	pollTrue(t, ctx, "the element goes live", `document.getElementById('el').getAttribute('data-state') === 'live'`)
	pollTrue(t, fctx, "the iframe goes live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	for round := range 2 {
		acme, globex := fmt.Sprintf("/acme-%d", round), fmt.Sprintf("/globex-%d", round)
		if code, body := post(t, s.url+"/api/v1/ingest", "application/json", fmt.Sprintf(
			`[{"metric":"http_requests","tags":{"tenant":"acme","route":%q,"status":"200"},"value":2},
			  {"metric":"http_requests","tags":{"tenant":"globex","route":%q,"status":"500"},"value":3}]`, acme, globex)); code != http.StatusOK {
			t.Fatalf("ingest: %d %s", code, body)
		}
		pollTrue(t, ctx, "the element shows acme's bar", fmt.Sprintf(`%s.then(function (cats) { return cats.indexOf(%q) >= 0; })`, elementCategories, acme))
		waitForCategory(t, fctx, "req-by-route", globex)
	}
	time.Sleep(300 * time.Millisecond) // a frame more, if one were coming
	if cats := evalAwait[[]string](t, ctx, elementCategories); strings.Contains(strings.Join(cats, " "), "globex") {
		t.Errorf("LEAK: acme's element shows %q", cats)
	}
	if cats := evalAwait[[]string](t, fctx, categoriesOf("req-by-route")); strings.Contains(strings.Join(cats, " "), "acme") {
		t.Errorf("LEAK: globex's iframe shows %q", cats)
	}
}
