package rewind_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/rewind"
)

// clock is an injected clock, set by the test.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }

// capture keeps the last frame published per chart.
type capture struct {
	mu     sync.Mutex
	frames map[string][]byte
}

func (c *capture) Publish(topic string, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frames == nil {
		c.frames = map[string][]byte{}
	}
	c.frames[topic] = msg
}
func (c *capture) Flush() {}

// gate holds each batch the follower delivers until the test lets it pass,
// so that the board applies it only once its clock reads the moment the
// test chose.
type gate struct {
	board *charts.Board
	pass  chan struct{}
}

func (g *gate) Accept(ctx context.Context, batch []ingest.Sample) error {
	return errors.New("the gate takes batches from the log only")
}

func (g *gate) AcceptAt(ctx context.Context, batch []ingest.Sample, pos charts.Position) error {
	select {
	case <-g.pass:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.board.AcceptAt(ctx, batch, pos)
}

func testDashboard() charts.Dashboard {
	d := charts.Dashboard{ID: "web", Title: "Web", Charts: []charts.Chart{
		{ID: "by-route", Metric: "req", X: "route", Series: "status", Agg: "sum", Window: charts.Duration(20 * time.Second), Type: "stacked"},
		{ID: "last-route", Metric: "req", X: "route", Agg: "last", Window: charts.Duration(5 * time.Second)},
		{ID: "top-max", Metric: "lat", X: "host", Agg: "max", Window: charts.Duration(10 * time.Second), Top: 3, Sort: "value"},
		{ID: "timeline", Metric: "req", X: charts.TimeAxis, Bucket: charts.Duration(time.Second), Window: charts.Duration(15 * time.Second), Series: "status", Agg: "count"},
		{ID: "rate", Metric: "lat", X: "host", Agg: "rate", Window: charts.Duration(8 * time.Second)},
		{ID: "forever", Metric: "lat", X: "host", Agg: "avg"},
		// Charts of one metric apart by a tag (rewind's router indexes
		// them by status), beside those that take every status.
		{ID: "ok-routes", Metric: "req", X: "route", Agg: "sum", Where: map[string]string{"status": "200"}, Window: charts.Duration(20 * time.Second)},
		{ID: "err-routes", Metric: "req", X: "route", Agg: "count", Where: map[string]string{"status": "500"}, Window: charts.Duration(20 * time.Second)},
		{ID: "a-404", Metric: "req", X: "status", Agg: "sum", Where: map[string]string{"route": "/a", "status": "404"}, Window: charts.Duration(20 * time.Second)},
		{ID: "pushed"},
	}}
	if err := d.Check(); err != nil {
		panic(err)
	}
	return d
}

func openJournal(t testing.TB) *journal.Journal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := journal.Open(ctx, journal.Config{})
	if err != nil {
		t.Fatalf("journal.Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// batch is n random samples of the test dashboard's metrics, timed between
// oldest and newest.
func batch(rng *rand.Rand, n int, oldest, newest time.Time) []ingest.Sample {
	routes := []string{"/a", "/b", "/c", "/d"}
	statuses := []string{"200", "404", "500"}
	hosts := []string{"h1", "h2", "h3", "h4", "h5"}
	span := newest.Sub(oldest)
	out := make([]ingest.Sample, 0, n)
	for range n {
		at := oldest.Add(time.Duration(rng.Int64N(int64(span) + 1)))
		if rng.IntN(2) == 0 {
			out = append(out, ingest.Sample{Metric: "req", Field: "value", Value: float64(rng.IntN(10)), Time: at,
				Tags: []ingest.Tag{{Key: "route", Value: routes[rng.IntN(len(routes))]}, {Key: "status", Value: statuses[rng.IntN(len(statuses))]}}})
		} else {
			out = append(out, ingest.Sample{Metric: "lat", Field: "value", Value: rng.Float64() * 100, Time: at,
				Tags: []ingest.Tag{{Key: "host", Value: hosts[rng.IntN(len(hosts))]}}})
		}
	}
	return out
}

// shown is what a frame shows: its categories and series as JSON.
func shown(t testing.TB, frame []byte) string {
	t.Helper()
	var f struct {
		Categories json.RawMessage `json:"categories"`
		Series     json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		t.Fatalf("frame %s: %v", frame, err)
	}
	return string(f.Categories) + " " + string(f.Series)
}

// live runs a board fed by the journal's follower through a gate, with an
// injected clock, and records the frame of every metric chart at each
// moment it is moved to.
type live struct {
	t     testing.TB
	j     *journal.Journal
	clk   *clock
	board *charts.Board
	g     *gate
	pub   *capture
	n     uint64 // samples published
}

func startLive(t testing.TB, j *journal.Journal, d charts.Dashboard, clk *clock) *live {
	t.Helper()
	pub := &capture{}
	board := charts.NewBoard(charts.Config{Now: clk.now, MaxFPS: 1000, History: j}, pub)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = board.Run(ctx) })
	if err := board.SetDashboards(ctx, []charts.Dashboard{d}); err != nil {
		t.Fatal(err)
	}
	g := &gate{board: board, pass: make(chan struct{}, 1024)}
	wg.Go(func() { _ = j.Follow(ctx, g, journal.FollowConfig{}) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &live{t: t, j: j, clk: clk, board: board, g: g, pub: pub}
}

// step stores samples, moves the clock to a moment after they are stored,
// lets the board apply them at that moment and returns it with what every
// metric chart of d showed then.
func (l *live) step(d charts.Dashboard, samples []ingest.Sample) (time.Time, map[string]string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.j.Accept(ctx, samples); err != nil {
		l.t.Fatalf("Accept: %v", err)
	}
	at := time.Now()
	l.clk.set(at)
	l.g.pass <- struct{}{}
	l.n += uint64(len(samples))
	for l.board.Stats().Applied < l.n {
		if ctx.Err() != nil {
			l.t.Fatalf("the board applied %d of %d samples", l.board.Stats().Applied, l.n)
		}
		time.Sleep(time.Millisecond)
	}
	out := map[string]string{}
	for _, c := range d.Charts {
		if c.Metric == "" {
			continue
		}
		f, err := l.board.Frame(ctx, c.ID)
		if err != nil {
			l.t.Fatal(err)
		}
		out[c.ID] = shown(l.t, f)
	}
	return at, out
}

// TestMomentIsWhatTheLiveBoardShowed: the frame rewind computes from the
// log for a moment T is the frame a live board, fed from the same log,
// showed at T, for every kind of chart (windows, buckets, top N, each
// aggregate, no window).
func TestMomentIsWhatTheLiveBoardShowed(t *testing.T) {
	t.Parallel()
	j := openJournal(t)
	d := testDashboard()
	clk := newClock(time.Now())
	l := startLive(t, j, d, clk)
	rng := rand.New(rand.NewPCG(14, 14))

	type seen struct {
		at     time.Time
		frames map[string]string
	}
	var moments []seen
	prev := time.Now()
	for i := range 30 {
		// Samples up to 25 s older than the last moment: some land
		// outside the shorter windows, some in old buckets.
		samples := batch(rng, 20+rng.IntN(40), prev.Add(-25*time.Second), prev)
		at, frames := l.step(d, samples)
		if i%3 == 0 {
			moments = append(moments, seen{at, frames})
		}
		prev = at
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
	}

	rw := rewind.New(rewind.Config{Log: j, Replay: j, Now: clk.now})
	set := rewind.Set{Key: d.ID, Charts: d.Charts}
	ctx := context.Background()
	for _, m := range moments {
		got, err := rw.Moment(ctx, set, m.at)
		if err != nil {
			t.Fatalf("Moment(%s): %v", m.at, err)
		}
		for id, want := range m.frames {
			f, ok := got.Frame(id)
			if !ok {
				t.Fatalf("no frame for %s", id)
			}
			if g := shown(t, rewind.AppendJSON(nil, &f, m.at, got.Through.Seq)); g != want {
				t.Errorf("chart %s at %s:\n rewound %s\n live    %s", id, m.at.Format(time.RFC3339Nano), g, want)
			}
		}
		if _, ok := got.Frame("pushed"); ok {
			t.Errorf("a push chart got a rewound frame; its data is not in the log")
		}
	}
}

func TestMomentRefusesWhatTheLogCannotShow(t *testing.T) {
	t.Parallel()
	j := openJournal(t)
	d := testDashboard()
	clk := newClock(time.Now())
	rw := rewind.New(rewind.Config{Log: j, Replay: j, Now: clk.now})
	set := rewind.Set{Key: d.ID, Charts: d.Charts}
	ctx := context.Background()

	var re *rewind.RangeError
	if _, err := rw.Moment(ctx, set, clk.now().Add(-time.Second)); !errors.As(err, &re) {
		t.Fatalf("an empty log: got %v, want a RangeError", err)
	}
	start := time.Now()
	if err := j.Accept(ctx, batch(rand.New(rand.NewPCG(1, 2)), 10, start.Add(-time.Second), start)); err != nil {
		t.Fatal(err)
	}
	clk.set(time.Now().Add(time.Second))
	first, _, err := j.Bounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]time.Time{
		"in the future":              clk.now().Add(time.Millisecond),
		"before the log":             first.Time.Add(-time.Millisecond),
		"long before the log began":  time.Unix(0, 0),
		"a year after the log's end": clk.now().AddDate(1, 0, 0),
	}
	for name, at := range tests {
		_, err := rw.Moment(ctx, set, at)
		if !errors.As(err, &re) {
			t.Errorf("%s: got %v, want a RangeError", name, err)
			continue
		}
		if !re.First.Equal(first.Time) || !re.Last.Equal(clk.now()) {
			t.Errorf("%s: the error names the range %s to %s, want %s to %s", name, re.First, re.Last, first.Time, clk.now())
		}
	}
	if _, err := rw.Moment(ctx, set, first.Time); err != nil {
		t.Errorf("the first moment of the log: %v", err)
	}
}

// slowLog is the journal with a replay that waits until released, so that
// rewinds stay in flight.
type slowLog struct {
	*journal.Journal
	release chan struct{}
	started atomic.Int32
}

func (s *slowLog) ReplayRange(ctx context.Context, after, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	s.started.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Journal.ReplayRange(ctx, after, through, apply)
}

// TestRewindsAreSharedBoundedAndCancelled: callers of the same moment share
// one computation; past MaxRewinds a new moment is refused with a
// BusyError; a computation whose callers all left is cancelled and frees
// its place.
func TestRewindsAreSharedBoundedAndCancelled(t *testing.T) {
	t.Parallel()
	j := openJournal(t)
	d := testDashboard()
	ctx := context.Background()
	start := time.Now()
	if err := j.Accept(ctx, batch(rand.New(rand.NewPCG(3, 4)), 50, start.Add(-5*time.Second), start)); err != nil {
		t.Fatal(err)
	}
	clk := newClock(time.Now().Add(time.Second))
	slow := &slowLog{Journal: j, release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	rw := rewind.New(rewind.Config{Log: j, Replay: slow, Now: clk.now, MaxRewinds: 2, Registerer: reg})
	set := rewind.Set{Key: d.ID, Charts: d.Charts}
	at := clk.now()

	// Three callers of one moment, one of another: two computations.
	type result struct {
		m   *rewind.Moment
		err error
	}
	results := make(chan result, 4)
	ask := func(ctx context.Context, at time.Time) {
		m, err := rw.Moment(ctx, set, at)
		results <- result{m, err}
	}
	for range 3 {
		go ask(ctx, at)
	}
	cctx, cancel := context.WithCancel(ctx)
	go ask(cctx, at.Add(-time.Millisecond))
	// Both computations reach the log, and all three callers of the first
	// moment have joined it (a caller that came after it ended would
	// compute it again, and the count of shared ones below would be one
	// short: it once was, under load).
	for slow.started.Load() < 2 || rw.Waiters(set, at) < 3 {
		time.Sleep(time.Millisecond)
	}
	// Full: a third moment is refused.
	_, err := rw.Moment(ctx, set, at.Add(-2*time.Millisecond))
	if wait, busy := rewind.IsBusy(err); !busy || wait <= 0 {
		t.Fatalf("a third moment with two running: got %v, want a BusyError", err)
	}
	if n := slow.started.Load(); n != 2 {
		t.Fatalf("%d computations started for two moments", n)
	}
	// The lone caller leaves: its computation is cancelled and frees its place.
	cancel()
	if r := <-results; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("the caller that left: got %v", r.err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		go ask(ctx, at.Add(-3*time.Millisecond))
		// Either the ask is refused (its answer comes) or its computation
		// reaches the log (the cancelled one's place was freed): wait for
		// whichever happens, however long the computation takes to get
		// there. (A fixed wait here once let a slow start slip past the
		// check, and the test then waited for an answer held by release.)
		var r result
		answered := false
		for !answered && slow.started.Load() < 3 {
			select {
			case r = <-results:
				answered = true
			case <-time.After(time.Millisecond):
			}
		}
		if !answered {
			break // started: its answer comes after release, with the others
		}
		if _, busy := rewind.IsBusy(r.err); !busy || time.Now().After(deadline) {
			t.Fatalf("after a cancel: got %v, want the place freed", r.err)
		}
	}
	close(slow.release)
	var frames []string
	for range 4 {
		r := <-results
		if r.err != nil {
			t.Fatalf("Moment: %v", r.err)
		}
		f, _ := r.m.Frame("by-route")
		frames = append(frames, fmt.Sprint(f.Categories, f.Series))
	}
	if frames[0] != frames[1] {
		t.Errorf("callers of one moment got different frames: %s, %s", frames[0], frames[1])
	}
	// The metrics say what happened: two callers joined a computation,
	// one left, refusals were counted.
	for result, least := range map[string]float64{"shared": 2, "computed": 2, "cancelled": 1, "busy": 1} {
		if got := counterOf(reg, "dashd_rewind_moments_total", result); got < least {
			t.Errorf("dashd_rewind_moments_total{result=%q} = %v, want at least %v", result, got, least)
		}
	}
}

// counterOf is the value of counter name with label result.
func counterOf(reg *prometheus.Registry, name, result string) float64 {
	mfs, _ := reg.Gather()
	v := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					v = m.GetCounter().GetValue()
				}
			}
		}
	}
	return v
}

