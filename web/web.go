package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dashd/dashd/charts"
)

//go:embed static
var staticFiles embed.FS

//go:embed templates
var templateFiles embed.FS

// Catalog is what the pages read: the dashboards and charts defined now.
// Its methods may be called from many goroutines at once, and what they
// return is not modified by web.
type Catalog interface {
	Dashboards() []charts.Dashboard
	Dashboard(id string) (charts.Dashboard, bool)
	Chart(id string) (charts.Chart, bool)
}

// Config is what Handler needs.
type Config struct {
	// Catalog lists the dashboards and charts; required.
	Catalog Catalog
	// Logger reports pages that could not be rendered; nil discards.
	Logger *slog.Logger
	// FrameAncestors are the origins whose pages may frame /embed/{chart}
	// (the setting embed.allowed_parents): its Content-Security-Policy
	// frame-ancestors. Empty, or "*" among them: any page may.
	FrameAncestors []string
	// Variables, if set, returns the values seen of each variable of a
	// dashboard (charts.Board.VariableValues) that the request r may be
	// offered as choices on the page: none to a reader held to a tag
	// filter, since the values come from every sample.
	Variables func(r *http.Request, dashboard string) (map[string][]string, error)
}

// The pages, each a template file beside layout.html.
const (
	pageIndex     = "index.html"
	pageDashboard = "dashboard.html"
	pageEmbed     = "embed.html"
	pageNotFound  = "notfound.html"
)

// server holds what the handlers close over; nothing in it changes after
// Handler returns.
type server struct {
	catalog Catalog
	log     *slog.Logger
	assets  assets
	pages   map[string]*template.Template
	// embedPolicy is the Content-Security-Policy of /embed/{chart}.
	embedPolicy string
	// embedJS is /embed.js, composed from dashd-core.js, dashd-paint.js
	// and embed-element.js.
	embedJS *asset
	// variables: Config.Variables (nil: none offered).
	variables func(r *http.Request, dashboard string) (map[string][]string, error)
}

// Handler returns the handler of dashd's pages and static files:
//
//	GET /                 the dashboards
//	GET /d/{id}           a dashboard
//	GET /embed/{chart}    one chart filling the frame
//	GET /embed.js         the script defining <dashd-chart>
//	GET /static/{path...} the client, its style sheet and the ECharts bundle
//
// Every other path gets a plain 404 page. Pages accept ?theme=light|dark
// (without it they follow the browser's colour scheme, or the choice made
// with the page's toggle), ?tz=ZONE for the labels of time axes (an IANA
// name; default the browser's zone), ?kiosk (no chrome, larger type) and
// ?token=, which the client passes on to the API and the stream; the
// client also reads ?patterns=on|off, ?palette=safe|standard and
// ?announce=on|off (dashd-a11y.js: they win over the choices kept in the
// browser). Who may
// read is not decided here: put a gate in front of the handler.
//
// It panics if cfg.Catalog is nil or if the embedded files are broken, both
// mistakes of the program rather than of its input.
func Handler(cfg Config) http.Handler {
	if cfg.Catalog == nil {
		panic("web: Config.Catalog is nil")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	as, err := loadAssets(static)
	if err != nil {
		panic(fmt.Sprintf("web: embedded static files: %v", err))
	}
	if as[paintWorker], err = paintWorkerScript(as); err != nil {
		panic(fmt.Sprintf("web: embedded static files: %v", err))
	}
	s := &server{catalog: cfg.Catalog, log: log, assets: as, pages: map[string]*template.Template{},
		embedPolicy: embedPolicy(cfg.FrameAncestors), variables: cfg.Variables}
	if s.embedJS, err = embedScript(as); err != nil {
		panic(fmt.Sprintf("web: embedded static files: %v", err))
	}
	funcs := template.FuncMap{"static": as.url}
	for _, name := range []string{pageIndex, pageDashboard, pageEmbed, pageNotFound} {
		s.pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/a11y.html", "templates/"+name))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /d/{id}", s.dashboard)
	mux.HandleFunc("GET /embed/{chart}", s.embed)
	mux.HandleFunc("GET /embed.js", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, s.embedJS) })
	mux.HandleFunc("GET /static/{path...}", as.serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r, "There is no page at "+r.URL.Path+".")
	})
	return mux
}

// layout is what layout.html reads; every page's data embeds it.
type layout struct {
	Title string
	Theme string // "light", "dark", or "" to follow the browser
	Class string // the class of <body>
	Live  bool   // load ECharts and the client
	Kiosk bool   // ?kiosk: a wall screen
}

// layoutOf is the layout of a page as r asks for it.
func layoutOf(r *http.Request, title, class string, live bool) layout {
	_, kiosk := r.URL.Query()["kiosk"]
	return layout{Title: title, Theme: themeOf(r), Class: class, Live: live, Kiosk: kiosk}
}

// tzOf reads ?tz=, an IANA zone name the client hands to Intl; it is only
// bounded here (the browser ignores a zone it does not know).
func tzOf(r *http.Request) string {
	tz := r.URL.Query().Get("tz")
	if len(tz) > 64 {
		return ""
	}
	return tz
}

// themeOf reads ?theme=, keeping only the values the style sheet knows.
func themeOf(r *http.Request) string {
	switch t := r.URL.Query().Get("theme"); t {
	case "light", "dark":
		return t
	}
	return ""
}

