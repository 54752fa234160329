package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scrubbing (issue 14): --scrubbers N simulated pages drag the rewind
// slider of the dashboard while the viewers watch it live. Each, every
// --scrub-every, does what dashd-rewind.js does for a new moment: GET
// /api/v1/log, pick a moment at random in the span it names, and GET the
// frame of every chart of its dashboard at it, at once; a new moment
// cancels the requests of the one before that are still out (the page
// aborts them). With --scrub-slice D the push window alternates: D
// without scrubbing, D with, and so on, and the live latency of each
// probe is counted by whether scrubbing went on when it was POSTed: the
// two figures are taken in the same run, interleaved, on the same
// machine load.

// scrubFlags are the scrubbing part of a scenario.
type scrubFlags struct {
	scrubbers  int
	scrubEvery time.Duration
	scrubSlice time.Duration
	readToken  string
}

const maxScrubbers = 1000

func (sf *scrubFlags) addFlags(fs *flag.FlagSet) {
	fs.IntVar(&sf.scrubbers, "scrubbers", 0, "simulated pages scrubbing the rewind slider meanwhile (`N`): each every --scrub-every GETs /api/v1/log and the frame of each chart of its dashboard at a random moment (?at=)")
	fs.DurationVar(&sf.scrubEvery, "scrub-every", 150*time.Millisecond, "how often each scrubber asks for a new moment (the slider sends one every 150 ms while dragged)")
	fs.StringVar(&sf.readToken, "read-token", "", "`token` the scrubbers read with, where the server requires one (auth.read: token)")
	fs.DurationVar(&sf.scrubSlice, "scrub-slice", 5*time.Second, "with --scrubbers: alternate this long without scrubbing and this long with it through the push window, and report the live latency of each apart (0: scrub the whole window)")
}

func (sf *scrubFlags) check() []error {
	var errs []error
	if sf.scrubbers < 0 || sf.scrubbers > maxScrubbers {
		errs = append(errs, fmt.Errorf("--scrubbers %d is out of range (0 to %d)", sf.scrubbers, maxScrubbers))
	}
	if sf.scrubbers > 0 && sf.scrubEvery < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("--scrub-every %s is too short (at least 10ms)", sf.scrubEvery))
	}
	if sf.scrubSlice < 0 || (sf.scrubSlice > 0 && sf.scrubSlice < 100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("--scrub-slice %s: 0, or at least 100ms", sf.scrubSlice))
	}
	return errs
}

// scrubPhase says whether scrubbing went on at a moment of the run.
// Written once (begin) before any reader sees a non-zero start.
type scrubPhase struct {
	start atomic.Int64  // when pushing started, in ns since base, plus one; 0: not yet
	slice time.Duration // 0: all of the window scrubs
}

func (p *scrubPhase) begin(sinceBase time.Duration) { p.start.Store(int64(sinceBase) + 1) }

// scrubbing reports whether scrubbing went on at sinceBase (ns since the
// run's base): never before pushing starts; with slices, the odd ones.
func (p *scrubPhase) scrubbing(sinceBase time.Duration) bool {
	s := p.start.Load()
	if s == 0 {
		return false
	}
	d := sinceBase - time.Duration(s-1)
	if d < 0 {
		return false
	}
	return p.slice == 0 || (d/p.slice)%2 == 1
}

// scrubResult is what the scrubbers saw, and the live latency apart.
type scrubResult struct {
	Scrubbers              int
	Every, Slice           time.Duration
	Moments                uint64 // moments asked for (GET /api/v1/log answered)
	OK, Busy, Moved, Other uint64 // frame requests: 200, 429, cancelled by the next moment, anything else
	LogFailed              uint64
	P50, P90, P99, Max     time.Duration // of the 200s
	Quiet, Scrub           phaseResult
	FirstError             string
}

// phaseResult is the live latency and the server's CPU in one phase.
type phaseResult struct {
	N             uint64
	P50, P90, P99 time.Duration
	Max           time.Duration
	Window        time.Duration // time spent in the phase
	ServerCPU     float64       // cores, on average; NaN if not measured
	OtherCPU      float64       // cores every other process used; NaN if not measured
}

// scrubStats is what the scrubbers add to.
type scrubStats struct {
	moments, ok, busy, moved, other, logFailed atomic.Uint64
	lat                                        histogram
	firstErr                                   atomic.Pointer[string]
}

func (s *scrubStats) noteErr(msg string) { s.firstErr.CompareAndSwap(nil, &msg) }

// scrubber is one simulated page.
type scrubber struct {
	client *http.Client
	target string
	charts []string
	rng    *rand.Rand
	st     *scrubStats
	token  string
}

