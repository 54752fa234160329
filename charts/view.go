package charts

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dashd/dashd/ingest"
)

// windowSlots is how many slots a sliding window is cut into: a sample
// leaves the window at most Window/windowSlots after it should.
const windowSlots = 20

// Limits bound the memory of one chart whatever the input: a category or a
// series beyond them is folded into Other and counted. They may only lower
// the package's MaxCategories and MaxSeries, on which the limits of
// definitions are reckoned: a larger value counts as the maximum.
type Limits struct {
	MaxCategories int // distinct categories one chart tracks (default and most MaxCategories)
	MaxSeries     int // distinct series one chart tracks (default and most MaxSeries)
}

func (l Limits) withDefaults() Limits {
	if l.MaxCategories <= 0 || l.MaxCategories > MaxCategories {
		l.MaxCategories = MaxCategories
	}
	if l.MaxSeries <= 0 || l.MaxSeries > MaxSeries {
		l.MaxSeries = MaxSeries
	}
	return l
}

// acc folds the samples of one cell into what the chart's aggregation
// needs, in 24 bytes (there may be MaxChartCells of them per chart): n
// counts the samples; x is their sum (sum, avg, rate), their min, their
// max, or the value of the newest (last), whose time is at (UnixNano).
// Every method takes the chart's aggregation.
type acc struct {
	x  float64
	n  int64
	at int64
}

func (a *acc) add(agg Agg, v float64, at int64) {
	switch {
	case agg == Count:
	case a.n == 0:
		a.x, a.at = v, at
	case agg == Min:
		a.x = math.Min(a.x, v)
	case agg == Max:
		a.x = math.Max(a.x, v)
	case agg == Last:
		if at >= a.at {
			a.x, a.at = v, at
		}
	default: // sum, avg, rate
		a.x += v
	}
	a.n++
}

func (a *acc) merge(agg Agg, b *acc) {
	switch {
	case b.n == 0:
		return
	case a.n == 0:
		*a = *b
		return
	case agg == Count:
	case agg == Min:
		a.x = math.Min(a.x, b.x)
	case agg == Max:
		a.x = math.Max(a.x, b.x)
	case agg == Last:
		if b.at >= a.at {
			a.x, a.at = b.x, b.at
		}
	default:
		a.x += b.x
	}
	a.n += b.n
}

// value is the aggregate of a; seconds is the span a rate is taken over.
// A cell with no sample is NaN (drawn as no bar).
func (a *acc) value(agg Agg, seconds float64) float64 {
	switch {
	case a.n == 0:
		return math.NaN()
	case agg == Count:
		return float64(a.n)
	case agg == Avg:
		return a.x / float64(a.n)
	case agg == Rate:
		return a.x / seconds
	default: // sum, min, max, last
		return a.x
	}
}

// cell is one bar: a category and a series, by their ids in the view's
// names (8 bytes a key, where two strings took 32). On a time axis the
// slot is the category, and category is 0.
type cell struct{ category, series uint32 }

// names is the set of categories (or series) a view tracks: each name has
// a small id, which cells use, and the newest epoch it was seen in, so that
// the limits count only what is inside the window. The id of a name that
// leaves the window is used again; no cell of a live slot refers to it
// (see View.expire).
//
// A chart's own view that has filtered views also knows names past its
// limit, which it folds into Other, in a dictionary apart (shadow): each
// has a key of its own (shadowBit set), which no cell uses, so that a
// tenant's sample has a key for its names whether the chart kept or
// folded them, and the filtered views' cache (filtered.go, fcell) can
// find the tenant's cell from the keys without looking the names up
// again. The dictionary holds at most shadowPerLimit × the set's limit
// names (at the defaults 16,000 categories and 1,600 series; 84 bytes a
// name of 8 bytes, BenchmarkShadowDictionaryMemory: about 1.5 MB for a
// chart at most with such names, plus the names' own length); a name
// past that has no key, and its filtered view looks it up by name. It is
// dropped when the chart's last filtered view is, and its names leave
// with the window as the set's do. It is no part of the view's state
// (checkpoints): a cache's aid only.
type names struct {
	ids  map[string]uint32
	name []string // by id; "" for a free id
	seen []int64  // newest epoch, by id
	free []uint32

	shadow *names // the names folded into Other, by key; nil: none
	// other is the id of Other, valid while name[other] is Other.
	other uint32
}

