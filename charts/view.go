package charts

import (
	"cmp"
	"math"
	"slices"
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

// acc folds samples into what every aggregation needs.
type acc struct {
	sum, min, max, last float64
	count               int64
	lastAt              int64 // UnixNano of the sample that set last
}

func (a *acc) add(v float64, at int64) {
	if a.count == 0 {
		a.min, a.max = v, v
	} else {
		a.min = math.Min(a.min, v)
		a.max = math.Max(a.max, v)
	}
	a.sum += v
	a.count++
	if at >= a.lastAt {
		a.last, a.lastAt = v, at
	}
}

func (a *acc) merge(b *acc) {
	if b.count == 0 {
		return
	}
	if a.count == 0 {
		*a = *b
		return
	}
	a.sum += b.sum
	a.count += b.count
	a.min = math.Min(a.min, b.min)
	a.max = math.Max(a.max, b.max)
	if b.lastAt >= a.lastAt {
		a.last, a.lastAt = b.last, b.lastAt
	}
}

// value is the aggregate of a; seconds is the span a rate is taken over.
// A cell with no sample is NaN (drawn as no bar).
func (a *acc) value(agg Agg, seconds float64) float64 {
	if a.count == 0 {
		return math.NaN()
	}
	switch agg {
	case Count:
		return float64(a.count)
	case Avg:
		return a.sum / float64(a.count)
	case Min:
		return a.min
	case Max:
		return a.max
	case Last:
		return a.last
	case Rate:
		return a.sum / seconds
	default:
		return a.sum
	}
}

// cell is one bar: a category and a series.
type cell struct{ category, series string }

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
	categories map[string]int64
	series     map[string]int64

	push     *Frame // a push chart's data, set through the API
	seq      uint64
	folded   uint64 // samples folded into Other by the limits
	outside  uint64 // samples older than the window when they arrived
	newestAt int64  // epoch of the newest slot written
}

