package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// BenchmarkBrowserWallProfile says where a frame's time goes on the wall
// (issue 17): the 24-chart wall of BenchmarkBrowserWall at 10 Hz, and a
// trace of the browser (Chrome DevTools Protocol, Tracing with V8's
// sampling CPU profiler, category disabled-by-default-v8.cpu_profiler)
// over DASHD_WALL_SECONDS (default 5 s) after 4 s to settle. For the paint
// worker's thread and the page's main thread it logs the sampled time by
// phase of ECharts' setOption (model merge, update pipeline, render of the
// views, paint of the canvas), the functions with the most time of their
// own, and the time per frame the worker drew (frames counted in the page).
//
//	go test -run '^$' -bench BrowserWallProfile -benchtime 1x -v ./cmd/dashd/
//
// With DASHD_WALL_BASE it profiles the client of that commit too (see
// BenchmarkBrowserWall).
func BenchmarkBrowserWallProfile(b *testing.B) {
	window := wallWindow(5 * time.Second)
	s := wallBenchServer(b)
	proxies := wallBenchProxies(b, s)
	browser := wallBrowser(b, time.Hour)
	for _, v := range []string{"dashd", "old"} {
		p := proxies[v]
		if p == nil {
			continue
		}
		profileWall(b, browser, s, v, p.URL+"/d/wall24", 24, 10, window)
	}
}

// traceEvent is what profileWall reads of a Chrome trace event.
type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	ID   string          `json:"id"`
	Args json.RawMessage `json:"args"`
}

type profileNode struct {
	ID        int `json:"id"`
	Parent    int `json:"parent"`
	CallFrame struct {
		FunctionName string `json:"functionName"`
		URL          string `json:"url"`
		Line         int    `json:"lineNumber"`
		Column       int    `json:"columnNumber"`
	} `json:"callFrame"`
}

type profileChunk struct {
	Data struct {
		CPUProfile struct {
			Nodes   []profileNode `json:"nodes"`
			Samples []int         `json:"samples"`
		} `json:"cpuProfile"`
		TimeDeltas []float64 `json:"timeDeltas"`
	} `json:"data"`
}

// wallPhases names ECharts' steps by the functions that run them (method
// names survive the bundle's minifier): a sample counts toward a phase when
// that function is on its stack.
var wallPhases = []struct{ phase, fn string }{
	{"applyFrame (dashd: frameOption + setOption)", "applyFrame"},
	{"  setOption (ECharts, all of it)", "setOption"},
	{"    model merge (GlobalModel._mergeOption)", "_mergeOption"},
	{"    update pipeline (Ei.update: data, coordinate systems, layout, visuals, views)", "update"},
	{"      series tasks (performSeriesTasks)", "performSeriesTasks"},
	{"      data processors (performDataProcessorTasks)", "performDataProcessorTasks"},
	{"      visual tasks (performVisualTasks: layout of the bars)", "performVisualTasks"},
	{"      views: render (ChartView/ComponentView render)", "render"},
	{"        axis labels (dashd axisValue formatter)", "axisValue"},
	{"    canvas paint (ZRender flush)", "flush"},
	{"      painter refresh (CanvasPainter.refresh)", "refresh"},
	{"  hideTip (dispatchAction)", "dispatchAction"},
	{"ZRender animation frames (Animation.update)", "_startLoop"},
	{"message from the page (onmessage → handle)", "handle"},
	{"garbage collector", "(garbage collector)"},
}