// shadowBit marks a key (View.add) of a name in names.shadow: the rest of
// the key is its index there. Ids of names themselves stay far below it
// (a set holds at most its limit and Other).
const shadowBit = 1 << 31

// shadowPerLimit bounds names.shadow: this many times the set's limit.
const shadowPerLimit = 32

func newNames() names { return names{ids: map[string]uint32{}} }

// id returns the id of name, seen at epoch e, adding it if need be.
func (ns *names) id(name string, e int64) uint32 {
	if id, ok := ns.ids[name]; ok {
		ns.seen[id] = max(ns.seen[id], e)
		return id
	}
	// A copy: name may share the memory of a whole request or log message.
	name = strings.Clone(name)
	var id uint32
	if n := len(ns.free); n > 0 {
		id, ns.free = ns.free[n-1], ns.free[:n-1]
		ns.name[id], ns.seen[id] = name, e
	} else {
		id = uint32(len(ns.name))
		ns.name, ns.seen = append(ns.name, name), append(ns.seen, e)
	}
	ns.ids[name] = id
	return id
}

// otherID is id(Other, e), without a look-up while Other keeps its id.
func (ns *names) otherID(e int64) uint32 {
	if id := ns.other; int(id) < len(ns.name) && ns.name[id] == Other {
		ns.seen[id] = max(ns.seen[id], e)
		return id
	}
	ns.other = ns.id(Other, e)
	return ns.other
}

// shadowKey returns the key of name, which the set folds, seen at epoch
// e, adding it to the shadow dictionary if it has room below most names;
// ok is false when it has none.
func (ns *names) shadowKey(name string, e int64, most int) (key uint32, ok bool) {
	if ns.shadow == nil {
		ns.shadow = &names{ids: map[string]uint32{}}
	} else if i, ok := ns.shadow.ids[name]; ok {
		ns.shadow.seen[i] = max(ns.shadow.seen[i], e)
		return shadowBit | i, true
	}
	if len(ns.shadow.ids) >= most {
		return 0, false
	}
	return shadowBit | ns.shadow.id(name, e), true
}

// unshadow takes name out of the shadow dictionary (the set admits it
// now), and reports whether it was there: its key may then be another
// name's.
func (ns *names) unshadow(name string) bool {
	return ns.shadow != nil && ns.shadow.remove(name)
}

// remove drops name, and reports whether it was there.
func (ns *names) remove(name string) bool {
	id, ok := ns.ids[name]
	if ok {
		delete(ns.ids, name)
		ns.name[id] = ""
		ns.free = append(ns.free, id)
	}
	return ok
}

// dropShadow forgets the whole shadow dictionary, and reports whether it
// held any name.
func (ns *names) dropShadow() bool {
	had := ns.shadow != nil && len(ns.shadow.name) > 0
	ns.shadow = nil
	return had
}

// forget drops every name whose newest epoch is not recent, and reports
// whether it dropped any (from the set or its shadow dictionary).
func (ns *names) forget(recent func(e int64) bool) bool {
	dropped := false
	for name, id := range ns.ids {
		if !recent(ns.seen[id]) {
			dropped = ns.remove(name) || dropped
		}
	}
	if ns.shadow != nil && ns.shadow.forget(recent) {
		dropped = true
	}
	return dropped
}

// slot holds the samples of one slice of time: a slice of a sliding window,
// or one bucket of a time axis.
type slot struct {
	epoch int64 // start / width; the slot is empty when it is not current
	cells map[cell]*acc
}

