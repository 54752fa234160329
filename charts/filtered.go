package charts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dashd/dashd/ingest"
)

// Filtered views (issue 15: one chart, many tenants).
//
// A filtered view is the state of one chart seen through a tag filter
// (an embed token's where): it reads only the samples that match both the
// chart's own where and the filter. It is made in the board's goroutine
// when its first reader arrives (Acquire), keyed by the chart id and the
// canonical filter, filled from Config.History so that it is complete at
// once (its frames are held back until then), shared by every reader of
// the same filter, published on a topic of its own (FilterTopic), rebuilt
// (and filled again) when the chart is redefined, dropped when the chart
// is, and dropped when nobody has read or watched it for
// Config.FilteredIdle. At most Config.MaxFilteredViews exist at once.
//
// A filter that names a tag the chart's where fixes to another value
// makes a view that matches nothing: a filter only ever narrows. A push
// chart's data carries no tags, so its filtered views are empty too.
//
// Filtered views are not in checkpoints (Board.Checkpoint).

// DefaultMaxFilteredViews and DefaultFilteredIdle are the defaults of
// Config.MaxFilteredViews and Config.FilteredIdle.
const (
	DefaultMaxFilteredViews = 1000
	DefaultFilteredIdle     = 2 * time.Minute
)

// MaxFilterKeys bounds the tags of one filter; CanonicalFilter refuses more.
const MaxFilterKeys = 8

// TooManyViewsError refuses a filtered view past Config.MaxFilteredViews.
type TooManyViewsError struct {
	Limit      int
	RetryAfter time.Duration // when the first idle view may be dropped
}

func (e *TooManyViewsError) Error() string {
	return fmt.Sprintf("this server holds %d filtered views (embed.max_filtered_views), the most it may: try again in %s, or raise the limit", e.Limit, e.RetryAfter.Round(time.Second))
}

// filtered is one filtered view and its readers. Owned by Run's goroutine.
type filtered struct {
	chart string
	canon string // CanonicalFilter of where
	where map[string]string
	view  *View
	ready chan struct{} // closed once view is filled from the log
	refs  int           // Acquires not yet released
	used  time.Time     // the last Acquire or release, or the last time it was watched
}

// keySet indexes the filtered views of one chart that filter on the same
// tag keys, by their values joined with NUL (filter values hold no
// control characters, so the join is unambiguous).
type keySet struct {
	keys  []string
	views map[string]*View
}

// CanonicalFilter is the one spelling of where (sorted keys, JSON), and
// an error if where has more than MaxFilterKeys tags or an empty key or
// value.
func CanonicalFilter(where map[string]string) (string, error) {
	if len(where) > MaxFilterKeys {
		return "", fmt.Errorf("a filter has %d tags, at most %d", len(where), MaxFilterKeys)
	}
	keys := slices.Sorted(maps.Keys(where))
	pairs := make([][2]string, len(keys))
	for i, k := range keys {
		if k == "" || where[k] == "" || strings.ContainsRune(where[k], 0) {
			return "", fmt.Errorf("a filter has an empty tag key or value, or a NUL")
		}
		pairs[i] = [2]string{k, where[k]}
	}
	b, err := json.Marshal(pairs)
	return string(b), err
}

// FilterTopic is the topic the frames of chart id seen through the filter
// whose CanonicalFilter is canon are published on. Chart ids cannot start
// with '@', so it is no chart's topic.
func FilterTopic(id, canon string) string {
	sum := sha256.Sum256([]byte(id + "\x00" + canon))
	return "@where:" + id + ":" + hex.EncodeToString(sum[:16])
}

