package charts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dashd/dashd/ingest"
)

// Config tunes a Board. The zero value of every field has a useful default.
type Config struct {
	// MaxFPS is the most frames per chart per second (default 10). The first
	// change after a quiet spell goes out at once; later ones are coalesced
	// into one frame at the end of the interval.
	MaxFPS float64
	// QueueLen is how many accepted batches may wait for the board
	// (default 4096). Past it, Accept answers with an *ingest.OverloadError.
	QueueLen int
	// Limits bound each chart's categories and series; they may lower
	// MaxCategories and MaxSeries, not raise them.
	Limits Limits
	// Now is the clock (default time.Now). Window and bucket arithmetic
	// uses it; the flush timers use real time.
	Now func() time.Time
	// Wall is the clock of the frame-rate limit (default time.Now): when a
	// chart's last frame went out, and whether MaxFPS lets the next go. A
	// test sets it to step past an interval without waiting for one; the
	// trailing-edge timer still waits in real time for what Wall says is
	// left.
	Wall func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// ObserveApply, if set, is called from the board's goroutine after each
	// batch it applies, with the batch's size and how long applying took.
	// It must be quick and must not call the board.
	ObserveApply func(samples int, took time.Duration)
	// History, if set, is the log the board is fed from (see AcceptAt).
	// A chart that is defined or redefined while the board runs is filled
	// from it, so it shows at once what it would show after a restart,
	// the same on every node, instead of starting empty.
	History History
	// Start, if set, is the checkpoint the board starts from: its position
	// is the board's, and the batches given to AcceptAt must follow it. A
	// chart defined before the board applies a batch past Start.At whose
	// definition hashes as its state's Def (Chart.Hash) is restored from
	// its state; any other metric chart (new, changed, or whose state does
	// not restore) is filled from History through Start.At.Seq, as a chart
	// defined later is. Start is not modified.
	Start *Checkpoint
	// MaxFilteredViews bounds the filtered views (chart × filter, see
	// Acquire) held at once (default DefaultMaxFilteredViews).
	MaxFilteredViews int
	// FilteredIdle is how long a filtered view nobody reads or watches is
	// kept (default DefaultFilteredIdle).
	FilteredIdle time.Duration
	// Watched, if set, reports whether a topic has viewers now
	// (stream.Hub.Watched): a filtered view that is watched is never
	// dropped as idle. Nil: only Acquire's release counts.
	Watched func(topic string) bool
}

// History is a log of every batch the board was given, read again to fill
// a chart defined while the board runs.
type History interface {
	// ReplayThrough hands apply, in log order, every batch stored at or
	// after since whose position in the log is at most through, with the
	// position of the batch's last message, and stops there. A non-nil
	// error from apply ends it with that error.
	ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample, Position) error) error
}

// ErrClosed is returned by Accept once the board has stopped.
var ErrClosed = errors.New("charts: the board has stopped")

// ErrNotFound is returned for a chart or dashboard id that is not defined.
var ErrNotFound = errors.New("not found")

// ErrNotPush is returned when data is set on a chart that reads a metric.
var ErrNotPush = errors.New("the chart reads a metric; only a chart without a metric takes its data through the API")

// Board owns the state of every chart. One goroutine (Run) applies samples,
// builds frames and publishes them; every other method may be called from
// any goroutine and talks to it over channels, or reads the immutable
// catalog of definitions.
type Board struct {
	cfg      Config
	interval time.Duration
	pub      Publisher
	log      *slog.Logger

	in   chan positioned
	reqs chan func(*boardState)

	// backfills are the goroutines filling new charts from cfg.History;
	// Run waits for them before it returns.
	backfills sync.WaitGroup

	// mu guards closed against the last drain of in: Accept sends under the
	// read lock, so no batch can enter the queue after Run's final drain.
	mu     sync.RWMutex
	closed bool

	catalog atomic.Pointer[catalog]
	done    chan struct{}

	// Counters, read by metrics.
	applied atomic.Uint64 // samples applied
	frames  atomic.Uint64 // frames published
	outside atomic.Uint64 // (sample, chart) pairs older than the chart's window
	folded  atomic.Uint64 // (sample, chart) pairs folded into Other by the limits
	unread  atomic.Uint64 // samples that no chart reads
	filled  atomic.Uint64 // samples read again from History into new charts
	// filling counts the backfills running now (see Stats.Filling).
	filling atomic.Int64
	// repeated counts the samples of log batches at or before the
	// position already applied, which the board skips.
	repeated atomic.Uint64
	// nfiltered is the number of filtered views; refusedViews counts
	// Acquires refused past Config.MaxFilteredViews.
	nfiltered    atomic.Int64
	refusedViews atomic.Uint64
}

