package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

const grafanaDashboardPath = "../../packaging/grafana-dashboard.json"

// packaging/grafana-dashboard.json queries only metrics dashd exports, by
// labels they carry: every expr of every panel is read for metric names
// and label names, and each is looked up in a live /metrics.
func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	d := loadGrafanaDashboard(t, grafanaDashboardPath)
	exported := scrapeExported(t)
	for _, p := range metricProblems(d, exported) {
		t.Error(p)
	}
	if t.Failed() {
		t.Logf("exported: %s", strings.Join(exported.names(), " "))
	}
	// Not a failure: a new metric does not need a panel, but say so.
	used := map[string]bool{}
	for _, q := range d.queries() {
		for _, r := range parsePromQL(q.expr).metrics {
			used[exported.family(r.name)] = true
		}
	}
	for _, name := range exported.names() {
		if strings.HasPrefix(name, "dashd_") && !used[exported.family(name)] {
			t.Logf("dashd exports %s, which no panel shows", name)
		}
	}
}

// The dashboard imports: valid JSON, a recent schema, a Prometheus data
// source chosen at import and switchable later, an instance variable that
// picks several nodes, and panels Grafana can tell apart.
func TestGrafanaDashboardIsImportable(t *testing.T) {
	t.Parallel()
	d := loadGrafanaDashboard(t, grafanaDashboardPath)
	for _, p := range shapeProblems(d) {
		t.Error(p)
	}
}

// The checks fail, naming the panel and what is wrong, on the mistakes
// they are there for.
func TestGrafanaChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	exported := parseExposition(t, `# TYPE dashd_stream_viewers gauge
dashd_stream_viewers{transport="ws"} 1
# TYPE dashd_ingest_request_duration_seconds histogram
dashd_ingest_request_duration_seconds_bucket{format="json",le="+Inf"} 1
dashd_ingest_request_duration_seconds_sum{format="json"} 0.1
dashd_ingest_request_duration_seconds_count{format="json"} 1
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.01
go_gc_duration_seconds_count 10
`)
	ds := `{"type":"prometheus","uid":"${datasource}"}`
	panel := func(id int, expr, legend string) string {
		e, _ := json.Marshal(expr)
		return fmt.Sprintf(`{"id":%d,"type":"timeseries","title":"P%d","datasource":%s,"gridPos":{"h":8,"w":12,"x":0,"y":0},
			"targets":[{"refId":"A","expr":%s,"legendFormat":%q}]}`, id, id, ds, e, legend)
	}
	dashboard := func(panels ...string) grafanaDashboard {
		var d grafanaDashboard
		src := `{"schemaVersion":39,"__inputs":[{"name":"DS_PROMETHEUS","type":"datasource","pluginId":"prometheus"}],
			"templating":{"list":[{"name":"datasource","type":"datasource","query":"prometheus"},
			{"name":"instance","type":"query","multi":true,"datasource":` + ds + `,"query":"label_values(dashd_stream_viewers, instance)"}]},
			"panels":[` + strings.Join(panels, ",") + `]}`
		if err := json.Unmarshal([]byte(src), &d); err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		return d
	}
	good := dashboard(
		panel(1, `sum by (transport) (dashd_stream_viewers{transport="ws",instance=~"$instance"})`, "{{transport}}"),
		panel(2, `histogram_quantile(0.99, sum by (format, le) (rate(dashd_ingest_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, "{{format}}"),
		panel(3, `rate(dashd_ingest_request_duration_seconds_sum[5m]) / rate(dashd_ingest_request_duration_seconds_count[5m]) + on (instance) group_left up`, "{{instance}}"),
		panel(4, `go_gc_duration_seconds{quantile="0.5"} # go_nothing in a comment`, ""),
		panel(5, `label_replace(go_gc_duration_seconds_count, "x", "dashd_not_a_metric", "", "")`, ""),
		panel(6, `sum without (transport) (dashd_stream_viewers) > bool 0 or max(dashd_stream_viewers) by (transport)`, "{{transport}}"),
	)
	if ps := append(metricProblems(good, exported), shapeProblems(good)...); len(ps) > 0 {
		t.Errorf("a correct dashboard has problems:\n%s", strings.Join(ps, "\n"))
	}

	for _, c := range []struct {
		panel string
		want  []string // in one problem
	}{
		{panel(7, `sum(rate(dashd_stream_viewerz[5m]))`, ""), []string{`panel 7 "P7"`, "dashd_stream_viewerz", "not exported"}},
		{panel(7, `dahsd_stream_viewers`, ""), []string{`panel 7`, "dahsd_stream_viewers", "not exported"}},
		{panel(7, `histogram_quantile(0.9, rate(dashd_ingest_request_duration_seconds[5m]))`, ""), []string{"dashd_ingest_request_duration_seconds", "histogram", "_bucket"}},
		{panel(7, `rate(go_gc_duration_seconds_bucket[5m])`, ""), []string{"go_gc_duration_seconds_bucket", "not exported"}},
		{panel(7, `dashd_stream_viewers{transprot="ws"}`, ""), []string{"dashd_stream_viewers", `label "transprot"`}},
		{panel(7, `sum by (reason) (dashd_stream_viewers)`, ""), []string{`label "reason"`}},
		{panel(7, `dashd_stream_viewers`, "{{format}}"), []string{"legend", `label "format"`}},
		{panel(7, `{__name__="dashd_stream_viewers"}`, ""), []string{"__name__"}},
		{panel(7, `sum(up)`, ""), []string{"no metric of dashd"}},
		{panel(1, `dashd_stream_viewers`, ""), []string{"id 1", "2 panels"}},
		{strings.Replace(panel(7, `dashd_stream_viewers`, ""), `"datasource":`+ds+`,`, "", 1), []string{`panel 7`, "no datasource"}},
		{strings.Replace(panel(7, `dashd_stream_viewers`, ""), "${datasource}", "abc123", 1), []string{`panel 7`, "abc123"}},
	} {
		d := dashboard(panel(1, "dashd_stream_viewers", ""), c.panel)
		ps := append(metricProblems(d, exported), shapeProblems(d)...)
		if !slices.ContainsFunc(ps, func(p string) bool {
			return !slices.ContainsFunc(c.want, func(w string) bool { return !strings.Contains(p, w) })
		}) {
			t.Errorf("%s: want a problem with %q, got %q", c.panel, c.want, ps)
		}
	}
}