// View is the live state of one chart: the windowed aggregates of one
// definition. It is not safe for concurrent use; the Board owns each View
// in its one goroutine, and tests drive one directly with explicit times.
type View struct {
	def    Chart
	limits Limits

	width  int64  // slot width in ns; 0: no window (one slot since start)
	nslots int    // the length of the ring
	slots  []slot // a ring, indexed by epoch mod nslots; nil until the first sample
	// stored counts the accumulators of every slot. Past MaxChartCells a
	// new cell is folded into its slot's overflow cell, so that a sliding
	// window (whose slots each hold their own cells) keeps no more than a
	// frame's worth whatever arrives.
	stored int

	// known categories and series, with the newest epoch they were seen in,
	// so that the limits count only what is inside the window.
	categories names
	series     names

	push     *Frame // a push chart's data, set through the API
	seq      uint64
	folded   uint64 // samples folded into Other by the limits
	outside  uint64 // samples older than the window when they arrived
	newestAt int64  // epoch of the newest slot written

	// A filtered view (filtered.go) also holds every sample to filter, and
	// is published on topic; never says the filter contradicts the chart's
	// own where (or the chart is a push chart), so it matches nothing.
	filter map[string]string
	fval   string // the value of a filter of one tag
	never  bool
	topic  string
	// held: a filtered view still being filled from the log; its frames
	// are not published until it is complete.
	held bool
	// sentAt is when the board last published this view's frame (the
	// board's goroutine only): Config.MaxFPS is per chart, so a chart
	// quiet for an interval goes out at once whatever the others do.
	sentAt time.Time
	// gen rises whenever a slot's cells are replaced or dropped, a name
	// is forgotten (its id may be used again), or a filtered view is
	// dropped: what a cache (fcache, filtered.go) learned of the view at
	// another gen may no longer hold.
	gen uint64
	// fsets (a chart's own view only) indexes its filtered views by the
	// tag keys they filter on (filtered.go); pending says the view is in
	// boardState.pending, a change not yet in boardState.dirty; fcache (a
	// filtered view only, made on its first sample) maps the chart's cells
	// to the view's.
	fsets   []*keySet
	pending bool
	fcache  *[fcacheSize]fcell
}

// NewView makes the state of a normalized, valid chart.
func NewView(def Chart, limits Limits) *View {
	v := &View{def: def, limits: limits.withDefaults(), categories: newNames(), series: newNames()}
	switch {
	case def.X == TimeAxis:
		v.width = int64(def.Bucket)
		v.nslots = int(int64(def.Window) / int64(def.Bucket))
	case def.Window > 0:
		// One slot more than the window holds: the oldest is partly outside
		// it, so a sample leaves at most one slot late, never early.
		v.width = max(int64(def.Window)/windowSlots, 1)
		v.nslots = windowSlots + 1
	default:
		v.nslots = 1
	}
	return v
}

// Definition returns the chart this view draws.
func (v *View) Definition() Chart { return v.def }

// Folded is the number of samples folded into Other because the chart
// reached its category or series limit.
func (v *View) Folded() uint64 { return v.folded }

// Outside is the number of samples that arrived older than the window.
func (v *View) Outside() uint64 { return v.outside }

// Matches says whether s is read by this chart: its metric, field and every
// where filter agree.
func (v *View) Matches(s *ingest.Sample) bool {
	if s.Metric != v.def.Metric || s.Field != v.def.Field {
		return false
	}
	for k, want := range v.def.Where {
		if want != "" && want[0] == '$' {
			continue // a dashboard variable: unbound, any value (variables.go)
		}
		if got, ok := s.Tag(k); !ok || got != want {
			return false
		}
	}
	if v.never {
		return false
	}
	for k, want := range v.filter {
		if got, ok := s.Tag(k); !ok || got != want {
			return false
		}
	}
	return true
}

// topicName is the topic v's frames are published on: the chart id, or a
// filtered view's own topic.
func (v *View) topicName() string {
	if v.topic != "" {
		return v.topic
	}
	return v.def.ID
}