// run asks for a new moment every `every` while phase says scrub, until
// ctx ends; each moment cancels the one before.
func (s *scrubber) run(ctx context.Context, every time.Duration, phase *scrubPhase, base time.Time) {
	// Pages do not drag in step.
	if !sleepUntil(ctx, time.Now().Add(time.Duration(s.rng.Int64N(int64(every))))) {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	cancel := context.CancelFunc(func() {})
	var inflight sync.WaitGroup
	defer func() { cancel(); inflight.Wait() }()
	for {
		cancel() // the page moved on: what is still out is dropped
		if phase.scrubbing(time.Since(base)) {
			mctx, c := context.WithCancel(ctx)
			cancel = c
			inflight.Go(func() { s.moment(mctx) })
		} else {
			cancel = func() {}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// moment does what the page does for one position of the slider.
func (s *scrubber) moment(ctx context.Context) {
	first, last, ok := s.span(ctx)
	if !ok {
		return
	}
	s.st.moments.Add(1)
	at := first
	if d := last.Sub(first); d > 0 {
		at = first.Add(time.Duration(s.rng.Int64N(int64(d))))
	}
	q := url.QueryEscape(at.UTC().Format(time.RFC3339Nano))
	var wg sync.WaitGroup
	for _, id := range s.charts {
		wg.Go(func() { s.frame(ctx, s.target+"/api/v1/charts/"+url.PathEscape(id)+"/frame?at="+q) })
	}
	wg.Wait()
}

// span is GET /api/v1/log: the moments that can be shown.
func (s *scrubber) span(ctx context.Context) (first, last time.Time, ok bool) {
	var ans struct {
		First *time.Time `json:"first"`
		Last  time.Time  `json:"last"`
	}
	status, body, err := s.get(ctx, s.target+"/api/v1/log")
	switch {
	case ctx.Err() != nil:
		return first, last, false
	case err != nil:
		s.st.noteErr("GET /api/v1/log: " + err.Error())
	case status != http.StatusOK:
		s.st.noteErr(fmt.Sprintf("GET /api/v1/log: %d %s", status, body))
	case json.Unmarshal(body, &ans) != nil:
		s.st.noteErr(fmt.Sprintf("GET /api/v1/log: unreadable answer %q", body))
	case ans.First == nil:
		s.st.noteErr("GET /api/v1/log: the log holds nothing yet")
	default:
		return *ans.First, ans.Last, true
	}
	s.st.logFailed.Add(1)
	return first, last, false
}

// frame GETs one frame at a moment and counts the answer.
func (s *scrubber) frame(ctx context.Context, u string) {
	start := time.Now()
	status, body, err := s.get(ctx, u)
	switch {
	case ctx.Err() != nil:
		s.st.moved.Add(1)
	case err != nil:
		s.st.other.Add(1)
		s.st.noteErr("GET " + u + ": " + err.Error())
	case status == http.StatusOK:
		s.st.ok.Add(1)
		s.st.lat.record(time.Since(start))
	case status == http.StatusTooManyRequests:
		s.st.busy.Add(1)
	default:
		s.st.other.Add(1)
		s.st.noteErr(fmt.Sprintf("GET %s: %d %s", u, status, body))
	}
}

func (s *scrubber) get(ctx context.Context, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// scrubRun is the scrubbers of one run, started before the push window.
type scrubRun struct {
	sf    scrubFlags
	phase *scrubPhase
	st    *scrubStats
	pid   int
	stop  context.CancelFunc
	wg    sync.WaitGroup

	mu          sync.Mutex
	window      [2]time.Duration // by phase: 0 quiet, 1 scrubbing
	srv, others [2]time.Duration
	cpuOK       bool
}

// startScrub starts sc's scrubbers and the clock of the phases; pushing
// starts now.
func startScrub(ctx context.Context, sc scenario, target string, base time.Time, phase *scrubPhase, pid int) *scrubRun {
	sr := &scrubRun{sf: sc.scrubFlags, phase: phase, st: &scrubStats{}, pid: pid, cpuOK: pid > 0}
	sctx, stop := context.WithCancel(ctx)
	sr.stop = stop
	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: sc.scrubbers * (sc.charts + 1),
		DisableCompression:  true,
	}, Timeout: 30 * time.Second}
	ids := sc.dashboardIDs()
	for i := range sc.scrubbers {
		d := i % len(ids)
		charts := make([]string, sc.charts)
		for c := range charts {
			charts[c] = chartPrefix + strconv.Itoa(d*sc.charts+c)
		}
		s := &scrubber{client: client, target: target, charts: charts, rng: rand.New(rand.NewPCG(uint64(i), 14)), st: sr.st, token: sc.readToken}
		sr.wg.Go(func() { s.run(sctx, sc.scrubEvery, sr.phase, base) })
	}
	sr.phase.begin(time.Since(base))
	sr.wg.Go(func() { sr.clock(sctx) })
	return sr
}

// clock reads the server's CPU at each boundary of the phases and adds
// what it used to the phase that ends.
func (sr *scrubRun) clock(ctx context.Context) {
	slice := sr.phase.slice
	if slice == 0 {
		slice = time.Hour // one phase: read at the end only
	}
	phase := 0
	if sr.phase.slice == 0 {
		phase = 1
	}
	readAll := func() (srv, busy time.Duration, ok bool) {
		s, err1 := cpuTime(sr.pid)
		b, err2 := machineBusy()
		return s, b, err1 == nil && err2 == nil
	}
	t0 := time.Now()
	srv0, busy0, ok0 := readAll()
	for {
		end := t0.Add(slice)
		done := !sleepUntil(ctx, end)
		srv1, busy1, ok1 := readAll()
		t1 := time.Now()
		sr.mu.Lock()
		sr.window[phase] += t1.Sub(t0)
		if ok0 && ok1 {
			sr.srv[phase] += srv1 - srv0
			sr.others[phase] += max(busy1-busy0-(srv1-srv0), 0)
		} else {
			sr.cpuOK = false
		}
		sr.mu.Unlock()
		if done {
			return
		}
		t0, srv0, busy0, ok0 = t1, srv1, busy1, ok1
		if sr.phase.slice > 0 {
			phase ^= 1
		}
	}
}

// finish stops the scrubbers and fills res.Scrub; lat is the live latency
// of each phase (0 quiet, 1 scrubbing).
func (sr *scrubRun) finish(res *result, lat [2]*latencies) {
	sr.stop()
	sr.wg.Wait()
	st := sr.st
	l := merge([]*histogram{&st.lat})
	out := &scrubResult{
		Scrubbers: sr.sf.scrubbers, Every: sr.sf.scrubEvery, Slice: sr.sf.scrubSlice,
		Moments: st.moments.Load(), OK: st.ok.Load(), Busy: st.busy.Load(), Moved: st.moved.Load(), Other: st.other.Load(),
		LogFailed: st.logFailed.Load(),
		P50:       l.percentile(0.5), P90: l.percentile(0.9), P99: l.percentile(0.99), Max: time.Duration(l.max) * time.Microsecond,
	}
	if e := st.firstErr.Load(); e != nil {
		out.FirstError = *e
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	for i, p := range []*phaseResult{&out.Quiet, &out.Scrub} {
		p.N = lat[i].n
		p.P50, p.P90, p.P99 = lat[i].percentile(0.5), lat[i].percentile(0.9), lat[i].percentile(0.99)
		p.Max = time.Duration(lat[i].max) * time.Microsecond
		p.Window = sr.window[i]
		p.ServerCPU, p.OtherCPU = math.NaN(), math.NaN()
		if sr.cpuOK && p.Window > 0 {
			p.ServerCPU = sr.srv[i].Seconds() / p.Window.Seconds()
			p.OtherCPU = sr.others[i].Seconds() / p.Window.Seconds()
		}
	}
	res.Scrub = out
}

// print writes the scrubbing lines of a result.
func (s *scrubResult) print(w io.Writer) {
	slice := "the whole window"
	if s.Slice > 0 {
		slice = fmt.Sprintf("alternate slices of %s (quiet first)", s.Slice)
	}
	fmt.Fprintf(w, "scrubbing:             %d pages, a moment each every %s, over %s\n", s.Scrubbers, s.Every, slice)
	for _, p := range []struct {
		name string
		r    phaseResult
	}{{"live without scrub:    ", s.Quiet}, {"live while scrubbing:  ", s.Scrub}} {
		if p.r.Window == 0 {
			continue
		}
		fmt.Fprintf(w, "%sp50 %s  p90 %s  p99 %s  max %s  (%d probes POSTed in %s)", p.name,
			fmtDur(p.r.P50), fmtDur(p.r.P90), fmtDur(p.r.P99), fmtDur(p.r.Max), p.r.N, p.r.Window.Round(time.Millisecond))
		if !math.IsNaN(p.r.ServerCPU) {
			fmt.Fprintf(w, "; server %.2f cores, others %.2f", p.r.ServerCPU, p.r.OtherCPU)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "scrub answers:         %d moments; frames 200: %d, 429: %d, dropped by the next moment: %d, other: %d; /api/v1/log failed %d\n",
		s.Moments, s.OK, s.Busy, s.Moved, s.Other, s.LogFailed)
	fmt.Fprintf(w, "scrub latency (200s):  p50 %s  p90 %s  p99 %s  max %s\n", fmtDur(s.P50), fmtDur(s.P90), fmtDur(s.P99), fmtDur(s.Max))
	if s.FirstError != "" {
		fmt.Fprintf(w, "first scrub error:     %s\n", strings.TrimSpace(s.FirstError))
	}
}
