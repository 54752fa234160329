package rewind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// Log finds moments in the log (journal.Journal).
type Log interface {
	// Bounds are the positions of the oldest and the newest message the
	// log holds (zero positions when it holds none).
	Bounds(ctx context.Context) (first, last charts.Position, err error)
	// PositionAt is the position of the last message stored at or before
	// t (the zero position when there is none).
	PositionAt(ctx context.Context, t time.Time) (charts.Position, error)
}

// Replayer reads a range of the log (journal.Journal).
type Replayer interface {
	// ReplayRange hands apply, in order, every batch after position after
	// up to and including through, each with the position of its last
	// message.
	ReplayRange(ctx context.Context, after, through uint64, apply func([]ingest.Sample, charts.Position) error) error
}

// Checkpoints finds stored view state (journal.Journal).
type Checkpoints interface {
	// CheckpointBefore is the newest checkpoint at or before seq whose
	// position the log still holds (nil, nil: none).
	CheckpointBefore(ctx context.Context, seq uint64) (*charts.Checkpoint, error)
}

// Config is what New needs. Log and Replay are required.
type Config struct {
	Log    Log
	Replay Replayer
	// Checkpoints, if set, shorten a rewind to a replay from the newest
	// checkpoint before the moment; nil replays from the start each
	// chart's window needs (correct, slower).
	Checkpoints Checkpoints
	// Limits are the board's (charts.Config.Limits): a rewound view must
	// fold what the live one folded.
	Limits charts.Limits
	// MaxFuture is how far past its arrival a sample's time may lie
	// (default ingest.DefaultMaxFuture): a window at T needs the log from
	// T − lookback − MaxFuture.
	MaxFuture time.Duration
	// MaxRewinds is how many moments may be computed at once (default
	// half the CPUs Go may use, at least one: live viewers and ingest keep
	// the other half whatever scrubbing asks for).
	MaxRewinds int
	// MaxCells bounds the accumulators the views of the running rewinds
	// may hold together, reckoned from their definitions (default
	// 1,000,000, about 100 MB at worst). One rewind alone always runs.
	MaxCells int
	// MaxReplays is how many replay streams may run at once (default 16).
	MaxReplays int
	// RetryAfter is what a refused caller is told to wait (default 1s).
	RetryAfter time.Duration
	// Now is the clock (default time.Now): a moment after it is refused.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer gets the dashd_rewind_* metrics; nil registers nowhere.
	Registerer prometheus.Registerer
}

// metrics are a Rewinder's counters.
type metrics struct {
	moments  *prometheus.CounterVec // by result
	seconds  prometheus.Histogram
	replayed prometheus.Counter
	replays  prometheus.Gauge
	// checkpoints counts the checkpoints a rewind started from, by
	// source: read from the store, or from the memo (checkpoints.go).
	checkpoints *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		moments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dashd_rewind_moments_total",
			Help: "Past moments asked for, by result: computed, shared (joined one being computed), busy (429), out_of_range (400), cancelled, failed."}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dashd_rewind_moment_seconds",
			Help: "Time to compute a past moment of a dashboard (checkpoint, replay, frames).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_rewind_replayed_samples_total",
			Help: "Samples read again from the log by rewinds and replays."}),
		replays: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_rewind_replays",
			Help: "Replay streams open."}),
		checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dashd_rewind_checkpoint_lookups_total",
			Help: "Checkpoint look-ups of rewinds and replays, by source: read (from the store) or memo (the same answer, kept a few seconds)."}, []string{"source"}),
	}
	if reg != nil {
		reg.MustRegister(m.moments, m.seconds, m.replayed, m.replays, m.checkpoints)
	}
	return m
}

// Rewinder computes past moments. Make it with New; safe for concurrent
// use.
type Rewinder struct {
	cfg Config
	log *slog.Logger
	met metrics

	mu      sync.Mutex
	flights map[string]*flight
	running int // computations running
	cells   int // cells reserved by them
	replays int // replay streams open

	// first is the log's first moment, read at most once a boundsTTL
	// (every request asks for it): the oldest message moves rarely.
	first   time.Time
	firstAt time.Time

	cps []cpMemo // the checkpoints read last (checkpoints.go)
}

// boundsTTL is how long the log's first moment is taken as read.
const boundsTTL = time.Second