// Acquire returns the topic of chart id seen through where, making its
// filtered view if need be and waiting until it is filled from the log,
// and a release to call once the reader is gone (the view is then kept
// for Config.FilteredIdle, or while Config.Watched says the topic has
// viewers). An empty where is the chart's own topic. Errors: ErrNotFound,
// *TooManyViewsError, a bad filter, or ctx's.
func (b *Board) Acquire(ctx context.Context, id string, where map[string]string) (string, func(), error) {
	if _, ok := b.Chart(id); !ok {
		return "", nil, ErrNotFound
	}
	if len(where) == 0 {
		return id, func() {}, nil
	}
	canon, err := CanonicalFilter(where)
	if err != nil {
		return "", nil, &FieldError{Field: "where", Message: err.Error()}
	}
	topic := FilterTopic(id, canon)
	var (
		ready chan struct{}
		ferr  error
	)
	err = b.do(ctx, func(st *boardState) {
		f, e := b.filteredView(st, id, canon, where, topic)
		if ferr = e; e == nil {
			if _, stale := st.stale[f.view]; stale {
				delete(st.stale, f.view)
				st.dirty[f.view] = struct{}{}
			}
			f.refs++
			f.used = b.cfg.Now()
			ready = f.ready
		}
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return "", nil, err
	}
	release := func() {
		_ = b.do(context.Background(), func(st *boardState) {
			if f := st.filtered[topic]; f != nil && f.refs > 0 {
				f.refs--
				f.used = b.cfg.Now()
			}
		})
	}
	select {
	case <-ready:
		return topic, release, nil
	case <-ctx.Done():
		release()
		return "", nil, ctx.Err()
	}
}

// FrameWhere is Frame for chart id seen through where (Frame itself when
// where is empty).
func (b *Board) FrameWhere(ctx context.Context, id string, where map[string]string) ([]byte, error) {
	if len(where) == 0 {
		return b.Frame(ctx, id)
	}
	topic, release, err := b.Acquire(ctx, id, where)
	if err != nil {
		return nil, err
	}
	defer release()
	var msg []byte
	err = b.do(ctx, func(st *boardState) {
		if f := st.filtered[topic]; f != nil {
			b.settle(st, f.view)
			msg = st.current[topic]
		}
	})
	if err == nil && msg == nil {
		err = ErrNotFound
	}
	return msg, err
}

// OptionWhere is Option for chart id seen through where (Option itself
// when where is empty).
func (b *Board) OptionWhere(ctx context.Context, id string, where map[string]string) ([]byte, error) {
	if len(where) == 0 {
		return b.Option(ctx, id)
	}
	topic, release, err := b.Acquire(ctx, id, where)
	if err != nil {
		return nil, err
	}
	defer release()
	var (
		def   Chart
		f     Frame
		found bool
	)
	err = b.do(ctx, func(st *boardState) {
		fv := st.filtered[topic]
		if found = fv != nil; found {
			b.settle(st, fv.view)
			def, f = fv.view.def, st.last[topic]
		}
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	return Option(def, f)
}

// FilteredViews is the number of filtered views held now.
func (b *Board) FilteredViews(ctx context.Context) (int, error) {
	var n int
	err := b.do(ctx, func(st *boardState) { n = len(st.filtered) })
	return n, err
}

func (b *Board) maxFiltered() int {
	if b.cfg.MaxFilteredViews > 0 {
		return b.cfg.MaxFilteredViews
	}
	return DefaultMaxFilteredViews
}

func (b *Board) filteredIdle() time.Duration {
	if b.cfg.FilteredIdle > 0 {
		return b.cfg.FilteredIdle
	}
	return DefaultFilteredIdle
}

// filteredView returns the filtered view of topic, made now if there is
// none and the limit allows.
func (b *Board) filteredView(st *boardState, id, canon string, where map[string]string, topic string) (*filtered, error) {
	if f := st.filtered[topic]; f != nil {
		if f.canon != canon || f.chart != id {
			return nil, fmt.Errorf("charts: filter topic collision on %s", topic) // 2^-128: never
		}
		return f, nil
	}
	main := st.views[id]
	if main == nil {
		return nil, ErrNotFound
	}
	if len(st.filtered) >= b.maxFiltered() {
		b.sweep(st, b.cfg.Now(), true)
		if len(st.filtered) >= b.maxFiltered() {
			b.refusedViews.Add(1)
			return nil, &TooManyViewsError{Limit: b.maxFiltered(), RetryAfter: b.nextIdle(st)}
		}
	}
	f := &filtered{chart: id, canon: canon, where: maps.Clone(where)}
	b.fill(st, f, main.def, max(st.seqs[id], st.fseqFloor))
	st.filtered[topic] = f
	b.nfiltered.Store(int64(len(st.filtered)))
	st.index(f, false)
	return f, nil
}

// fill gives f a new view of def, seq going on from seq, filled from
// History (if the board is fed from one) before its frames go out.
func (b *Board) fill(st *boardState, f *filtered, def Chart, seq uint64) {
	v := NewView(def, b.cfg.Limits)
	v.filter, v.topic, v.seq = f.where, FilterTopic(f.chart, f.canon), seq
	if len(f.where) == 1 {
		for _, val := range f.where {
			v.fval = val
		}
	}
	for k, want := range f.where {
		if got, ok := def.Where[k]; ok && got != want && !strings.HasPrefix(got, "$") {
			v.never = true
		}
	}
	if def.Metric == "" {
		v.never = true // a push chart's data has no tags
	}
	f.view = v
	f.ready = make(chan struct{})
	st.dirty[v] = struct{}{}
	if v.never || st.at.Seq == 0 || b.cfg.History == nil {
		close(f.ready)
		return
	}
	v.held = true
	ready := f.ready
	b.backfill(st.ctx, []*View{v}, st.at.Seq, func(st *boardState) {
		v.held = false
		close(ready)
		if st.isCurrent(v) {
			st.dirty[v] = struct{}{}
		}
	})
}

// rebuildFiltered follows a change of definitions: the filtered views of
// a removed chart are dropped, those of a redefined chart made again.
func (b *Board) rebuildFiltered(st *boardState) {
	for topic, f := range st.filtered {
		main := st.views[f.chart]
		if main == nil {
			b.drop(st, topic, f)
			continue
		}
		if reflect.DeepEqual(f.view.def, main.def) {
			continue
		}
		old := f.view
		st.index(f, true)
		b.forget(st, old)
		b.fill(st, f, main.def, old.seq)
		st.index(f, false)
	}
	for id := range st.views {
		st.syncSets(id) // a chart's view may be new
	}
}

// tickFiltered marks filtered views whose window moved, and drops the
// idle ones.
func (b *Board) tickFiltered(st *boardState, now time.Time) {
	for _, f := range st.filtered {
		if v := f.view; v.Windowed() && v.Epoch(now) != st.epochs[v] {
			st.dirty[v] = struct{}{}
		}
	}
	b.sweep(st, now, false)
	if st.retracted {
		b.pub.Flush()
		st.retracted = false
	}
}

// sweep drops the filtered views that nobody has read for FilteredIdle
// and that have no viewers (Config.Watched). With force (the limit is
// reached) a view idle for a tenth of that goes too.
func (b *Board) sweep(st *boardState, now time.Time, force bool) {
	idle := b.filteredIdle()
	if force {
		idle /= 10
	}
	for topic, f := range st.filtered {
		if f.refs > 0 || now.Sub(f.used) < idle {
			continue
		}
		if b.cfg.Watched != nil && b.cfg.Watched(topic) {
			f.used = now
			continue
		}
		b.drop(st, topic, f)
	}
}

// nextIdle is how long until the first unused filtered view may be
// dropped (the Retry-After of a refusal).
func (b *Board) nextIdle(st *boardState) time.Duration {
	now, idle := b.cfg.Now(), b.filteredIdle()
	next := idle
	for _, f := range st.filtered {
		if f.refs == 0 {
			next = min(next, max(f.used.Add(idle/10).Sub(now), time.Second))
		}
	}
	return next
}

// drop forgets a filtered view and retracts its topic.
func (b *Board) drop(st *boardState, topic string, f *filtered) {
	st.fseqFloor = max(st.fseqFloor, f.view.seq)
	st.index(f, true)
	b.forget(st, f.view)
	delete(st.filtered, topic)
	b.nfiltered.Store(int64(len(st.filtered)))
	b.pub.Publish(topic, nil)
	st.retracted = true
}

// forget removes v from the board's bookkeeping.
func (b *Board) forget(st *boardState, v *View) {
	v.gen++ // no cache may reach it any more
	delete(st.stale, v)
	delete(st.dirty, v)
	delete(st.unsent, v)
	delete(st.epochs, v)
	delete(st.filling, v)
	delete(st.current, v.topic)
	delete(st.last, v.topic)
}

// unwatched reports whether v is a filtered view that no reader holds
// (Acquire) and nobody watches (Config.Watched; without it, every view
// counts as watched): kept until it is idle long enough to drop, but its
// frames would reach no one.
func (b *Board) unwatched(st *boardState, v *View) bool {
	if v.topic == "" || b.cfg.Watched == nil {
		return false
	}
	f := st.filtered[v.topic]
	return f != nil && f.view == v && f.refs == 0 && !b.cfg.Watched(v.topic)
}

// isCurrent reports whether v is a view the board holds now.
func (st *boardState) isCurrent(v *View) bool {
	if v.topic == "" {
		return st.views[v.def.ID] == v
	}
	f := st.filtered[v.topic]
	return f != nil && f.view == v
}

// index adds f's view to the index of its chart's filtered views (a view
// that matches nothing is left out), or with remove takes it out: one map
// write, so that making n views costs n, not n².
func (st *boardState) index(f *filtered, remove bool) {
	if f.view.never && !remove {
		return
	}
	keys := slices.Sorted(maps.Keys(f.where))
	vals := make([]string, len(keys))
	for j, k := range keys {
		vals[j] = f.where[k]
	}
	key := strings.Join(vals, "\x00")
	sets := st.fidx[f.chart]
	i := slices.IndexFunc(sets, func(s *keySet) bool { return slices.Equal(s.keys, keys) })
	if remove {
		if i >= 0 && sets[i].views[key] == f.view {
			delete(sets[i].views, key)
			if len(sets[i].views) == 0 {
				sets = slices.Delete(sets, i, i+1)
			}
		}
		if len(sets) == 0 {
			delete(st.fidx, f.chart)
		} else {
			st.fidx[f.chart] = sets
		}
		st.syncSets(f.chart)
		return
	}
	if i < 0 {
		sets = append(sets, &keySet{keys: keys, views: map[string]*View{}})
		i = len(sets) - 1
	}
	sets[i].views[key] = f.view
	st.fidx[f.chart] = sets
	st.syncSets(f.chart)
}

// syncSets gives the view of chart id its filtered views' index (fidx is
// the index's owner; View.fsets saves apply a look-up by id per sample).
//
// A view left without filtered views drops its shadow dictionary (names),
// which only they use.
func (st *boardState) syncSets(id string) {
	if v := st.views[id]; v != nil {
		v.fsets = st.fidx[id]
		if v.fsets == nil {
			dc, ds := v.categories.dropShadow(), v.series.dropShadow()
			if dc || ds {
				v.gen++ // the keys of the dropped names may be used again
			}
		}
	}
}

// fcacheSize is the number of a filtered view's cache entries (fcache):
// a power of two, about the cells a tenant writes in one slot of time,
// in pairs (two ways for each hash: fslot). 8 (256 bytes a view) did
// better than 16 in BenchmarkTenantIngest: with 1,000 views, each
// reached once in 1,000 samples, the caches' own size costs misses.
const (
	fcacheBits = 3
	fcacheSize = 1 << fcacheBits
)

// fslot is the first entry of the pair of a filtered view's cache where
// key c may be (the other is fslot(c)+1): Fibonacci hashing of one number
// made of the key, whose top bits choose the pair. It spreads consecutive
// ids (a chart that keeps a tenant's names) as well as ids a multiple of
// a power of two apart (the chart's keys are given in the order names
// arrive, tenant after tenant, so that one tenant's may lie 1,000
// apart), where the ids modulo the size put all of them in one entry.
// Two ways, since a tenant's few keys may still share a pair.
func fslot(c cell) uint32 {
	h := (uint64(c.category)*33 + uint64(c.series)) * 0x9E3779B97F4A7C15
	return uint32(h>>(64-fcacheBits)) &^ 1
}

// fresh reports whether ent holds what was learned of key c in slot
// epoch e while main and v were at their gens now.
func (ent *fcell) fresh(c cell, e int64, main, v *View) bool {
	return ent.fa != nil && ent.mc == c && ent.e == e && ent.mgen == uint32(main.gen) && ent.fgen == uint32(v.gen)
}

// fcell is an entry of a filtered view's cache: the view's accumulator
// fa that a sample whose names have the key mc in the chart's view (the
// ids of its category and series there, or their keys in its shadow
// dictionary when the chart folded them: View.add) in slot epoch e went
// into, learned while the chart's view was at gen mgen and the filtered
// view at fgen. While both gens hold, the next such sample goes into fa
// too: the same slot (the views share the definition, so the time falls
// alike), the same category and series (the names of mc, since the
// chart's ids and keys were not reused), the same decision of the view's
// limits (no name of the view was forgotten, and fa is no fold). fa is
// then added to directly, without finding the cell by its names again.
//
// A key is used again either once its name has left the window (the
// slot alone then tells an old entry: no sample of that slot is taken
// any more), or, for a key of the chart's shadow dictionary, once its
// name was admitted, which needs room that only names leaving (a new
// gen of the chart) make: mgen tells that (TestShadowKeyGivenAgain).
// The gens are kept in 32 bits, so that an entry is 32 bytes and a pair
// one cache line; 2^32 changes of a view between two samples of one cell
// do not happen.
type fcell struct {
	mc         cell
	e          int64
	fa         *acc
	mgen, fgen uint32
}

// addFiltered adds s, which the chart's own view main matched and added
// at time at, its names having the key c there (View.add), to main's
// filtered views that match it.
//
// One map look-up per set of filter keys finds the view, however many
// views there are. The views' own Matches is not called: the chart's
// where and definition are theirs and main matched them, and the index
// matched the filter. When every filtered view of the chart filters on
// the same one tag key (tenant embeds: {tenant: …}), the view's cache
// (fcell) then finds the cell from c, when the names have a key (the
// chart kept them, or its shadow dictionary had room): no second look-up
// of the category and series names, whether or not the chart folded
// them.
func (st *boardState) addFiltered(main *View, c cell, at int64, s *ingest.Sample, now time.Time) {
	sets := main.fsets
	if len(sets) == 1 && len(sets[0].keys) == 1 {
		val, ok := s.Tag(sets[0].keys[0])
		if !ok {
			return
		}
		// The request a batch comes from is often one tenant's: the view of
		// the last sample's tenant is tried first (a string compare; while
		// its gen holds, it is still indexed).
		v := st.fmemo.v
		if v == nil || st.fmemo.set != sets[0] || st.fmemo.gen != v.gen || v.fval != val {
			if v = sets[0].views[val]; v == nil {
				return
			}
			st.fmemo.set, st.fmemo.v, st.fmemo.gen = sets[0], v, v.gen
		}
		e := main.epoch(at)
		var ent *fcell // nil: not cached
		if c.category != noKey {
			if v.fcache == nil {
				v.fcache = new([fcacheSize]fcell)
			}
			i := fslot(c)
			for j := i; j < i+2; j++ {
				if hit := &v.fcache[j]; hit.fresh(c, e, main, v) {
					hit.fa.add(main.def.Agg, s.Value, at)
					st.mark(v)
					return
				}
			}
			// The entry to learn into: the first of the pair unless it
			// holds what is still true of the same gens and slot.
			ent = &v.fcache[i]
			if ent.fa != nil && ent.e == e && ent.mgen == uint32(main.gen) && ent.fgen == uint32(v.gen) {
				ent = &v.fcache[i+1]
			}
		}
		before := v.folded
		fa, _, _ := v.add(s, now)
		if fa == nil {
			return
		}
		st.mark(v)
		if ent != nil && v.folded == before {
			*ent = fcell{mc: c, e: e, fa: fa, mgen: uint32(main.gen), fgen: uint32(v.gen)}
		}
		return
	}
	var buf []byte
	for _, set := range sets {
		var v *View
		if len(set.keys) == 1 {
			val, ok := s.Tag(set.keys[0])
			if !ok {
				continue
			}
			v = set.views[val]
		} else {
			buf = buf[:0]
			ok := true
			for j, k := range set.keys {
				val, has := s.Tag(k)
				if !has {
					ok = false
					break
				}
				if j > 0 {
					buf = append(buf, 0)
				}
				buf = append(buf, val...)
			}
			if !ok {
				continue
			}
			v = set.views[string(buf)]
		}
		if v != nil {
			if fa, _, _ := v.add(s, now); fa != nil {
				st.mark(v)
			}
		}
	}
}

// mark notes that filtered view v changed (see boardState.pending).
func (st *boardState) mark(v *View) {
	if !v.pending {
		v.pending = true
		st.pending = append(st.pending, v)
	}
}

// settlePending moves the pending views that are still held into dirty.
func (st *boardState) settlePending() {
	for i, v := range st.pending {
		v.pending = false
		if st.isCurrent(v) {
			st.dirty[v] = struct{}{}
		}
		st.pending[i] = nil
	}
	st.pending = st.pending[:0]
}

// Narrow is def seen through the tag filter where, as a chart of its own:
// where ANDed into def's where, a dashboard variable ("$NAME") of def
// bound to the filter's value for its tag. It is what a filtered view of
// def shows, for those that compute a chart apart from the board (a
// rewind of a filtered reader): its Hash differs from def's, so no state
// kept for def is ever taken for it. ok is false when nothing can match:
// the filter sets a tag that def's where fixes to another value, or def
// is a push chart (its data has no tags), or a value of the filter starts
// with '$': in a chart's where that is a variable, any value, so it
// cannot stand for itself there (such a value is shown nothing here,
// never everything).
func Narrow(def Chart, where map[string]string) (Chart, bool) {
	if def.Metric == "" {
		return Chart{}, false
	}
	if len(where) == 0 {
		return def, true
	}
	out := def
	out.Where = make(map[string]string, len(def.Where)+len(where))
	maps.Copy(out.Where, def.Where)
	for k, want := range where {
		if strings.HasPrefix(want, "$") {
			return Chart{}, false
		}
		if got, ok := def.Where[k]; ok && !strings.HasPrefix(got, "$") {
			if got != want {
				return Chart{}, false
			}
			continue
		}
		out.Where[k] = want
	}
	return out, true
}