// counting is the journal's checkpoints, counting those it hands out.
type counting struct {
	*journal.Journal
	used  atomic.Int32
	calls atomic.Int32 // look-ups, whatever they found
}

func (c *counting) CheckpointBefore(ctx context.Context, seq uint64) (*charts.Checkpoint, error) {
	c.calls.Add(1)
	cp, err := c.Journal.CheckpointBefore(ctx, seq)
	if cp != nil {
		c.used.Add(1)
	}
	return cp, err
}

// TestMomentIsTheSameWithAndWithoutACheckpoint: a rewind that starts from a
// checkpoint of the live board's views gives the frames of a rewind that
// replays the whole log, and the live board's; a checkpoint taken for
// another definition of a chart is not used for it.
func TestMomentIsTheSameWithAndWithoutACheckpoint(t *testing.T) {
	t.Parallel()
	j := openJournal(t)
	d := testDashboard()
	clk := newClock(time.Now())
	l := startLive(t, j, d, clk)
	rng := rand.New(rand.NewPCG(20, 14))
	ctx := context.Background()

	type seen struct {
		at     time.Time
		frames map[string]string
	}
	var moments []seen
	prev := time.Now()
	for i := range 24 {
		at, frames := l.step(d, batch(rng, 20+rng.IntN(40), prev.Add(-25*time.Second), prev))
		moments = append(moments, seen{at, frames})
		prev = at
		if i == 8 || i == 16 {
			cp, err := l.board.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.PutCheckpoint(ctx, cp); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
	}

	cps := &counting{Journal: j}
	with := rewind.New(rewind.Config{Log: j, Replay: j, Checkpoints: cps, Now: clk.now})
	without := rewind.New(rewind.Config{Log: j, Replay: j, Now: clk.now})
	set := rewind.Set{Key: d.ID, Charts: d.Charts}
	for _, m := range moments {
		a, err := with.Moment(ctx, set, m.at)
		if err != nil {
			t.Fatal(err)
		}
		b, err := without.Moment(ctx, set, m.at)
		if err != nil {
			t.Fatal(err)
		}
		for id, live := range m.frames {
			fa, _ := a.Frame(id)
			fb, _ := b.Frame(id)
			ga, gb := shown(t, fa.AppendJSON(nil)), shown(t, fb.AppendJSON(nil))
			if ga != gb || ga != live {
				t.Errorf("chart %s at %s:\n with a checkpoint %s\n without           %s\n live              %s", id, m.at.Format(time.RFC3339Nano), ga, gb, live)
			}
		}
	}
	if cps.used.Load() == 0 {
		t.Fatal("no rewind started from a checkpoint")
	}

	// A scrubbing page asks for many moments after the same checkpoint:
	// it is read from the store once, and every rewind gives the frames
	// the live board showed.
	memo := &counting{Journal: j}
	scrub := rewind.New(rewind.Config{Log: j, Replay: j, Checkpoints: memo, Now: clk.now})
	for i := len(moments) - 1; i > 16; i-- {
		m := moments[i]
		a, err := scrub.Moment(ctx, set, m.at)
		if err != nil {
			t.Fatal(err)
		}
		for id, live := range m.frames {
			fa, _ := a.Frame(id)
			if got := shown(t, fa.AppendJSON(nil)); got != live {
				t.Errorf("chart %s at %s, scrubbing back: %s, live %s", id, m.at.Format(time.RFC3339Nano), got, live)
			}
		}
	}
	if n, used := memo.calls.Load(), memo.used.Load(); n != 1 || used != 1 {
		t.Errorf("scrubbing back over 7 moments after one checkpoint read checkpoints %d times (%d found one); want once", n, used)
	}

	// A chart redefined since (another filter) must not start from the
	// state of its old definition.
	changed := d
	changed.Charts = append([]charts.Chart(nil), d.Charts...)
	changed.Charts[0].Where = map[string]string{"status": "200"}
	cset := rewind.Set{Key: d.ID, Charts: changed.Charts}
	last := moments[len(moments)-1].at
	a, err := with.Moment(ctx, cset, last)
	if err != nil {
		t.Fatal(err)
	}
	b, err := without.Moment(ctx, cset, last)
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a.Frame("by-route")
	fb, _ := b.Frame("by-route")
	if ga, gb := shown(t, fa.AppendJSON(nil)), shown(t, fb.AppendJSON(nil)); ga != gb {
		t.Errorf("a redefined chart:\n with a checkpoint %s\n without           %s", ga, gb)
	}
}

// TestACheckpointTakenAfterTheMomentIsNotUsed: the log was quiet after a
// moment, and the checkpoint taken later holds views that forgot, as time
// passed, what their windows still held at the moment. A rewind to the
// moment must not start from it (TestClusterRewind saw an empty chart on
// a restarted node, whose shutdown checkpoint came after the moment).
func TestACheckpointTakenAfterTheMomentIsNotUsed(t *testing.T) {
	t.Parallel()
	j := openJournal(t)
	d := testDashboard()
	clk := newClock(time.Now())
	l := startLive(t, j, d, clk)
	rng := rand.New(rand.NewPCG(7, 11))
	ctx := context.Background()
	now := time.Now()
	at, frames := l.step(d, batch(rng, 60, now.Add(-3*time.Second), now))

	// Later, with nothing new in the log: every window has moved past the
	// samples, and the views forget them when they build a frame.
	// (The board notices a window's move on its next shift tick.)
	clk.set(at.Add(time.Minute))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		f, err := l.board.Frame(ctx, "by-route")
		if err != nil {
			t.Fatal(err)
		}
		if shown(t, f) == "[] []" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute later the board still shows %s", shown(t, f))
		}
	}
	cp, err := l.board.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cp.Taken.Equal(clk.now()) {
		t.Fatalf("the checkpoint says it was taken at %s, the board's clock is at %s", cp.Taken, clk.now())
	}
	if err := j.PutCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}

	rw := rewind.New(rewind.Config{Log: j, Replay: j, Checkpoints: j, Now: clk.now})
	m, err := rw.Moment(ctx, rewind.Set{Key: d.ID, Charts: d.Charts}, at)
	if err != nil {
		t.Fatal(err)
	}
	for id, live := range frames {
		f, _ := m.Frame(id)
		if got := shown(t, f.AppendJSON(nil)); got != live {
			t.Errorf("chart %s at %s:\n rewound %s\n live    %s", id, at.Format(time.RFC3339Nano), got, live)
		}
	}
}