// New returns a Rewinder of cfg.
func New(cfg Config) *Rewinder {
	if cfg.MaxFuture <= 0 {
		cfg.MaxFuture = ingest.DefaultMaxFuture
	}
	if cfg.MaxRewinds <= 0 {
		cfg.MaxRewinds = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if cfg.MaxCells <= 0 {
		cfg.MaxCells = 1_000_000
	}
	if cfg.MaxReplays <= 0 {
		cfg.MaxReplays = 16
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Rewinder{cfg: cfg, log: cfg.Logger, met: newMetrics(cfg.Registerer), flights: map[string]*flight{}}
}

// BusyError refuses a rewind beyond the bounds: try again after RetryAfter.
type BusyError struct {
	RetryAfter time.Duration
	What       string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("too many %s at once; try again in %s", e.What, e.RetryAfter)
}

// RangeError refuses a moment the log cannot show: in the future, or
// before the oldest message it retains. First and Last are the range it
// can show (zero when the log is empty).
type RangeError struct {
	At          time.Time
	First, Last time.Time
	Why         string
}

func (e *RangeError) Error() string {
	if e.First.IsZero() {
		return fmt.Sprintf("%s %s: the log holds nothing yet, so there is no past to show", e.At.UTC().Format(time.RFC3339Nano), e.Why)
	}
	return fmt.Sprintf("%s %s: the log retains %s to %s", e.At.UTC().Format(time.RFC3339Nano), e.Why,
		e.First.UTC().Format(time.RFC3339Nano), e.Last.UTC().Format(time.RFC3339Nano))
}

// Range is the span of moments that can be shown: from the oldest message
// the log retains to now.
func (r *Rewinder) Range(ctx context.Context) (first, now time.Time, err error) {
	now = r.cfg.Now()
	r.mu.Lock()
	first, fresh := r.first, !r.firstAt.IsZero() && now.Sub(r.firstAt) < boundsTTL && now.After(r.firstAt)
	r.mu.Unlock()
	if fresh && !first.IsZero() {
		return first, now, nil
	}
	f, _, err := r.cfg.Log.Bounds(ctx)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("rewind: the log's bounds: %w", err)
	}
	r.mu.Lock()
	r.first, r.firstAt = f.Time, now
	r.mu.Unlock()
	return f.Time, now, nil
}

// Check says whether at can be shown: a *RangeError when it is in the
// future or older than the retained log.
func (r *Rewinder) Check(ctx context.Context, at time.Time) error {
	first, now, err := r.Range(ctx)
	if err != nil {
		return err
	}
	switch {
	case at.After(now):
		return &RangeError{At: at, First: first, Last: now, Why: "is in the future"}
	case first.IsZero():
		return &RangeError{At: at, Why: "cannot be shown"}
	case at.Before(first):
		return &RangeError{At: at, First: first, Last: now, Why: "is before the retained log"}
	}
	return nil
}

// Moment is what a set of charts showed at a past moment.
type Moment struct {
	At      time.Time       // the moment
	Through charts.Position // the last message applied (Seq 0: none)
	frames  map[string]charts.Frame
}

// Frame is the frame chart id showed at the moment; false for a chart not
// in the set, or a push chart (whose data is not in the log).
func (m *Moment) Frame(id string) (charts.Frame, bool) {
	f, ok := m.frames[id]
	return f, ok
}

// AppendJSON appends f's wire encoding (charts.Frame.AppendJSON) with two
// fields more, which only frames of a past moment carry:
//
//	…,"at":"RFC3339Nano","through":SEQ}
//
// at is the moment, through the stream sequence of the last log message
// the frame was computed through (0: none).
func AppendJSON(b []byte, f *charts.Frame, at time.Time, through uint64) []byte {
	b = f.AppendJSON(b)
	b = b[:len(b)-1] // the closing brace
	b = append(b, `,"at":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","through":`...)
	b = strconv.AppendUint(b, through, 10)
	return append(b, '}')
}

// Set is the charts computed together: a dashboard's, or one chart's.
type Set struct {
	// Key names the set for sharing work (a dashboard id, say); the
	// charts' definitions are added to it, so a changed definition is
	// never served a moment computed for the old one.
	Key    string
	Charts []charts.Chart
}

func (s Set) flightKey(at time.Time) string {
	var b strings.Builder
	b.WriteString(s.Key)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(at.UnixNano(), 10))
	for _, c := range s.Charts {
		b.WriteByte(0)
		b.WriteString(c.ID)
		b.WriteByte(0)
		b.WriteString(c.Hash())
	}
	return b.String()
}