type dashboardItem struct {
	ID     string
	Title  string
	Charts int
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	ds := s.catalog.Dashboards()
	items := make([]dashboardItem, len(ds))
	for i, d := range ds {
		items[i] = dashboardItem{ID: d.ID, Title: titleOr(d.Title, d.ID), Charts: len(d.Charts)}
	}
	s.render(w, r, http.StatusOK, pageIndex, "", struct {
		layout
		Dashboards []dashboardItem
	}{layoutOf(r, "Dashboards", "index", false), items})
}

// chartView is a chart element's data attributes, as the client reads them.
type chartView struct {
	ID         string
	Title      string
	Type       string // grouped | stacked | percent
	Horizontal bool
	X          string // a tag key, or "time"
	Unit       string
	// What dashd-a11y.js needs to describe the chart in words: the series
	// tag key, the window and bucket in seconds (0: none), and the
	// thresholds as JSON ([{"value":…,"label":…}] or "").
	Series     string
	Window     float64
	Bucket     float64
	Thresholds string

	place
	empty
}

func viewOf(c charts.Chart) chartView {
	typ := string(c.Type)
	if typ == "" {
		typ = string(charts.Grouped)
	}
	v := chartView{ID: c.ID, Title: titleOr(c.Title, c.ID), Type: typ, Horizontal: c.Horizontal, X: c.X, Unit: c.Unit,
		Series: c.Series,
		place:  placeOf(c), empty: emptyOf(c), Window: time.Duration(c.Window).Seconds(), Bucket: time.Duration(c.Bucket).Seconds()}
	if len(c.Thresholds) > 0 {
		type threshold struct {
			Value float64 `json:"value"`
			Label string  `json:"label,omitempty"`
		}
		ts := make([]threshold, len(c.Thresholds))
		for i, t := range c.Thresholds {
			ts[i] = threshold{t.Value, t.Label}
		}
		b, _ := json.Marshal(ts) // floats of a valid definition: finite
		v.Thresholds = string(b)
	}
	return v
}

func titleOr(title, id string) string {
	if title == "" {
		return id
	}
	return title
}

func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, ok := s.catalog.Dashboard(id)
	if !ok {
		s.notFound(w, r, "There is no dashboard with the id "+strconv.Quote(id)+".")
		return
	}
	views := make([]chartView, len(d.Charts))
	for i, c := range d.Charts {
		views[i] = viewOf(c)
	}
	s.render(w, r, http.StatusOK, pageDashboard, "", struct {
		layout
		ID        string
		Version   string // of the definition drawn; the client redraws on another
		TZ        string
		Charts    []chartView
		Variables []variableView
		Token     string
	}{layoutOf(r, titleOr(d.Title, d.ID), "dashboard", true), d.ID, d.Version(), tzOf(r), views, s.variablesOf(r, d), r.URL.Query().Get("token")})
}

func (s *server) embed(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("chart")
	c, ok := s.catalog.Chart(id)
	if !ok {
		// Framed like the chart would be, so that an iframe of a chart
		// id mistyped says so instead of staying blank.
		s.render(w, r, http.StatusNotFound, pageNotFound, s.embedPolicy, struct {
			layout
			Message string
		}{layoutOf(r, "Not found", "notfound embed", false), "There is no chart with the id " + strconv.Quote(id) + "."})
		return
	}
	v := viewOf(c)
	s.render(w, r, http.StatusOK, pageEmbed, s.embedPolicy, struct {
		layout
		TZ    string
		Chart chartView
	}{layoutOf(r, v.Title, "embed", true), tzOf(r), v})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request, message string) {
	s.render(w, r, http.StatusNotFound, pageNotFound, "", struct {
		layout
		Message string
	}{layoutOf(r, "Not found", "notfound", false), message})
}

// render executes a page into a buffer first, so that a failure is a clean
// 500 rather than half a page. policy is the page's Content-Security-Policy
// if it may be framed by other sites, "" if not.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, policy string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("page not rendered", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "500 internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	setPageHeaders(h, policy)
	h.Set("Content-Type", "text/html; charset=utf-8")
	body := pageBody(h, r, buf.Bytes())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// basePolicy admits scripts, styles, images and connections (fetch,
// WebSocket, EventSource) from dashd's own origin only, and nothing inline.
// CSP Level 3 lets 'self' cover ws: and wss: to the same host.
const basePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"

// embedPolicy is the Content-Security-Policy of an embeddable page: framed
// by the parents listed, or by any page when there are none or "*" is one.
func embedPolicy(parents []string) string {
	if len(parents) == 0 || slices.Contains(parents, "*") {
		return basePolicy
	}
	return basePolicy + "; frame-ancestors 'self' " + strings.Join(parents, " ")
}

// setPageHeaders sets the security headers of a page. A page with an
// embedPolicy may be framed by the sites it names; the others only by
// dashd itself.
func setPageHeaders(h http.Header, embedPolicy string) {
	if embedPolicy != "" {
		h.Set("Content-Security-Policy", embedPolicy)
	} else {
		h.Set("Content-Security-Policy", basePolicy+"; frame-ancestors 'self'")
		h.Set("X-Frame-Options", "SAMEORIGIN")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	// An embed URL may carry ?token=: never send it on to another site.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}