// epoch is the slot number of t.
func (v *View) epoch(t int64) int64 {
	if v.width == 0 {
		return 0
	}
	return floorDiv(t, v.width)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Add folds s into the chart as of now and reports whether the chart
// changed. The caller has checked Matches. A sample newer than now counts
// as now; one older than the window is counted in Outside and changes
// nothing.
//
// The clamp to now is a guard only. A board fed from the log gets samples
// whose times the journal has already clamped to the log timestamp of
// their message, which is never after the board's clock on a node whose
// clock is sane, so that the state is a function of the log alone, as
// checkpoints (keyed by log position) require; the clamp keeps a sample
// from another source, or a clock that steps back, from writing a slot
// ahead of the window.
func (v *View) Add(s *ingest.Sample, now time.Time) bool {
	a, _, _ := v.add(s, now)
	return a != nil
}

// add is Add that returns the accumulator s went into (nil: s is older
// than the window), the key of its names, and the time s counted at
// (s.Time, or now if s is newer). The key is the ids of its category and
// series, or for a name the view folded into Other its key in the shadow
// dictionary (names, shadowBit; only a view with filtered views keeps
// one); its category is noKey when a name has neither. While the view's
// gen holds, a key stands for the same two names.
func (v *View) add(s *ingest.Sample, now time.Time) (*acc, cell, int64) {
	nowEpoch := v.epoch(now.UnixNano())
	at := s.Time.UnixNano()
	e := v.epoch(at)
	if e > nowEpoch {
		e, at = nowEpoch, now.UnixNano()
	}
	if v.width != 0 && e <= nowEpoch-int64(v.nslots) {
		v.outside++
		return nil, cell{}, 0
	}

	var c, key cell
	if v.def.X != TimeAxis { // else the slot is the category
		category, _ := s.Tag(v.def.X)
		c.category, key.category = v.admit(&v.categories, category, e, v.limits.MaxCategories)
	}
	series := v.def.Metric
	if v.def.Series != "" {
		series, _ = s.Tag(v.def.Series)
	}
	c.series, key.series = v.admit(&v.series, series, e, v.limits.MaxSeries)
	if key.series == noKey {
		key.category = noKey
	}

	if v.slots == nil {
		v.slots = make([]slot, v.nslots)
	}
	sl := &v.slots[int(mod(e, int64(v.nslots)))]
	if sl.cells == nil || sl.epoch != e {
		// A new map, not the old one cleared: a map keeps the room of the
		// most it ever held, and every slot in turn would keep a full one.
		v.stored -= len(sl.cells)
		if sl.cells != nil {
			v.gen++
		}
		sl.cells = make(map[cell]*acc)
		sl.epoch = e
	}
	a := sl.cells[c]
	if a == nil && v.stored >= MaxChartCells {
		over := cell{series: v.series.otherID(e)}
		if v.def.X != TimeAxis {
			over.category = v.categories.otherID(e)
		}
		if c != over {
			v.folded++
			c = over
			a = sl.cells[c]
		}
	}
	if a == nil {
		a = new(acc)
		sl.cells[c] = a
		v.stored++ // past MaxChartCells by at most one overflow cell per slot
	}
	a.add(v.def.Agg, s.Value, at)
	v.newestAt = max(v.newestAt, e)
	return a, key, at
}

// noKey is the key (View.add) of a name that has none.
const noKey = math.MaxUint32

// admit returns the id of name, or of Other when name is new and the set
// is full, and name's key (View.add).
func (v *View) admit(set *names, name string, e int64, limit int) (id, key uint32) {
	if sh := set.shadow; sh != nil && len(sh.ids) > len(set.ids) && len(set.ids) >= limit {
		// Most names are past the limit (many tenants, each with its own
		// hosts): the dictionary first, one look-up for most samples. A
		// name is in one of the two at most, and Other never in it.
		if i, ok := sh.ids[name]; ok {
			sh.seen[i] = max(sh.seen[i], e)
			v.folded++
			return set.otherID(e), shadowBit | i
		}
	}
	if id, ok := set.ids[name]; ok { // one look-up for a known name, the usual case
		set.seen[id] = max(set.seen[id], e)
		return id, id
	}
	if len(set.ids) >= limit && name != Other {
		v.folded++
		key = noKey
		if v.fsets != nil {
			if k, ok := set.shadowKey(name, e, shadowPerLimit*limit); ok {
				key = k
			}
		}
		return set.otherID(e), key
	}
	if set.unshadow(name) {
		v.gen++ // its key may be another name's from now on
	}
	id = set.id(name, e)
	return id, id
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Epoch is the slot number of now: when it moves on, a windowed chart's
// frame changes even without new samples. Charts without a window return 0.
func (v *View) Epoch(now time.Time) int64 { return v.epoch(now.UnixNano()) }

// Windowed says whether the chart's frame changes with time alone.
func (v *View) Windowed() bool { return v.width != 0 }

// SetData replaces a push chart's data. Series must each have one value per
// category.
func (v *View) SetData(categories []string, series []FrameSeries) {
	v.push = &Frame{Categories: categories, Series: series}
}

// Frame builds the chart's frame as of now, with the next seq.
func (v *View) Frame(now time.Time) Frame {
	v.seq++
	f := Frame{Chart: v.def.ID, Seq: v.seq, Time: now}
	if v.def.Metric == "" {
		f.Categories, f.Series = []string{}, []FrameSeries{}
		if v.push != nil {
			f.Categories, f.Series = v.push.Categories, v.push.Series
			if v.def.Type == Percent {
				// Frames are shared once built: normalise a copy.
				f.Series = make([]FrameSeries, len(v.push.Series))
				for i, s := range v.push.Series {
					f.Series[i] = FrameSeries{Name: s.Name, Data: slices.Clone(s.Data)}
				}
				f.Totals = toPercent(f.Series)
			}
		}
		return f
	}
	nowEpoch := v.epoch(now.UnixNano())
	v.expire(nowEpoch)
	if v.def.X == TimeAxis {
		v.timeFrame(&f, now, nowEpoch)
	} else {
		v.tagFrame(&f, now, nowEpoch)
	}
	if v.def.Type == Percent {
		f.Totals = toPercent(f.Series)
	}
	return f
}

// live reports whether slot epoch e is inside the window ending at nowEpoch.
func (v *View) live(e, nowEpoch int64) bool {
	return v.width == 0 || (e > nowEpoch-int64(v.nslots) && e <= nowEpoch)
}

// expire forgets categories and series not seen inside the window, so the
// limits count only what is shown.
func (v *View) expire(nowEpoch int64) {
	if v.width == 0 {
		return
	}
	// A name is forgotten only with every slot it was seen in: its newest
	// epoch is older than the window, so every slot it is in is dropped
	// below, and no cell left refers to its id when the id is used again.
	// (A name seen after now, should the clock step back, is kept.)
	recent := func(e int64) bool { return e > nowEpoch-int64(v.nslots) }
	fc, fs := v.categories.forget(recent), v.series.forget(recent)
	if fc || fs {
		v.gen++
	}
	for i := range v.slots {
		if v.slots[i].cells != nil && !v.live(v.slots[i].epoch, nowEpoch) {
			v.stored -= len(v.slots[i].cells)
			v.slots[i].cells = nil
			v.gen++
		}
	}
}

// rateSeconds is the span a rate is taken over: a bucket on a time axis,
// else the time from the start of the oldest live slot to now, which is
// what the window's data covers.
func (v *View) rateSeconds(now time.Time, nowEpoch int64) float64 {
	if v.def.X == TimeAxis {
		return time.Duration(v.def.Bucket).Seconds()
	}
	oldest := (nowEpoch - int64(v.nslots) + 1) * v.width
	return time.Duration(now.UnixNano() - oldest).Seconds()
}

// tagFrame folds every live slot into one value per cell, then keeps the
// top N categories and sorts them. The cells are merged into a dense
// matrix, category id × series id: no larger than the frame it makes, and
// one allocation where a map took one per cell.
//
// A cumulative histogram (Histogram: cumulative) is turned into per-bucket
// counts before the top N are chosen, over every bucket in the window, so
// that which buckets are kept never changes what a kept bucket shows; the
// buckets past the top N are then added up into Other.
func (v *View) tagFrame(f *Frame, now time.Time, nowEpoch int64) {
	agg := v.def.Agg
	// Row nc-1 is Other's when Other has no id (no sample was folded into
	// it), for the categories past the top N.
	nc, ns := len(v.categories.name)+1, len(v.series.name)
	other, ok := v.categories.ids[Other]
	if !ok {
		other = uint32(nc - 1)
	}
	catName := func(id uint32) string {
		if int(id) == nc-1 {
			return Other
		}
		return v.categories.name[id]
	}
	m := make([]acc, nc*ns)
	catSeen, seriesSeen := make([]bool, nc), make([]bool, ns)
	for i := range v.slots {
		sl := &v.slots[i]
		if sl.cells == nil || !v.live(sl.epoch, nowEpoch) {
			continue
		}
		for c, a := range sl.cells {
			m[int(c.category)*ns+int(c.series)].merge(agg, a)
			catSeen[c.category], seriesSeen[c.series] = true, true
		}
	}
	seconds := v.rateSeconds(now, nowEpoch)
	var cats []uint32
	for c := range nc {
		if catSeen[c] {
			cats = append(cats, uint32(c))
		}
	}

	// The numbers of the categories, parsed once, where an order or the
	// buckets need them.
	var nums []number
	if v.def.Sort == SortNumeric || v.def.Histogram == HistogramCumulative {
		nums = make([]number, nc)
		for _, c := range cats {
			nums[c] = parseNumber(catName(c))
		}
		// nums[other] stays "not a number", even when Other is unseen.
	}
	byNumber := func(a, b uint32) int {
		return otherLastBy(catName(a), catName(b), func(x, y string) int { return compareNumbers(x, y, nums[a], nums[b]) })
	}

	// The value of each cell as drawn: of its accumulator, or for a
	// cumulative histogram its bucket's own count.
	value := func(c, s int) float64 { return m[c*ns+s].value(agg, seconds) }
	var perBucket []float64
	if v.def.Histogram == HistogramCumulative {
		perBucket = make([]float64, nc*ns)
		for i := range perBucket {
			perBucket[i] = m[i].value(agg, seconds)
		}
		var bounds []uint32 // the numeric categories, Other never among them
		for _, c := range cats {
			if c != other && nums[c].ok {
				bounds = append(bounds, c)
			}
		}
		slices.SortFunc(bounds, byNumber)
		decumulate(perBucket, bounds, ns)
		value = func(c, s int) float64 { return perBucket[c*ns+s] }
	}

	// Rank categories by their total value (the sum over series).
	totals := make([]float64, nc)
	for _, c := range cats {
		for s := range ns {
			if x := value(int(c), s); !math.IsNaN(x) {
				totals[c] += x
			}
		}
	}
	byValue := func(a, b uint32) int {
		switch {
		case a == b:
			return 0
		case a == other:
			return 1
		case b == other:
			return -1
		}
		if d := cmp.Compare(totals[b], totals[a]); d != 0 {
			return d
		}
		return cmp.Compare(catName(a), catName(b))
	}
	if v.def.Top > 0 && len(cats) > v.def.Top {
		slices.SortFunc(cats, byValue)
		for _, c := range cats[v.def.Top:] {
			if c == other {
				continue
			}
			if perBucket != nil {
				// Counts of buckets add up to the count of their union.
				row, into := perBucket[int(c)*ns:int(c+1)*ns], perBucket[int(other)*ns:int(other+1)*ns]
				for s := range row {
					into[s] = addCounts(into[s], row[s])
				}
				continue
			}
			row, into := m[int(c)*ns:int(c+1)*ns], m[int(other)*ns:int(other+1)*ns]
			for s := range row {
				into[s].merge(agg, &row[s])
			}
		}
		cats = append(slices.DeleteFunc(cats[:v.def.Top], func(c uint32) bool { return c == other }), other)
	}
	switch v.def.Sort {
	case SortValue:
		slices.SortFunc(cats, byValue)
	case SortNumeric:
		slices.SortFunc(cats, byNumber)
	default:
		slices.SortFunc(cats, func(a, b uint32) int { return otherLast(catName(a), catName(b)) })
	}

	f.Categories = make([]string, len(cats))
	for i, c := range cats {
		f.Categories[i] = catName(c)
	}
	f.Series = v.seriesOf(seriesSeen, len(cats), func(series uint32, data []float64) {
		for i, c := range cats {
			data[i] = value(int(c), int(series))
		}
	})
}

// number is a category read as a number: ok when it is one (not NaN).
type number struct {
	x  float64
	ok bool
}

// parseNumber reads a category as Go reads a float: "0.005", "1e-3",
// "+Inf", "-Inf" and "Infinity" are numbers; an out-of-range one such as
// "1e999" counts as ±Inf; "NaN", "" and anything else is not.
func parseNumber(s string) number {
	x, err := strconv.ParseFloat(s, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(x) {
		return number{}
	}
	return number{x: x, ok: true}
}

// compareNumbers orders categories a and b, read as na and nb: numbers
// first, ascending, equal ones by name; then those that are not numbers,
// by name. (Other is placed by otherLastBy around it.)
func compareNumbers(a, b string, na, nb number) int {
	switch {
	case na.ok && nb.ok:
		if d := cmp.Compare(na.x, nb.x); d != 0 {
			return d
		}
	case na.ok:
		return -1
	case nb.ok:
		return 1
	}
	return cmp.Compare(a, b)
}

// decumulate turns cumulative bucket values into each bucket's own count,
// in place: vals holds one value per cell (category × ns series), bounds
// the categories that are bucket bounds, ascending. Per series, each value
// loses the value of the nearest lower bound that has one; the lowest
// keeps its own (all it counts is in its bucket). A cell without a value
// stays NaN, and a bound past it subtracts what is below it.
func decumulate(vals []float64, bounds []uint32, ns int) {
	for s := range ns {
		below := math.NaN()
		for _, c := range bounds {
			i := int(c)*ns + s
			x := vals[i]
			if math.IsNaN(x) {
				continue
			}
			if !math.IsNaN(below) {
				vals[i] = x - below
			}
			below = x
		}
	}
}

// addCounts adds two bucket counts, either of which may be missing (NaN).
func addCounts(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return a + b
}

// timeFrame shows one bar group per bucket of the window, oldest first,
// empty buckets included.
func (v *View) timeFrame(f *Frame, now time.Time, nowEpoch int64) {
	n := v.nslots
	f.Categories = make([]string, n)
	first := nowEpoch - int64(n) + 1
	for i := 0; i < n; i++ {
		f.Categories[i] = time.Unix(0, (first+int64(i))*v.width).UTC().Format(time.RFC3339)
	}
	// The slot of bucket i, or nil when it holds nothing of the window.
	bucket := func(i int) *slot {
		if v.slots == nil {
			return nil
		}
		e := first + int64(i)
		sl := &v.slots[int(mod(e, int64(n)))]
		if sl.cells == nil || sl.epoch != e {
			return nil
		}
		return sl
	}
	seriesSeen := make([]bool, len(v.series.name))
	for i := range n {
		if sl := bucket(i); sl != nil {
			for c := range sl.cells {
				seriesSeen[c.series] = true
			}
		}
	}
	seconds := v.rateSeconds(now, nowEpoch)
	row := make([]int, len(seriesSeen)) // series id → its place in f.Series
	f.Series = v.seriesOf(seriesSeen, n, func(series uint32, data []float64) {
		for i := range data {
			data[i] = math.NaN()
		}
	})
	for j, s := range f.Series {
		row[v.series.ids[s.Name]] = j
	}
	for i := range n {
		if sl := bucket(i); sl != nil {
			for c, a := range sl.cells {
				f.Series[row[c.series]].Data[i] = a.value(v.def.Agg, seconds)
			}
		}
	}
}

// seriesOf lays out one FrameSeries of n values for each series id seen
// (sorted by name, Other last); fill writes a series' values.
func (v *View) seriesOf(seen []bool, n int, fill func(series uint32, data []float64)) []FrameSeries {
	var ids []uint32
	for id, ok := range seen {
		if ok {
			ids = append(ids, uint32(id))
		}
	}
	slices.SortFunc(ids, func(a, b uint32) int { return otherLast(v.series.name[a], v.series.name[b]) })
	out := make([]FrameSeries, len(ids))
	for j, id := range ids {
		data := make([]float64, n)
		fill(id, data)
		out[j] = FrameSeries{Name: v.series.name[id], Data: data}
	}
	return out
}

// otherLast orders names alphabetically with Other at the end.
func otherLast(a, b string) int { return otherLastBy(a, b, cmp.Compare[string]) }

// otherLastBy compares a and b by order, except that Other comes last.
func otherLastBy(a, b string, order func(a, b string) int) int {
	switch {
	case a == b:
		return 0
	case a == Other:
		return 1
	case b == Other:
		return -1
	}
	return order(a, b)
}

// toPercent normalises each category to 100 % across the series, and
// returns each category's total before (of the absolute values; NaN where
// none), so that a tooltip can show the counts behind the shares.
func toPercent(series []FrameSeries) []float64 {
	if len(series) == 0 {
		return nil
	}
	totals := make([]float64, len(series[0].Data))
	for i := range series[0].Data {
		total := 0.0
		for _, s := range series {
			if x := s.Data[i]; !math.IsNaN(x) {
				total += math.Abs(x)
			}
		}
		totals[i] = total
		if total == 0 {
			totals[i] = math.NaN()
		}
		for _, s := range series {
			if total == 0 || math.IsNaN(s.Data[i]) {
				s.Data[i] = math.NaN()
				continue
			}
			s.Data[i] = s.Data[i] / total * 100
		}
	}
	return totals
}