// cost is the most accumulators the views of s may hold.
func (s Set) cost() int {
	n := 0
	for _, c := range s.Charts {
		n += min(c.Cells(), charts.MaxChartCells)
	}
	return n
}

// flight is one computation of a moment, shared by its callers.
type flight struct {
	done    chan struct{}
	m       *Moment
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Moment computes what the charts of set showed at at, sharing the work
// with every caller asking for the same set and moment meanwhile. It
// returns a *RangeError for a moment the log cannot show, a *BusyError
// beyond the bounds, or ctx's error when ctx ends first (the computation
// is cancelled once no caller waits for it).
func (r *Rewinder) Moment(ctx context.Context, set Set, at time.Time) (m *Moment, err error) {
	shared := false
	defer func() { r.met.moments.WithLabelValues(resultOf(err, shared)).Inc() }()
	if err := r.Check(ctx, at); err != nil {
		return nil, err
	}
	key := set.flightKey(at)
	r.mu.Lock()
	f := r.flights[key]
	if f == nil {
		cost := set.cost()
		if r.running >= r.cfg.MaxRewinds || (r.running > 0 && r.cells+cost > r.cfg.MaxCells) {
			r.mu.Unlock()
			return nil, &BusyError{RetryAfter: r.cfg.RetryAfter, What: "rewinds"}
		}
		r.running++
		r.cells += cost
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		r.flights[key] = f
		go func() {
			start := time.Now()
			f.m, f.err = r.compute(cctx, set.Charts, at)
			if f.err == nil {
				r.met.seconds.Observe(time.Since(start).Seconds())
			}
			cancel()
			r.mu.Lock()
			r.running--
			r.cells -= cost
			if r.flights[key] == f {
				delete(r.flights, key)
			}
			r.mu.Unlock()
			close(f.done)
		}()
	} else {
		shared = true
	}
	f.waiters++
	r.mu.Unlock()

	select {
	case <-f.done:
		return f.m, f.err
	case <-ctx.Done():
		r.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if r.flights[key] == f {
				delete(r.flights, key) // a later caller starts afresh
			}
		}
		r.mu.Unlock()
		return nil, ctx.Err()
	}
}

// state is the views of a set being rolled forward through the log.
type state struct {
	views   []*charts.View // the metric charts, in the set's order
	through charts.Position
}

// compute rebuilds the views of defs as of at and builds their frames.
func (r *Rewinder) compute(ctx context.Context, defs []charts.Chart, at time.Time) (*Moment, error) {
	st, err := r.start(ctx, defs, at)
	if err != nil {
		return nil, err
	}
	m := &Moment{At: at, Through: st.through, frames: make(map[string]charts.Frame, len(st.views))}
	for _, v := range st.views {
		f := v.Frame(at)
		m.frames[f.Chart] = f
	}
	return m, nil
}

// maxOlderCheckpoints bounds the checkpoints a rewind reads past those
// taken after its moment, before it replays from the start instead.
const maxOlderCheckpoints = 3