// NewView makes the state of a normalized, valid chart.
func NewView(def Chart, limits Limits) *View {
	v := &View{def: def, limits: limits.withDefaults(), categories: map[string]int64{}, series: map[string]int64{}}
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
		if got, ok := s.Tag(k); !ok || got != want {
			return false
		}
	}
	return true
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
func (v *View) Add(s *ingest.Sample, now time.Time) bool {
	nowEpoch := v.epoch(now.UnixNano())
	at := s.Time.UnixNano()
	e := v.epoch(at)
	if e > nowEpoch {
		e, at = nowEpoch, now.UnixNano()
	}
	if v.width != 0 && e <= nowEpoch-int64(v.nslots) {
		v.outside++
		return false
	}

	var c cell
	if v.def.X == TimeAxis {
		c.category = "" // the slot is the category
	} else {
		c.category, _ = s.Tag(v.def.X)
		c.category = v.admit(v.categories, c.category, e, v.limits.MaxCategories)
	}
	if v.def.Series != "" {
		c.series, _ = s.Tag(v.def.Series)
	} else {
		c.series = v.def.Metric
	}
	c.series = v.admit(v.series, c.series, e, v.limits.MaxSeries)

	if v.slots == nil {
		v.slots = make([]slot, v.nslots)
	}
	sl := &v.slots[int(mod(e, int64(v.nslots)))]
	if sl.cells == nil || sl.epoch != e {
		// A new map, not the old one cleared: a map keeps the room of the
		// most it ever held, and every slot in turn would keep a full one.
		v.stored -= len(sl.cells)
		sl.cells = make(map[cell]*acc)
		sl.epoch = e
	}
	a := sl.cells[c]
	if a == nil && v.stored >= MaxChartCells {
		over := cell{category: Other, series: Other}
		if v.def.X == TimeAxis {
			over.category = ""
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
	a.add(s.Value, at)
	v.newestAt = max(v.newestAt, e)
	return true
}

// admit returns name, or Other when name is new and the set is full.
func (v *View) admit(set map[string]int64, name string, e int64, limit int) string {
	if seen, ok := set[name]; ok {
		if e > seen {
			set[name] = e
		}
		return name
	}
	if len(set) >= limit && name != Other {
		v.folded++
		set[Other] = max(set[Other], e)
		return Other
	}
	set[name] = e
	return name
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
				toPercent(f.Series)
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
		toPercent(f.Series)
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
	for _, set := range []map[string]int64{v.categories, v.series} {
		for name, e := range set {
			if !v.live(e, nowEpoch) {
				delete(set, name)
			}
		}
	}
	for i := range v.slots {
		if v.slots[i].cells != nil && !v.live(v.slots[i].epoch, nowEpoch) {
			v.stored -= len(v.slots[i].cells)
			v.slots[i].cells = nil
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
// top N categories and sorts them.
func (v *View) tagFrame(f *Frame, now time.Time, nowEpoch int64) {
	merged := make(map[cell]*acc)
	for i := range v.slots {
		sl := &v.slots[i]
		if sl.cells == nil || !v.live(sl.epoch, nowEpoch) {
			continue
		}
		for c, a := range sl.cells {
			m := merged[c]
			if m == nil {
				m = new(acc)
				merged[c] = m
			}
			m.merge(a)
		}
	}
	seconds := v.rateSeconds(now, nowEpoch)

	// Rank categories by their total value (the sum over series).
	totals := map[string]float64{}
	seriesSet := map[string]struct{}{}
	for c, a := range merged {
		totals[c.category] += a.value(v.def.Agg, seconds)
		seriesSet[c.series] = struct{}{}
	}
	cats := make([]string, 0, len(totals))
	for c := range totals {
		cats = append(cats, c)
	}
	largestFirst := func(a, b string) int {
		if d := cmp.Compare(totals[b], totals[a]); d != 0 {
			return d
		}
		return cmp.Compare(a, b)
	}
	byValue := func(a, b string) int { return otherLastBy(a, b, largestFirst) }
	if v.def.Top > 0 && len(cats) > v.def.Top {
		slices.SortFunc(cats, byValue)
		for _, c := range cats[v.def.Top:] {
			for s := range seriesSet {
				if a := merged[cell{c, s}]; a != nil {
					o := merged[cell{Other, s}]
					if o == nil {
						o = new(acc)
						merged[cell{Other, s}] = o
					}
					if c != Other {
						o.merge(a)
						delete(merged, cell{c, s})
					}
				}
			}
		}
		cats = append(slices.DeleteFunc(cats[:v.def.Top], func(c string) bool { return c == Other }), Other)
	}
	if v.def.Sort == SortValue {
		slices.SortFunc(cats, byValue)
	} else {
		slices.SortFunc(cats, otherLast)
	}

	f.Categories = cats
	f.Series = v.seriesOf(seriesSet, len(cats), func(series string, i int) float64 {
		if a := merged[cell{cats[i], series}]; a != nil {
			return a.value(v.def.Agg, seconds)
		}
		return math.NaN()
	})
}

// timeFrame shows one bar group per bucket of the window, oldest first,
// empty buckets included.
func (v *View) timeFrame(f *Frame, now time.Time, nowEpoch int64) {
	n := v.nslots
	f.Categories = make([]string, n)
	first := nowEpoch - int64(n) + 1
	seriesSet := map[string]struct{}{}
	for i := 0; i < n; i++ {
		f.Categories[i] = time.Unix(0, (first+int64(i))*v.width).UTC().Format(time.RFC3339)
	}
	for i := range v.slots {
		if v.slots[i].cells != nil && v.live(v.slots[i].epoch, nowEpoch) {
			for c := range v.slots[i].cells {
				seriesSet[c.series] = struct{}{}
			}
		}
	}
	seconds := v.rateSeconds(now, nowEpoch)
	f.Series = v.seriesOf(seriesSet, n, func(series string, i int) float64 {
		e := first + int64(i)
		if v.slots == nil {
			return math.NaN()
		}
		sl := &v.slots[int(mod(e, int64(n)))]
		if sl.cells == nil || sl.epoch != e {
			return math.NaN()
		}
		if a := sl.cells[cell{"", series}]; a != nil {
			return a.value(v.def.Agg, seconds)
		}
		return math.NaN()
	})
}

// seriesOf lays out one FrameSeries per name (sorted, Other last) with n
// values from value.
func (v *View) seriesOf(set map[string]struct{}, n int, value func(series string, i int) float64) []FrameSeries {
	names := make([]string, 0, len(set))
	for s := range set {
		names = append(names, s)
	}
	slices.SortFunc(names, otherLast)
	out := make([]FrameSeries, len(names))
	for j, name := range names {
		data := make([]float64, n)
		for i := range data {
			data[i] = value(name, i)
		}
		out[j] = FrameSeries{Name: name, Data: data}
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

// toPercent normalises each category to 100 % across the series.
func toPercent(series []FrameSeries) {
	if len(series) == 0 {
		return
	}
	for i := range series[0].Data {
		total := 0.0
		for _, s := range series {
			if x := s.Data[i]; !math.IsNaN(x) {
				total += math.Abs(x)
			}
		}
		for _, s := range series {
			if total == 0 || math.IsNaN(s.Data[i]) {
				s.Data[i] = math.NaN()
				continue
			}
			s.Data[i] = s.Data[i] / total * 100
		}
	}
}
