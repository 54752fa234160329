package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// Dashboard variables: ?var-region=… chooses a filtered view of each chart
// that uses $region, on the frame API and the stream; a token pins it.
func TestDashboardVariables(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
		f.Dashboards = []charts.Dashboard{{ID: "geo", Variables: []charts.Variable{{Name: "region", Tag: "region"}}, Charts: []charts.Chart{
			{ID: "by-host", Metric: "cpu", X: "host", Agg: charts.Sum, Window: charts.Duration(time.Hour), Where: map[string]string{"region": "$region"}},
			{ID: "all-hosts", Metric: "cpu", X: "host", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
		}}}
	})
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		`[{"metric":"cpu","tags":{"region":"eu","host":"eu-1"},"value":1},{"metric":"cpu","tags":{"region":"us","host":"us-1"},"value":2}]`); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	adm := "&token=" + testAdminToken
	frameOf := func(chart, query string) (int, string) {
		code, body, _ := getWith(t, s.url+"/api/v1/charts/"+chart+"/frame?"+query)
		return code, body
	}
	for query, want := range map[string][]string{
		"x=1":             {"eu-1", "us-1"}, // unbound: every region
		"var-region=eu":   {"eu-1"},
		"var-region=us":   {"us-1"},
		"var-region=mars": {},
	} {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			code, body := frameOf("by-host", query+adm)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %s", query, code, body)
			}
			ok := true
			for _, h := range []string{"eu-1", "us-1"} {
				if strings.Contains(body, h) != (strings.Contains(strings.Join(want, " "), h)) {
					ok = false
				}
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s, want %v", query, body, want)
			}
		}
	}
	// A chart that does not use the variable is not filtered by it.
	if _, body := frameOf("all-hosts", "var-region=eu"+adm); !strings.Contains(body, "us-1") {
		t.Errorf("all-hosts with var-region=eu: %s", body)
	}
	if code, body := frameOf("by-host", "var-zone=eu"+adm); code != http.StatusBadRequest || !strings.Contains(body, "no variable") {
		t.Errorf("an undeclared variable: %d %s", code, body)
	}

	// The stream of the dashboard with var-region=eu: by-host shows eu only.
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?dashboard=geo&var-region=eu"+adm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	v := &viewer{t: t, conn: conn}
	f := v.until("by-host", func(f frame) bool { return len(f.Categories) > 0 })
	if fmt.Sprint(f.Categories) != "[eu-1]" {
		t.Errorf("stream with var-region=eu: %v", f.Categories)
	}

	// The page offers the values seen, the chosen one selected; a value
	// is text, never markup.
	post(t, s.url+"/api/v1/ingest", "application/json", `[{"metric":"cpu","tags":{"region":"<img src=x>","host":"x-1"},"value":1}]`)
	var code int
	var page string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, page, _ = getWith(t, s.url+"/d/geo?var-region=eu"+adm); strings.Contains(page, "&lt;img") {
			break
		}
	}
	for _, want := range []string{`<select name="var-region"`, `<option value="eu" selected>eu</option>`, `<option value="us">us</option>`, `&lt;img src=x&gt;`, `name="token" value="` + testAdminToken + `"`} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("page lacks %s (%d)", want, code)
		}
	}
	if strings.Contains(page, "<img src=x>") {
		t.Error("a tag value became markup on the page")
	}

	// A token that pins region=eu: the variable cannot move it.
	_, pinned, _ := mintAPI(t, s, `{"dashboard":"geo","where":{"region":"eu"}}`)
	if code, body := frameOf("by-host", "var-region=us&token="+pinned.Token); code != http.StatusForbidden || !strings.Contains(body, "pins") {
		t.Errorf("pinned token, var-region=us: %d %s", code, body)
	}
	if code, body := frameOf("by-host", "var-region=eu&token="+pinned.Token); code != http.StatusOK || strings.Contains(body, "us-1") {
		t.Errorf("pinned token, var-region=eu: %d %s", code, body)
	}
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?dashboard=geo&var-region=us&token="+pinned.Token, nil); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("pinned token, stream var-region=us: %v", err)
	}
	// Its page offers no values seen: they come from every sample.
	if code, page, _ := getWith(t, s.url+"/d/geo?token="+pinned.Token); code != http.StatusOK || strings.Contains(page, `value="us"`) {
		t.Errorf("the page of a filtered token offers other values (%d): %s", code, page)
	}
}

// In a browser: the dashboard page with ?var-region=eu draws eu's bars
// only; choosing us in the selector and showing it draws us's only.
func TestBrowserDashboardVariables(t *testing.T) {
	s := startServer(t, func(f *config.File) {
		f.Dashboards = []charts.Dashboard{{ID: "geo", Variables: []charts.Variable{{Name: "region", Tag: "region"}}, Charts: []charts.Chart{
			{ID: "by-host", Metric: "cpu", X: "host", Agg: charts.Sum, Window: charts.Duration(time.Hour), Where: map[string]string{"region": "$region"}},
		}}}
	})
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		`[{"metric":"cpu","tags":{"region":"eu","host":"eu-1"},"value":1},{"metric":"cpu","tags":{"region":"us","host":"us-1"},"value":2}]`); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/geo?var-region=eu")); err != nil {
		t.Fatal(err)
	}
	waitForCategory(t, ctx, "by-host", "eu-1")
	if cats := evalAwait[[]string](t, ctx, categoriesOf("by-host")); fmt.Sprint(cats) != "[eu-1]" {
		t.Errorf("region eu shows %v", cats)
	}
	pollTrue(t, ctx, "the selector offers us", `!!document.querySelector('select[name="var-region"] option[value="us"]')`)
	eval[bool](t, ctx, `(function () {
		var sel = document.querySelector('select[name="var-region"]');
		sel.value = 'us';
		sel.form.querySelector('button[type=submit]').click();
		return true;
	})()`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// The form's GET navigates: evaluations fail until the new page is there.
		search, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? location.search : ''`))
		if err == nil && strings.Contains(search, "var-region=us") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never followed ?var-region=us (%q, %v)", search, err)
		}
	}
	waitForCategory(t, ctx, "by-host", "us-1")
	if cats := evalAwait[[]string](t, ctx, categoriesOf("by-host")); fmt.Sprint(cats) != "[us-1]" {
		t.Errorf("region us shows %v", cats)
	}
}