// profileWall opens pageURL in a new tab, pushes to its n charts at hz,
// traces the browser over window and logs the profile of the paint worker
// and of the page's main thread.
func profileWall(b *testing.B, browser context.Context, s *server, name, pageURL string, n, hz int, window time.Duration) {
	b.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		b.Fatal(err)
	}
	ready := `document.querySelector('[data-link]') && document.querySelector('[data-link]').getAttribute('data-state') === 'live'`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](wallColumnsJS)); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		wallPush(s, n, hz, stop)
	}()
	defer func() { close(stop); <-pushed }()
	time.Sleep(4 * time.Second)

	// The listener only keeps the raw events (it must not be slow); they
	// are read once the trace is complete (the close orders the appends
	// before the reads).
	var raws [][]byte
	complete := make(chan struct{})
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			for _, raw := range e.Value {
				raws = append(raws, append([]byte(nil), raw...))
			}
		case *tracing.EventTracingComplete:
			close(complete)
		}
	}); err != nil {
		b.Fatal(err)
	}
	// Count what the page sends its paint workers, by op.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () {
		var post = Worker.prototype.postMessage;
		window.__ops = {};
		Worker.prototype.postMessage = function (m) {
			var op = (m && m.op) || '?';
			__ops[op] = (__ops[op] || 0) + 1;
			return post.apply(this, arguments);
		};
		return true;
	})()`)); err != nil {
		b.Fatal(err)
	}
	f0, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__drawn`))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig: &tracing.TraceConfig{
			RecordMode:         tracing.TraceConfigRecordModeRecordAsMuchAsPossible,
			IncludedCategories: []string{"disabled-by-default-v8.cpu_profiler", "__metadata"},
		},
	}); err != nil {
		b.Fatal(err)
	}
	time.Sleep(window)
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		b.Fatal(err)
	}
	f1, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__drawn`))
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-complete:
	case <-time.After(30 * time.Second):
		b.Fatal("the trace did not complete")
	}
	frames := f1 - f0
	ops, _ := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`__ops`))
	b.Logf("%s: messages to the paint workers by op while traced: %v", name, ops)
	events := make([]traceEvent, 0, len(raws))
	for _, raw := range raws {
		var te traceEvent
		if json.Unmarshal(raw, &te) == nil {
			events = append(events, te)
		}
	}

	threads := map[[2]int]string{}
	for _, e := range events {
		if e.Ph == "M" && e.Name == "thread_name" {
			var a struct {
				Name string `json:"name"`
			}
			json.Unmarshal(e.Args, &a)
			threads[[2]int{e.Pid, e.Tid}] = a.Name
		}
	}
	// One profile per (process, id): its nodes arrive over its chunks.
	type profile struct {
		thread string
		nodes  map[int]profileNode
		self   map[int]float64 // node → µs
	}
	profiles := map[string]*profile{}
	for _, e := range events {
		if e.Name != "ProfileChunk" && e.Name != "Profile" {
			continue
		}
		key := strconv.Itoa(e.Pid) + "/" + e.ID
		p := profiles[key]
		if p == nil {
			p = &profile{nodes: map[int]profileNode{}, self: map[int]float64{}}
			profiles[key] = p
		}
		if e.Name == "Profile" {
			// The profile starts on the thread it samples; its chunks
			// come from V8's profiler thread.
			p.thread = threads[[2]int{e.Pid, e.Tid}]
			continue
		}
		var c profileChunk
		if err := json.Unmarshal(e.Args, &c); err != nil {
			continue
		}
		for _, nd := range c.Data.CPUProfile.Nodes {
			p.nodes[nd.ID] = nd
		}
		for i, id := range c.Data.CPUProfile.Samples {
			if i < len(c.Data.TimeDeltas) {
				p.self[id] += c.Data.TimeDeltas[i]
			}
		}
	}
	names := map[string]int{}
	for _, e := range events {
		names[e.Name]++
	}
	if os.Getenv("DASHD_WALL_DEBUG") != "" {
		b.Logf("%d events %v; threads %v; %d profiles", len(events), names, threads, len(profiles))
		for k, p := range profiles {
			b.Logf("profile %s thread %q nodes %d", k, p.thread, len(p.nodes))
		}
	}
	b.Logf("%s (%s), 24 charts at %d Hz: %.0f frames drawn in %s (%.0f/s)", name, pageURL, hz, frames, window, frames/window.Seconds())
	for _, p := range profiles {
		if p.thread != "DedicatedWorker thread" && p.thread != "CrRendererMain" {
			continue
		}
		incl := map[string]float64{}
		selfBy := map[string]float64{}
		var busy float64
		for id, us := range p.self {
			leaf := p.nodes[id].CallFrame.FunctionName
			if leaf == "(idle)" {
				continue
			}
			busy += us
			cf := p.nodes[id].CallFrame
			where := shortURL(cf.URL)
			if strings.HasPrefix(where, "dashd") {
				// dashd's scripts are minified when served: say where.
				where += ":" + strconv.Itoa(cf.Line+1) + ":" + strconv.Itoa(cf.Column+1) + " " + excerpt(cf.URL, cf.Line, cf.Column)
			}
			selfBy[leaf+" "+where] += us
			seen := map[string]bool{}
			for n, ok := p.nodes[id], true; ok; n, ok = p.nodes[n.Parent] {
				fn := n.CallFrame.FunctionName
				if i := strings.LastIndexByte(fn, '.'); i >= 0 {
					fn = fn[i+1:] // "e.setOption": a method, by its name
				}
				if !seen[fn] {
					seen[fn] = true
					incl[fn] += us
				}
				if n.Parent == 0 {
					break
				}
			}
		}
		if busy == 0 {
			continue
		}
		var sb strings.Builder
		perFrame := func(us float64) string {
			if frames <= 0 || p.thread != "DedicatedWorker thread" {
				return ""
			}
			return fmt.Sprintf(", %.2f ms a frame", us/1000/frames)
		}
		fmt.Fprintf(&sb, "%s: busy %.3f cores (%.0f ms sampled%s)\n", p.thread, busy/1e6/window.Seconds(), busy/1000, perFrame(busy))
		for _, ph := range wallPhases {
			us := incl[ph.fn]
			fmt.Fprintf(&sb, "  %-88s %6.0f ms %5.1f %%%s\n", ph.phase, us/1000, 100*us/busy, perFrame(us))
		}
		type kv struct {
			k string
			v float64
		}
		var top []kv
		for k, v := range selfBy {
			top = append(top, kv{k, v})
		}
		sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v })
		sb.WriteString("  most time of their own:\n")
		for i, t := range top {
			if i == 25 {
				break
			}
			fmt.Fprintf(&sb, "    %-70s %6.0f ms %5.1f %%\n", t.k, t.v/1000, 100*t.v/busy)
		}
		b.Log(sb.String())
	}
}

// shortURL is the file name of a script's URL, or "" for native code.
func shortURL(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

// excerpt is 60 characters of the script at url from (line, column), both
// 0-based, or "" where it cannot be fetched.
func excerpt(url string, line, column int) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(body), "\n")
	if line < 0 || line >= len(lines) || column < 0 || column >= len(lines[line]) {
		return ""
	}
	l := lines[line][column:]
	return strconv.Quote(l[:min(60, len(l))])
}