// start builds the views of defs' metric charts as of at: from the newest
// usable checkpoint, else empty, then every batch up to at's position.
func (r *Rewinder) start(ctx context.Context, defs []charts.Chart, at time.Time) (*state, error) {
	p, err := r.cfg.Log.PositionAt(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("rewind: the log position of %s: %w", at.UTC().Format(time.RFC3339Nano), err)
	}
	st := &state{through: p}
	var cp *charts.Checkpoint
	if r.cfg.Checkpoints != nil && p.Seq > 0 {
		cp, err = r.checkpointBefore(ctx, p.Seq)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Slower, not wrong: replay from the start instead.
			r.log.Warn("rewind: no checkpoint could be read; replaying from the start the windows need", "err", err)
			cp = nil
		}
		// A checkpoint taken after the moment (the log was quiet between
		// them) holds views that forgot, as time passed, what was still in
		// their windows at the moment: an older one, or none, stands for it.
		for tries := 0; cp != nil && cp.Taken.After(at); tries++ {
			if cp.At.Seq <= 1 || tries == maxOlderCheckpoints {
				cp = nil
				break
			}
			if cp, err = r.checkpointBefore(ctx, cp.At.Seq-1); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				cp = nil
			}
		}
	}
	saved := map[string]charts.ChartState{}
	if cp != nil {
		for _, cs := range cp.Charts {
			saved[cs.Chart] = cs
		}
	}
	var fresh, restored []*charts.View
	lookback, bounded := time.Duration(0), true
	for _, def := range defs {
		if def.Metric == "" {
			continue
		}
		if cs, ok := saved[def.ID]; ok && cs.Def == def.Hash() {
			v, err := charts.RestoreView(def, r.cfg.Limits, cs.State)
			if err == nil {
				st.views = append(st.views, v)
				restored = append(restored, v)
				continue
			}
			r.log.Warn("rewind: a chart's checkpointed state could not be restored; it is replayed", "chart", def.ID, "err", err)
		}
		v := charts.NewView(def, r.cfg.Limits)
		st.views = append(st.views, v)
		fresh = append(fresh, v)
		if l := def.Lookback(); l == 0 {
			bounded = false
		} else {
			lookback = max(lookback, l)
		}
	}
	if p.Seq == 0 || len(st.views) == 0 {
		return st, nil
	}
	// Fresh views start where their windows at `at` begin.
	var from uint64
	if len(fresh) > 0 && bounded {
		sp, err := r.cfg.Log.PositionAt(ctx, at.Add(-lookback-r.cfg.MaxFuture))
		if err != nil {
			return nil, fmt.Errorf("rewind: the log position where the windows begin: %w", err)
		}
		from = sp.Seq
	}
	cpSeq := uint64(0)
	if cp != nil && len(restored) > 0 {
		cpSeq = min(cp.At.Seq, p.Seq)
	}
	switch {
	case len(restored) == 0:
		err = r.apply(ctx, fresh, from, p.Seq, at)
	case len(fresh) == 0:
		err = r.apply(ctx, restored, cpSeq, p.Seq, at)
	case from < cpSeq:
		// Two legs of one pass: the fresh views alone up to the
		// checkpoint, which the restored ones already hold, then all.
		if err = r.apply(ctx, fresh, from, cpSeq, at); err == nil {
			err = r.apply(ctx, st.views, cpSeq, p.Seq, at)
		}
	default:
		// Whatever lies between the checkpoint and the fresh views' start
		// is older than their windows at `at`: they drop it.
		err = r.apply(ctx, st.views, cpSeq, p.Seq, at)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// yieldEvery is how many samples a rewind folds between two yields to the
// scheduler (about a millisecond of work on the four-chart benchmark).
const yieldEvery = 256

// apply feeds views every batch after position after up to through, as of
// at.
func (r *Rewinder) apply(ctx context.Context, views []*charts.View, after, through uint64, at time.Time) error {
	if through <= after {
		return nil
	}
	route := charts.NewRouter(views)
	err := r.cfg.Replay.ReplayRange(ctx, after, through, func(batch []ingest.Sample, _ charts.Position) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.met.replayed.Add(float64(len(batch)))
		for i := range batch {
			if i%yieldEvery == yieldEvery-1 {
				// Live viewers and ingest go first: a goroutine of theirs
				// that is ready runs now rather than at the next
				// preemption (10 ms away), and a rewind whose asker has
				// moved on stops here.
				runtime.Gosched()
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			s := &batch[i]
			rest, fixed := route.Candidates(s)
			for _, vs := range [2][]*charts.View{rest, fixed} {
				for _, v := range vs {
					if v.Matches(s) {
						v.Add(s, at)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("rewind: read the log: %w", err)
	}
	return nil
}

// resultOf is the label of a moment's result.
func resultOf(err error, shared bool) string {
	var re *RangeError
	switch {
	case err == nil && shared:
		return "shared"
	case err == nil:
		return "computed"
	case errors.As(err, &re):
		return "out_of_range"
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	if _, busy := IsBusy(err); busy {
		return "busy"
	}
	return "failed"
}

// IsBusy reports whether err is a *BusyError, and its wait.
func IsBusy(err error) (time.Duration, bool) {
	var b *BusyError
	if errors.As(err, &b) {
		return b.RetryAfter, true
	}
	return 0, false
}