// positioned is a batch and the log position of its last message (the
// zero Position: the batch did not come from a log).
type positioned struct {
	samples []ingest.Sample
	pos     Position
}

// catalog is an immutable snapshot of the definitions, swapped whole.
type catalog struct {
	dashboards []Dashboard
	byID       map[string]int   // dashboard id → index
	charts     map[string]Chart // chart id → definition
	chartDash  map[string]string
	metrics    map[string]bool // the metrics some chart reads
}

// NewBoard makes a board that publishes to pub. Call Run to start it.
func NewBoard(cfg Config, pub Publisher) *Board {
	if cfg.MaxFPS <= 0 {
		cfg.MaxFPS = 10
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wall == nil {
		cfg.Wall = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Board{
		cfg:      cfg,
		interval: time.Duration(float64(time.Second) / cfg.MaxFPS),
		pub:      pub,
		log:      cfg.Logger,
		in:       make(chan positioned, cfg.QueueLen),
		reqs:     make(chan func(*boardState)),
		done:     make(chan struct{}),
	}
	b.catalog.Store(newCatalog(nil))
	return b
}

func newCatalog(ds []Dashboard) *catalog {
	c := &catalog{dashboards: ds, byID: map[string]int{}, charts: map[string]Chart{}, chartDash: map[string]string{}, metrics: map[string]bool{}}
	for i, d := range ds {
		c.byID[d.ID] = i
		for _, ch := range d.Charts {
			c.charts[ch.ID] = ch
			c.chartDash[ch.ID] = d.ID
			if ch.Metric != "" {
				c.metrics[ch.Metric] = true
			}
		}
	}
	return c
}

// Accept queues a batch for the board. It implements ingest.Sink: a nil
// error means the board will apply every sample of the batch. When the
// queue stays full for a moment it answers *ingest.OverloadError.
//
// A board fed by Accept holds samples the log does not: it can no longer
// take a Checkpoint (ErrNotFromLog).
func (b *Board) Accept(ctx context.Context, batch []ingest.Sample) error {
	return b.AcceptAt(ctx, batch, Position{})
}

// AcceptAt is Accept for a batch read from the board's History: pos is the
// log position of its last message. Batches must come in log order. The
// board remembers the position of the last batch it applied, so that a
// chart defined later is filled from History up to exactly that point,
// and from the live batches after it, and so that a Checkpoint names the
// position its state is at. A batch at or before that position (pos.Seq
// not above the last one's, or Config.Start's) has been applied already:
// it is skipped and counted in Stats.Repeated.
//
// The journal clamps each sample's time to its message's log timestamp
// before it delivers the batch, so that what the board holds is a
// function of the log alone (see View.Add).
func (b *Board) AcceptAt(ctx context.Context, batch []ingest.Sample, pos Position) error {
	deadline := time.Now().Add(50 * time.Millisecond)
	for {
		sent, err := b.trySend(positioned{batch, pos})
		if sent || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return &ingest.OverloadError{RetryAfter: time.Second, Reason: "the chart board is behind"}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// AcceptThrough is AcceptAt with the sequence alone.
//
// Deprecated: kept until the journal calls AcceptAt; use AcceptAt.
func (b *Board) AcceptThrough(ctx context.Context, batch []ingest.Sample, through uint64) error {
	return b.AcceptAt(ctx, batch, Position{Seq: through})
}

func (b *Board) trySend(batch positioned) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return false, ErrClosed
	}
	select {
	case b.in <- batch:
		return true, nil
	default:
		return false, nil
	}
}

// boardState is everything Run's goroutine owns.
type boardState struct {
	views map[string]*View
	route *Router // the views (not filtered ones) by metric and where
	dirty map[*View]struct{}
	// unsent holds the charts whose current frame a read built (see
	// settle) and that viewers have not been sent yet: the next flush
	// publishes that very frame, or a newer one if the chart changed again.
	unsent  map[*View]struct{}
	current map[string][]byte // the newest frame built of each chart, encoded
	last    map[string]Frame  // the same, decoded, for options
	// seqs is the highest seq built for each chart id defined now or
	// lately, so that a chart defined again (changed, or deleted and
	// re-added) goes on above what open viewers hold. Past seqMemory ids,
	// those of removed charts are forgotten into seqFloor, above which
	// every new chart starts: the map stays bounded however many ids come
	// and go, and seq still never goes back for any of them.
	seqs     map[string]uint64
	seqFloor uint64
	// sent is flush's scratch list of the views it published.
	sent []*View
	// retracted says rebuild retracted a chart's topic: a Flush is owed.
	retracted bool
	epochs    map[*View]int64 // the window epoch of each view's last frame
	// at is the log position of the last batch applied (or Config.Start's;
	// zero: none): History holds everything up to it.
	at Position
	// unlogged says a batch that is not from the log (Accept) was applied.
	unlogged bool
	// filling holds the views being filled from History, and those whose
	// filling failed: their state is not the log's, and no checkpoint
	// takes it.
	filling map[*View]struct{}
	// start holds the states of Config.Start not restored yet, by chart
	// id, until a batch past Start.At is applied.
	start map[string]ChartState
	// ctx is Run's: backfills end with it.
	ctx context.Context

	// The filtered views (filtered.go), by topic, and their index by
	// chart id for apply.
	filtered  map[string]*filtered
	fidx      map[string][]*keySet
	fseqFloor uint64 // the highest seq of a dropped filtered view
	// pending are filtered views changed by samples and not yet in dirty
	// (each with View.pending set): one flag a sample, where a map write a
	// sample was the dearest part of a tenant's update. settlePending
	// moves them into dirty before a flush and before every request.
	pending []*View
	// stale are filtered views that changed while nobody read or watched
	// them (unwatched): their frames are not built until a reader comes
	// (Acquire moves them back to dirty).
	stale map[*View]struct{}
	// fmemo is the filtered view the last tenant sample went to
	// (addFiltered), valid while that view's gen is gen and set indexes it.
	fmemo struct {
		set *keySet
		v   *View
		gen uint64
	}

	// varTags are, by chart id, the where keys a chart binds to a
	// dashboard variable; seen, by chart id and key, the values its
	// samples carried (at most MaxVariableValues each: variables.go).
	varTags map[string][]string
	seen    map[string]map[string]map[string]struct{}
}

// seqMemory is how many chart ids the board remembers the seq of; past
// it, removed charts are forgotten (see boardState.seqs).
const seqMemory = 2 * MaxCharts

// Run applies samples and publishes frames until ctx is done. Before it
// returns it applies every batch already accepted and publishes the last
// frames, so an accepted sample is never lost. Run must be called once.
func (b *Board) Run(ctx context.Context) error {
	defer close(b.done)
	st := &boardState{
		views:    map[string]*View{},
		route:    NewRouter(nil),
		dirty:    map[*View]struct{}{},
		unsent:   map[*View]struct{}{},
		current:  map[string][]byte{},
		last:     map[string]Frame{},
		seqs:     map[string]uint64{},
		epochs:   map[*View]int64{},
		filling:  map[*View]struct{}{},
		ctx:      ctx,
		filtered: map[string]*filtered{},
		fidx:     map[string][]*keySet{},
		stale:    map[*View]struct{}{},
	}
	if cp := b.cfg.Start; cp != nil {
		st.at = cp.At
		st.start = make(map[string]ChartState, len(cp.Charts))
		for _, cs := range cp.Charts {
			st.start[cs.Chart] = cs
		}
	}
	defer b.backfills.Wait() // they end with ctx
	b.rebuild(st, b.catalog.Load())

	flushTimer := time.NewTimer(time.Hour)
	flushTimer.Stop()
	timerArmed := false
	shift := time.NewTicker(250 * time.Millisecond)
	defer shift.Stop()

	// changed publishes what changed: every chart whose last frame went
	// out at least an interval ago at once (the leading edge, per chart),
	// and arms the timer for the first of the others (the trailing edge).
	changed := func() {
		if timerArmed || len(st.dirty)+len(st.unsent)+len(st.pending) == 0 {
			return
		}
		if wait := b.flush(st, b.cfg.Wall()); wait > 0 {
			flushTimer.Reset(wait)
			timerArmed = true
		}
	}

	for {
		select {
		case batch := <-b.in:
			b.apply(st, batch)
			// Apply what else is waiting before publishing: under load one
			// frame then carries many batches.
			for n := 0; n < 64; n++ {
				select {
				case batch = <-b.in:
					b.apply(st, batch)
					continue
				default:
				}
				break
			}
			changed()
		case req := <-b.reqs:
			req(st)
			changed()
		case <-flushTimer.C:
			timerArmed = false
			changed()
		case <-shift.C:
			now := b.cfg.Now()
			for _, v := range st.views {
				if v.Windowed() && v.Epoch(now) != st.epochs[v] {
					st.dirty[v] = struct{}{}
				}
			}
			b.tickFiltered(st, now)
			changed()
		case <-ctx.Done():
			b.mu.Lock()
			b.closed = true
			b.mu.Unlock()
			for {
				select {
				case batch := <-b.in:
					b.apply(st, batch)
					continue
				default:
				}
				break
			}
			b.flush(st, time.Time{})
			return nil
		}
	}
}

func (b *Board) apply(st *boardState, pb positioned) {
	switch {
	case pb.pos.Seq == 0:
		st.unlogged = true
	case pb.pos.Seq <= st.at.Seq:
		b.repeated.Add(uint64(len(pb.samples)))
		return
	default:
		st.at = pb.pos
		st.start = nil // a state restored from now on would lack this batch
	}
	if b.cfg.ObserveApply != nil {
		start := time.Now()
		defer func() { b.cfg.ObserveApply(len(pb.samples), time.Since(start)) }()
	}
	batch := pb.samples
	now := b.cfg.Now()
	var outside, folded, unread uint64
	for i := range batch {
		s := &batch[i]
		read := false
		rest, fixed := st.route.Candidates(s)
		for _, v := range rest {
			read = st.applyIfMatches(v, s, now, &outside, &folded) || read
		}
		for _, v := range fixed {
			read = st.applyIfMatches(v, s, now, &outside, &folded) || read
		}
		if !read {
			unread++
		}
	}
	b.applied.Add(uint64(len(batch)))
	b.outside.Add(outside)
	b.folded.Add(folded)
	b.unread.Add(unread)
}

// applyIfMatches folds s into v, its filtered views and its variables'
// values if v reads s, and reports whether it does.
func (st *boardState) applyIfMatches(v *View, s *ingest.Sample, now time.Time, outside, folded *uint64) bool {
	if !v.Matches(s) {
		return false
	}
	if a, key, at := st.add(v, s, now, outside, folded); a != nil && v.fsets != nil {
		st.addFiltered(v, key, at, s, now)
	}
	if tags := st.varTags[v.def.ID]; tags != nil {
		st.see(v.def.ID, tags, s)
	}
	return true
}

// add folds s (matched by v) into v and marks v dirty; a sample older
// than v's window adds one to *outside, one folded by v's limits to
// *folded. It returns what View.add does, for v's filtered views.
func (st *boardState) add(v *View, s *ingest.Sample, now time.Time, outside, folded *uint64) (*acc, cell, int64) {
	before := v.folded
	a, c, at := v.add(s, now)
	if a != nil {
		st.dirty[v] = struct{}{}
	} else {
		*outside++
	}
	*folded += v.folded - before
	return a, c, at
}

// flush builds, encodes once and publishes the frame of every dirty chart,
// and publishes the frames that reads built since the last flush, of the
// charts whose last frame went out at least an interval before wall (the
// real time: MaxFPS is per chart); the others stay for later, and flush
// returns how long until the first of them is due (0: none left). A zero
// wall publishes everything (the last flush, at shutdown).
func (b *Board) flush(st *boardState, wall time.Time) (wait time.Duration) {
	st.settlePending()
	if len(st.dirty)+len(st.unsent) == 0 {
		return 0
	}
	// due says whether v may go out now, else notes when it may.
	due := func(v *View) bool {
		if wall.IsZero() {
			return true
		}
		if w := b.interval - wall.Sub(v.sentAt); w > 0 {
			if wait == 0 || w < wait {
				wait = w
			}
			return false
		}
		return true
	}
	now := b.cfg.Now()
	sent := st.sent[:0]
	for v := range st.dirty {
		if v.held {
			continue // published once filled
		}
		if b.unwatched(st, v) {
			st.stale[v] = struct{}{} // built when a reader comes
			delete(st.dirty, v)
			continue
		}
		if !due(v) {
			continue
		}
		b.build(st, v, now)
		b.publish(st, v)
		sent = append(sent, v)
		delete(st.dirty, v)
		delete(st.unsent, v) // superseded by the frame just built
	}
	for v := range st.unsent {
		if !due(v) {
			continue
		}
		b.publish(st, v)
		sent = append(sent, v)
		delete(st.unsent, v)
	}
	if len(sent) > 0 {
		b.pub.Flush()
		// Stamped once viewers have it, so that two frames of a chart
		// reach them at least an interval apart.
		at := b.cfg.Wall()
		for _, v := range sent {
			v.sentAt = at
		}
		clear(sent)
		st.sent = sent[:0]
	}
	return wait
}

// build makes v's next frame (the next seq) and keeps it, encoded once, as
// the chart's current frame.
func (b *Board) build(st *boardState, v *View, now time.Time) {
	f := v.Frame(now)
	st.epochs[v] = v.Epoch(now)
	st.current[v.topicName()] = f.AppendJSON(make([]byte, 0, 256))
	st.last[v.topicName()] = f
	if v.topic == "" {
		st.seqs[v.def.ID] = f.Seq
	}
}

// publish hands v's current frame to the publisher; the caller flushes.
func (b *Board) publish(st *boardState, v *View) {
	b.pub.Publish(v.topicName(), st.current[v.topicName()])
	b.frames.Add(1)
}

// settle makes v's current frame show every sample and data set applied
// before now, so that a read through the API sees them: if v changed since
// its last frame (or has none yet), its next frame is built now and kept as
// current, but not published: the next flush, which comes no sooner than
// MaxFPS allows, sends viewers that same frame (same seq, same bytes), or a
// newer one. Reads, however many, never make frames reach viewers faster.
//
// A windowed chart whose window moved since its last frame counts as
// changed, even before the ticker in Run notices it.
func (b *Board) settle(st *boardState, v *View) {
	now := b.cfg.Now()
	if _, dirty := st.dirty[v]; !dirty && st.current[v.topicName()] != nil && (!v.Windowed() || v.Epoch(now) == st.epochs[v]) {
		return
	}
	b.build(st, v, now)
	delete(st.dirty, v)
	st.unsent[v] = struct{}{}
}

// rebuild makes the views of c, keeping the state of every chart whose
// definition did not change. A changed chart starts empty but keeps raising
// its seq.
func (b *Board) rebuild(st *boardState, c *catalog) {
	views := make(map[string]*View, len(c.charts))
	var fresh []*View // new views of charts that read a metric
	for id, def := range c.charts {
		if old := st.views[id]; old != nil && reflect.DeepEqual(old.def, def) {
			views[id] = old
			continue
		}
		v, restored := b.restore(st, def)
		if v == nil {
			v = NewView(def, b.cfg.Limits)
		}
		// A viewer holds the seq of the chart's last frame and ignores
		// anything not above it: the new view goes on from there.
		v.seq = max(v.seq, st.seqs[id], st.seqFloor)
		views[id] = v
		st.dirty[v] = struct{}{}
		if def.Metric != "" && !restored {
			fresh = append(fresh, v)
		}
	}
	if len(fresh) > 0 && st.at.Seq > 0 {
		// They lack the log up to st.at until filled (without History:
		// for ever).
		for _, v := range fresh {
			st.filling[v] = struct{}{}
		}
		if b.cfg.History != nil {
			b.backfill(st.ctx, fresh, st.at.Seq, nil)
		}
	}
	for id, old := range st.views {
		if views[id] != old {
			// Replaced or removed: its frames belong to the old definition.
			// Nothing may keep the old view (or its frames) alive.
			delete(st.dirty, old)
			delete(st.unsent, old)
			delete(st.epochs, old)
			delete(st.filling, old)
			delete(st.current, id)
			delete(st.last, id)
			if views[id] == nil {
				b.pub.Publish(id, nil) // retract: the publisher forgets it
				st.retracted = true
			}
		}
	}
	st.views = views
	if len(st.seqs) > seqMemory {
		for id, seq := range st.seqs {
			if views[id] == nil {
				st.seqFloor = max(st.seqFloor, seq)
				delete(st.seqs, id)
			}
		}
	}
	list := make([]*View, 0, len(views))
	for _, v := range views {
		list = append(list, v)
	}
	slices.SortFunc(list, func(a, b *View) int { return strings.Compare(a.def.ID, b.def.ID) })
	st.route = NewRouter(list)
	b.rebuildFiltered(st)
	st.rebuildVars()
}

// restore makes the view of def from Config.Start's state of it, if the
// board has not applied a batch past Start.At and the state was computed
// for a definition that hashes alike. It reports whether it did; a state
// that does not restore is logged, and the chart is filled from History.
func (b *Board) restore(st *boardState, def Chart) (*View, bool) {
	cs, ok := st.start[def.ID]
	if !ok || def.Metric == "" {
		return nil, false
	}
	delete(st.start, def.ID) // once: a later definition is filled from History
	if cs.Def != def.Hash() {
		b.log.Info("chart changed since the checkpoint: filling it from the log", "chart", def.ID, "checkpoint", st.at.Seq)
		return nil, false
	}
	v, err := RestoreView(def, b.cfg.Limits, cs.State)
	if err != nil {
		b.log.Warn("a chart's checkpointed state does not restore: filling it from the log", "chart", def.ID, "checkpoint", st.at.Seq, "err", err)
		return nil, false
	}
	return v, true
}

// backfill fills views, just made, from History: every batch up to
// position through (what the board had applied when they were made), read
// in the background and applied in the board's goroutine, while the live
// batches after through reach them as usual. Every aggregate of a view is
// independent of the order its samples arrive in (last is by sample time),
// so the views end as if they had been there all along. A view replaced
// before its backfill ends is skipped from then on. The views are in
// st.filling until it ends well (for ever, if it fails): no checkpoint
// takes a view that lacks part of the log.
//
// done, if not nil, runs in the board's goroutine when the backfill ends,
// well or not (unless the board stops first).
func (b *Board) backfill(ctx context.Context, views []*View, through uint64, done func(*boardState)) {
	var lookback time.Duration
	for _, v := range views {
		l := v.def.Lookback()
		if l == 0 {
			lookback = 0
			break
		}
		lookback = max(lookback, l)
	}
	var since time.Time // the zero time: the whole log
	if lookback > 0 {
		since = b.cfg.Now().Add(-lookback - ingest.DefaultMaxFuture)
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.def.ID
	}
	b.filling.Add(1)
	b.backfills.Go(func() {
		defer b.filling.Add(-1)
		start := time.Now()
		var samples int
		err := b.cfg.History.ReplayThrough(ctx, since, through, func(batch []ingest.Sample, pos Position) error {
			if pos.Seq > through {
				return nil // the views get it live; it must not count twice
			}
			samples += len(batch)
			return b.do(ctx, func(st *boardState) { b.applyTo(st, views, batch) })
		})
		if err == nil {
			err = b.do(ctx, func(st *boardState) {
				for _, v := range views {
					delete(st.filling, v)
				}
				if done != nil {
					done(st)
				}
			})
		} else if done != nil {
			_ = b.do(ctx, done)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			b.log.Error("a new chart could not be filled from the log: it shows only what arrived after it was defined", "charts", ids, "err", err)
		case err == nil:
			b.log.Info("filled new charts from the log", "charts", ids, "samples", samples, "through", through, "took", time.Since(start).Round(time.Millisecond))
		}
	})
}

// applyTo adds batch to those of views that are still current.
func (b *Board) applyTo(st *boardState, views []*View, batch []ingest.Sample) {
	now := b.cfg.Now()
	var outside, folded uint64
	for _, v := range views {
		if !st.isCurrent(v) {
			continue // redefined or removed meanwhile
		}
		for i := range batch {
			s := &batch[i]
			if v.Matches(s) {
				st.add(v, s, now, &outside, &folded)
			}
		}
	}
	b.filled.Add(uint64(len(batch)))
	b.outside.Add(outside)
	b.folded.Add(folded)
}

// announce publishes, on each dashboard's topic, the version of every
// dashboard that is new or changed from old to c, and the end of every
// dashboard c no longer has, so open pages can redraw their layout:
//
//	{"type":"dashboard","id":"web","version":"…"}
//	{"type":"dashboard","id":"web","deleted":true}
//
// It reports whether it published anything; the caller flushes.
func (b *Board) announce(old, c *catalog) bool {
	type announcement struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Version string `json:"version,omitempty"`
		Deleted bool   `json:"deleted,omitempty"`
	}
	publish := func(a announcement) {
		msg, _ := json.Marshal(a) // plain strings and a bool: cannot fail
		b.pub.Publish(DashboardTopic(a.ID), msg)
	}
	sent := false
	for _, d := range c.dashboards {
		v := d.Version()
		if i, ok := old.byID[d.ID]; ok && old.dashboards[i].Version() == v {
			continue
		}
		publish(announcement{Type: "dashboard", ID: d.ID, Version: v})
		sent = true
	}
	for _, d := range old.dashboards {
		if _, ok := c.byID[d.ID]; !ok {
			publish(announcement{Type: "dashboard", ID: d.ID, Deleted: true})
			sent = true
		}
	}
	return sent
}

// do runs f in the board's goroutine and waits for it.
func (b *Board) do(ctx context.Context, f func(*boardState)) error {
	done := make(chan struct{})
	select {
	case b.reqs <- func(st *boardState) { st.settlePending(); f(st); close(done) }:
	case <-b.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// SetDashboards replaces every definition. The dashboards are checked (and
// normalized) by CheckDashboards: each one's Check, ids unique, and the
// limits on dashboards and charts. On error nothing changes. Charts whose
// definition is unchanged keep their data; new and changed ones start
// empty.
func (b *Board) SetDashboards(ctx context.Context, ds []Dashboard) error {
	ds = cloneDashboards(ds)
	if err := CheckDashboards(ds); err != nil {
		return err
	}
	c := newCatalog(ds)
	return b.do(ctx, func(st *boardState) {
		old := b.catalog.Swap(c)
		b.rebuild(st, c)
		if b.announce(old, c) || st.retracted {
			b.pub.Flush()
		}
		st.retracted = false
	})
}

func cloneDashboards(ds []Dashboard) []Dashboard {
	out := make([]Dashboard, len(ds))
	for i, d := range ds {
		out[i] = d
		out[i].Charts = append([]Chart(nil), d.Charts...)
		out[i].Variables = append([]Variable(nil), d.Variables...)
	}
	return out
}

// Dashboards returns every dashboard, in order. The result is shared: do
// not modify it.
func (b *Board) Dashboards() []Dashboard { return b.catalog.Load().dashboards }

// Dashboard returns the dashboard with the given id.
func (b *Board) Dashboard(id string) (Dashboard, bool) {
	c := b.catalog.Load()
	i, ok := c.byID[id]
	if !ok {
		return Dashboard{}, false
	}
	return c.dashboards[i], true
}

// Reads reports whether a chart of the board reads samples of metric (it
// implements ingest.Readers): a sample of any other metric is accepted and
// shown nowhere. It reads the current catalog without waiting for Run, so
// any goroutine may call it.
func (b *Board) Reads(metric string) bool { return b.catalog.Load().metrics[metric] }

// Chart returns the definition of the chart with the given id.
func (b *Board) Chart(id string) (Chart, bool) {
	ch, ok := b.catalog.Load().charts[id]
	return ch, ok
}

// Frame returns the wire encoding of the chart's current frame, or
// ErrNotFound. A chart that changed since its last frame gets its next one
// built now, so a read sees everything applied before it; viewers are sent
// that frame at the next flush, within the frame-rate limit (see settle).
func (b *Board) Frame(ctx context.Context, id string) ([]byte, error) {
	var msg []byte
	err := b.do(ctx, func(st *boardState) {
		if v := st.views[id]; v != nil {
			b.settle(st, v)
			msg = st.current[id]
		}
	})
	if err == nil && msg == nil {
		err = ErrNotFound
	}
	return msg, err
}

// Option returns a complete ECharts option for the chart with its current
// data (see Option and Frame), or ErrNotFound.
func (b *Board) Option(ctx context.Context, id string) ([]byte, error) {
	var (
		def   Chart
		f     Frame
		found bool
	)
	err := b.do(ctx, func(st *boardState) {
		v := st.views[id]
		if found = v != nil; !found {
			return
		}
		b.settle(st, v)
		def, f = v.def, st.last[id]
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	return Option(def, f)
}

// SetData replaces the data of a push chart (one without a metric). Every
// series must have one value per category, and categories × series must
// not pass MaxChartCells.
func (b *Board) SetData(ctx context.Context, id string, categories []string, series []FrameSeries) error {
	if err := b.CheckData(id, categories, series); err != nil {
		return err
	}
	var found bool
	err := b.do(ctx, func(st *boardState) {
		v := st.views[id]
		if found = v != nil; found {
			v.SetData(categories, series)
			st.dirty[v] = struct{}{}
		}
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	return err
}

// CheckData returns the error SetData would return for this data as the
// chart id is defined now, without changing anything: ErrNotFound,
// ErrNotPush, or a *FieldError (too many cells, a series whose length is
// not the number of categories).
func (b *Board) CheckData(id string, categories []string, series []FrameSeries) error {
	def, ok := b.Chart(id)
	if !ok {
		return ErrNotFound
	}
	if def.Metric != "" {
		return ErrNotPush
	}
	if cells := len(categories) * max(len(series), 1); cells > MaxChartCells {
		return &FieldError{Field: "categories", Message: fmt.Sprintf("%d categories × %d series = %d cells, at most %d per chart", len(categories), len(series), cells, MaxChartCells)}
	}
	for i, s := range series {
		if len(s.Data) != len(categories) {
			return &FieldError{Field: fmt.Sprintf("series[%d].data", i), Message: fmt.Sprintf("has %d values for %d categories", len(s.Data), len(categories))}
		}
	}
	return nil
}

// Stats are the board's counters since it started. A sample read by
// several charts counts once per chart in Outside and Folded.
type Stats struct {
	Applied uint64 // samples applied
	Frames  uint64 // frames published
	Queued  int    // batches waiting to be applied
	Outside uint64 // samples that arrived older than a chart's window
	Folded  uint64 // samples folded into "other" by a chart's cardinality limits
	Unread  uint64 // samples that no chart reads
	Filled  uint64 // samples read again from History into charts defined while running
	// Filling is how many fills from History run now: charts defined
	// while the board runs, or changed since the checkpoint it started
	// from, that do not yet show what the log holds. A node is not ready
	// while it is above 0 after its start.
	Filling int
	// Repeated counts the samples of log batches at or before the position
	// the board had applied (or started from), skipped as already applied.
	Repeated uint64
	// FilteredViews is the number of filtered views held now;
	// FilteredRefused counts those refused past Config.MaxFilteredViews.
	FilteredViews   int
	FilteredRefused uint64
}

// Stats reads the board's counters; safe from any goroutine.
func (b *Board) Stats() Stats {
	return Stats{Applied: b.applied.Load(), Frames: b.frames.Load(), Queued: len(b.in),
		Outside: b.outside.Load(), Folded: b.folded.Load(), Unread: b.unread.Load(),
		Filled: b.filled.Load(), Filling: int(b.filling.Load()), Repeated: b.repeated.Load(),
		FilteredViews: int(b.nfiltered.Load()), FilteredRefused: b.refusedViews.Load()}
}