// grafanaDashboard is what the checks read of a dashboard's JSON.
type grafanaDashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	Inputs        []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Templating struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaVariable struct {
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Multi      bool               `json:"multi"`
	Datasource *grafanaDatasource `json:"datasource"`
	// Query is the plugin id of a datasource variable, and a
	// label_values(...) of a query variable, as a string or an object.
	Query json.RawMessage `json:"query"`
}

func (v grafanaVariable) query() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	json.Unmarshal(v.Query, &o)
	return o.Query
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *grafanaDatasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID        string             `json:"refId"`
		Expr         string             `json:"expr"`
		LegendFormat string             `json:"legendFormat"`
		Datasource   *grafanaDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // of a collapsed row
}

func (p grafanaPanel) String() string { return fmt.Sprintf("panel %d %q", p.ID, p.Title) }

func loadGrafanaDashboard(t *testing.T, path string) grafanaDashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(b[:se.Offset]), "\n")
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// panels are every panel, those of collapsed rows included.
func (d grafanaDashboard) panels() []grafanaPanel {
	var out []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaQuery is one PromQL expression of the dashboard and where it is.
type grafanaQuery struct {
	where  string
	expr   string
	legend string
}

// queries are the exprs of every panel's targets and the label_values of
// the query variables.
func (d grafanaDashboard) queries() []grafanaQuery {
	var qs []grafanaQuery
	for _, p := range d.panels() {
		for _, tg := range p.Targets {
			qs = append(qs, grafanaQuery{where: fmt.Sprintf("%s, target %s", p, tg.RefID), expr: tg.Expr, legend: tg.LegendFormat})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.query()
		if m := regexp.MustCompile(`^\s*label_values\((.*),\s*(\w+)\s*\)\s*$`).FindStringSubmatch(q); m != nil {
			// The label is checked as a legend would be.
			qs = append(qs, grafanaQuery{where: fmt.Sprintf("variable %q", v.Name), expr: m[1], legend: "{{" + m[2] + "}}"})
		} else {
			qs = append(qs, grafanaQuery{where: fmt.Sprintf("variable %q", v.Name), expr: q})
		}
	}
	return qs
}

// exportedMetrics are the series names of a scrape, with the labels each
// carries: a histogram's _bucket (with le), _sum and _count, a summary's
// own name (with quantile), _sum and _count.
type exportedMetrics struct {
	labels     map[string]map[string]bool
	histograms map[string]bool // family names, which are no series themselves
	families   map[string]string
}

func newExportedMetrics(fams []*dto.MetricFamily) exportedMetrics {
	e := exportedMetrics{labels: map[string]map[string]bool{}, histograms: map[string]bool{}, families: map[string]string{}}
	add := func(family, name string, ms []*dto.Metric, extra ...string) {
		ls := map[string]bool{}
		for _, m := range ms {
			for _, l := range m.GetLabel() {
				ls[l.GetName()] = true
			}
		}
		for _, l := range extra {
			ls[l] = true
		}
		e.labels[name] = ls
		e.families[name] = family
	}
	for _, f := range fams {
		name, ms := f.GetName(), f.GetMetric()
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			e.histograms[name] = true
			add(name, name+"_bucket", ms, "le")
			add(name, name+"_sum", ms)
			add(name, name+"_count", ms)
		case dto.MetricType_SUMMARY:
			add(name, name, ms, "quantile")
			add(name, name+"_sum", ms)
			add(name, name+"_count", ms)
		default:
			add(name, name, ms)
		}
	}
	return e
}

func (e exportedMetrics) names() []string {
	var ns []string
	for n := range e.labels {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// family is the family of a series name (itself for a counter or a gauge).
func (e exportedMetrics) family(name string) string {
	if f, ok := e.families[name]; ok {
		return f
	}
	return name
}

// scrapeExported starts dashd, gives every labelled family a child (an
// accepted and a refused request of each format, a WebSocket viewer), and
// reads its /metrics.
func scrapeExported(t *testing.T) exportedMetrics {
	t.Helper()
	s := startServer(t, nil)
	for _, r := range []struct{ path, contentType, body string }{
		{"/api/v1/ingest", "application/json", `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":1}]`},
		{"/api/v1/ingest", "application/json", `[{"metric":"http_requests","value":"x"}]`},
		{"/write", "text/plain", "http_requests,route=/a,status=200 value=1\n"},
		{"/write", "text/plain", "http_requests value=\n"},
		{"/api/v1/import/prometheus", "text/plain; version=0.0.4", "# TYPE http_requests counter\nhttp_requests{route=\"/a\",status=\"200\"} 1\n"},
		{"/api/v1/import/prometheus", "text/plain; version=0.0.4", "http_requests{route=\n"},
	} {
		post(t, s.url+r.path, r.contentType, r.body)
	}
	dial(t, s, "dashboard=web").next() // open while scraped

	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	e, err := decodeExposition(resp.Body, expfmt.ResponseFormat(resp.Header))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return e
}

func parseExposition(t *testing.T, text string) exportedMetrics {
	t.Helper()
	e, err := decodeExposition(strings.NewReader(text), expfmt.NewFormat(expfmt.TypeTextPlain))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func decodeExposition(r io.Reader, format expfmt.Format) (exportedMetrics, error) {
	dec := expfmt.NewDecoder(r, format)
	var fams []*dto.MetricFamily
	for {
		f := new(dto.MetricFamily)
		if err := dec.Decode(f); err == io.EOF {
			return newExportedMetrics(fams), nil
		} else if err != nil {
			return exportedMetrics{}, err
		}
		fams = append(fams, f)
	}
}

// prometheusOwn are the series Prometheus itself writes for each target.
var prometheusOwn = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// targetLabels are the labels Prometheus adds to every series it scrapes.
var targetLabels = []string{"job", "instance"}

// metricProblems says, for each query, which metric names dashd does not
// export and which label names the metrics it reads do not carry.
func metricProblems(d grafanaDashboard, e exportedMetrics) []string {
	var problems []string
	for _, q := range d.queries() {
		pq := parsePromQL(q.expr)
		if pq.nameMatcher {
			problems = append(problems, fmt.Sprintf("%s: selects by __name__: write the metric name so it can be checked: %s", q.where, q.expr))
		}
		carried := map[string]bool{}
		for _, l := range targetLabels {
			carried[l] = true
		}
		ours, unknown := 0, false
		for _, ref := range pq.metrics {
			if prometheusOwn[ref.name] {
				continue
			}
			ours++
			ls, ok := e.labels[ref.name]
			switch {
			case ok:
			case e.histograms[ref.name]:
				problems = append(problems, fmt.Sprintf("%s: %s is a histogram: query its _bucket, _sum or _count", q.where, ref.name))
				unknown = true
				continue
			case strings.HasPrefix(ref.name, "process_") && runtime.GOOS != "linux":
				continue // the process collector reads /proc
			default:
				problems = append(problems, fmt.Sprintf("%s: metric %s is not exported by dashd", q.where, ref.name))
				unknown = true
				continue
			}
			for l := range ls {
				carried[l] = true
			}
			for _, l := range ref.labels {
				if !ls[l] && !slices.Contains(targetLabels, l) {
					problems = append(problems, fmt.Sprintf("%s: %s has no label %q (it has %s)", q.where, ref.name, l, labelList(ls)))
				}
			}
		}
		if ours == 0 {
			problems = append(problems, fmt.Sprintf("%s: uses no metric of dashd: %q", q.where, q.expr))
		}
		if ours == 0 || unknown {
			continue // the labels cannot be known
		}
		for _, l := range pq.grouping {
			if !carried[l] {
				problems = append(problems, fmt.Sprintf("%s: groups by label %q, which none of its metrics carries", q.where, l))
			}
		}
		for _, m := range regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`).FindAllStringSubmatch(q.legend, -1) {
			if !carried[m[1]] {
				problems = append(problems, fmt.Sprintf("%s: legend %q names label %q, which none of its metrics carries", q.where, q.legend, m[1]))
			}
		}
	}
	return problems
}

func labelList(ls map[string]bool) string {
	if len(ls) == 0 {
		return "none"
	}
	var names []string
	for l := range ls {
		names = append(names, l)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// shapeProblems checks what Grafana needs to import the dashboard and
// what makes it usable on several nodes.
func shapeProblems(d grafanaDashboard) []string {
	var problems []string
	if d.SchemaVersion < 39 {
		problems = append(problems, fmt.Sprintf("schemaVersion %d, want 39 or later", d.SchemaVersion))
	}
	// A data source is referred to as ${NAME}: an __inputs entry, chosen
	// when importing, or a datasource variable, switchable on the page.
	refs := map[string]bool{}
	for _, in := range d.Inputs {
		if in.Type == "datasource" && in.PluginID == "prometheus" {
			refs["${"+in.Name+"}"] = true
		}
	}
	switchable := false
	if !refs["${DS_PROMETHEUS}"] {
		problems = append(problems, `no __inputs entry DS_PROMETHEUS of type datasource, plugin prometheus: the import would not ask for a data source`)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Type == "datasource" && v.query() == "prometheus" {
			refs["${"+v.Name+"}"] = true
			refs["$"+v.Name] = true
			switchable = true
		}
	}
	if !switchable {
		problems = append(problems, "no datasource variable of type prometheus: the data source cannot be switched on the dashboard")
	}
	if i := slices.IndexFunc(d.Templating.List, func(v grafanaVariable) bool { return v.Name == "instance" }); i < 0 {
		problems = append(problems, fmt.Sprintf("no instance variable (variables: %s)", strings.Join(vars, ", ")))
	} else if v := d.Templating.List[i]; !v.Multi {
		problems = append(problems, "the instance variable does not allow picking several nodes (multi: false)")
	}
	checkDS := func(where string, ds *grafanaDatasource) {
		switch {
		case ds == nil:
			problems = append(problems, where+": no datasource")
		case ds.Type != "prometheus":
			problems = append(problems, fmt.Sprintf("%s: datasource type %q, want prometheus", where, ds.Type))
		case !refs[ds.UID]:
			problems = append(problems, fmt.Sprintf("%s: datasource uid %q is none of the dashboard's inputs or variables, it would not exist in another Grafana", where, ds.UID))
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			checkDS(fmt.Sprintf("variable %q", v.Name), v.Datasource)
		}
	}

	ids := map[int]int{}
	for _, p := range d.panels() {
		ids[p.ID]++
		if p.ID <= 0 {
			problems = append(problems, fmt.Sprintf("%s: no id", p))
		}
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			problems = append(problems, fmt.Sprintf("%s: gridPos %+v is outside the 24 columns", p, g))
		}
		if p.Type == "row" {
			continue
		}
		checkDS(p.String(), p.Datasource)
		if len(p.Targets) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no targets", p))
		}
		refIDs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				problems = append(problems, fmt.Sprintf("%s, target %s: no expr", p, tg.RefID))
			}
			if tg.RefID == "" || refIDs[tg.RefID] {
				problems = append(problems, fmt.Sprintf("%s: target refId %q is empty or repeated", p, tg.RefID))
			}
			refIDs[tg.RefID] = true
			if tg.Datasource != nil {
				checkDS(fmt.Sprintf("%s, target %s", p, tg.RefID), tg.Datasource)
			}
		}
	}
	for id, n := range ids {
		if n > 1 && id > 0 {
			problems = append(problems, fmt.Sprintf("id %d is used by %d panels", id, n))
		}
	}
	return problems
}

// promQL is what the checks need of a PromQL expression.
type promQL struct {
	metrics     []metricRef
	grouping    []string // labels of by, without, on, ignoring, group_left, group_right
	nameMatcher bool     // a {__name__=...} selector
}

type metricRef struct {
	name   string
	labels []string // matched in its {...}
}

// promKeywords are identifiers that are neither metrics nor functions.
var promKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true,
}

// parsePromQL tokenizes expr, a PromQL expression with Grafana variables
// ($name, ${name}, $__rate_interval) in it. An identifier is a function
// when '(' follows it, a label inside {...} or the parentheses of a
// grouping keyword, and otherwise, unless a keyword, a metric name. The
// contents of strings and comments are skipped.
func parsePromQL(expr string) promQL {
	type token struct {
		kind byte // 'i' identifier, 's' string, 'n' number or duration, or the punctuation itself
		text string
	}
	var toks []token
	isIdent := func(c byte, first bool) bool {
		return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && ('0' <= c && c <= '9' || c == ':')
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // a comment, to the end of the line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			toks = append(toks, token{'s', expr[i+1 : min(j, len(expr))]})
			i = j + 1
		case c == '$': // a Grafana variable
			i++
			if i < len(expr) && expr[i] == '{' {
				for i < len(expr) && expr[i] != '}' {
					i++
				}
				i++
			} else {
				for i < len(expr) && isIdent(expr[i], false) {
					i++
				}
			}
			toks = append(toks, token{'n', "$"})
		case isIdent(c, true):
			j := i
			for j < len(expr) && isIdent(expr[j], false) {
				j++
			}
			toks = append(toks, token{'i', expr[i:j]})
			i = j
		case '0' <= c && c <= '9' || c == '.':
			j := i
			for j < len(expr) && (isIdent(expr[j], false) || expr[j] == '.') {
				j++
			}
			toks = append(toks, token{'n', expr[i:j]})
			i = j
		default:
			toks = append(toks, token{c, string(c)})
			i++
		}
	}

	var q promQL
	// labelsIn reads label names from the {...} or (...) opening at toks[i]
	// and returns them with the index after its close.
	labelsIn := func(i int, closing byte, matchers bool) ([]string, int) {
		var ls []string
		for i++; i < len(toks) && toks[i].kind != closing; i++ {
			if toks[i].kind != 'i' {
				continue
			}
			if !matchers || i+1 < len(toks) && (toks[i+1].kind == '=' || toks[i+1].kind == '!') {
				ls = append(ls, toks[i].text)
			}
		}
		return ls, i + 1
	}
	for i := 0; i < len(toks); {
		tk := toks[i]
		next := byte(0)
		if i+1 < len(toks) {
			next = toks[i+1].kind
		}
		switch {
		case tk.kind == 'i' && promKeywords[tk.text] && next == '(':
			var ls []string
			ls, i = labelsIn(i+1, ')', false)
			q.grouping = append(q.grouping, ls...)
		case tk.kind == 'i' && (promKeywords[tk.text] || next == '(' ||
			i+1 < len(toks) && (toks[i+1].text == "by" || toks[i+1].text == "without")):
			i++ // a keyword, a function, or an aggregation: sum by (...) (...)
		case tk.kind == 'i':
			ref := metricRef{name: tk.text}
			i++
			if next == '{' {
				ref.labels, i = labelsIn(i, '}', true)
			}
			q.metrics = append(q.metrics, ref)
		case tk.kind == '{': // a selector without a name
			var ls []string
			ls, i = labelsIn(i, '}', true)
			q.nameMatcher = q.nameMatcher || slices.Contains(ls, "__name__")
		default:
			i++
		}
	}
	return q
}
