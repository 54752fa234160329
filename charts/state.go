package charts

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// A View's state is encoded exactly: a view restored from it (RestoreView)
// answers every later Add and Frame with the very frames the original
// would have built, byte for byte, seq included. The encoding (version
// stateVersion) is, in order, with uvarint and varint as encoding/binary
// writes them:
//
//	byte     stateVersion
//	uvarint  limits: MaxCategories, MaxSeries (as the view applied them)
//	varint   slot width (ns); uvarint the number of slots
//	uvarint  seq, folded, outside; varint newestAt
//	names    categories, then series: uvarint n; n × (uvarint length,
//	         the name's bytes, varint newest epoch seen); uvarint the
//	         number of free ids, and each, in the order they are reused
//	byte     1 when the slots exist (0: no sample yet)
//	slots    each of the ring, when they exist: byte 1 when it holds
//	         cells (0: empty), then varint epoch, uvarint the number of
//	         cells; if any, varint the smallest sample time among them, and per
//	         cell, ascending by (category id, series id): uvarint
//	         category id, uvarint series id, uvarint value (its float64
//	         bits byte-reversed, so whole numbers take 2-3 bytes), uvarint
//	         sample count, uvarint sample time less the slot's smallest
//
// The same state always encodes to the same bytes. A slot that holds no
// cells keeps no epoch: nothing reads the epoch of an empty slot.

// stateVersion is the version of the encoding of a View's state.
const stateVersion = 1

// viewState is a copy of a View's state, taken where the View lives (the
// board's goroutine) at the cost of copying its cells, and encoded
// elsewhere. It shares no mutable memory with the View: names are
// immutable strings, everything else is copied.
type viewState struct {
	id                   string
	limits               Limits
	width                int64
	nslots               int
	hasSlots             bool
	slots                []slotState // len nslots when hasSlots
	cells                []stateCell // every slot's cells, slot by slot
	categories, series   namesState
	seq, folded, outside uint64
	newestAt             int64
}

type slotState struct {
	epoch int64
	held  bool // the slot holds cells (its map is not nil)
	n     int  // how many of viewState.cells are its
}

type stateCell struct {
	c cell
	a acc
}

type namesState struct {
	name []string
	seen []int64
	free []uint32
}

// snapshot copies v's state. Its cost is one pass over v's cells and names.
func (v *View) snapshot() viewState {
	st := viewState{
		id: v.def.ID, limits: v.limits, width: v.width, nslots: v.nslots, hasSlots: v.slots != nil,
		categories: v.categories.snapshot(), series: v.series.snapshot(),
		seq: v.seq, folded: v.folded, outside: v.outside, newestAt: v.newestAt,
	}
	if v.slots == nil {
		return st
	}
	st.slots = make([]slotState, len(v.slots))
	st.cells = make([]stateCell, 0, v.stored)
	for i := range v.slots {
		sl := &v.slots[i]
		if sl.cells == nil {
			continue
		}
		st.slots[i] = slotState{epoch: sl.epoch, held: true, n: len(sl.cells)}
		for c, a := range sl.cells {
			st.cells = append(st.cells, stateCell{c, *a})
		}
	}
	return st
}

func (ns *names) snapshot() namesState {
	return namesState{name: slices.Clone(ns.name), seen: slices.Clone(ns.seen), free: slices.Clone(ns.free)}
}

// MarshalState encodes the view's state exactly (see RestoreView). A push
// chart's data is not part of it: it lives in the push-data store.
func (v *View) MarshalState() ([]byte, error) {
	if v.def.Metric == "" {
		return nil, fmt.Errorf("charts: chart %q has no metric: a push chart's data is not view state", v.def.ID)
	}
	st := v.snapshot()
	return st.appendTo(nil), nil
}

// appendTo appends the encoding of st to b. It sorts st's cells in place.
func (st *viewState) appendTo(b []byte) []byte {
	b = append(b, stateVersion)
	b = binary.AppendUvarint(b, uint64(st.limits.MaxCategories))
	b = binary.AppendUvarint(b, uint64(st.limits.MaxSeries))
	b = binary.AppendVarint(b, st.width)
	b = binary.AppendUvarint(b, uint64(st.nslots))
	b = binary.AppendUvarint(b, st.seq)
	b = binary.AppendUvarint(b, st.folded)
	b = binary.AppendUvarint(b, st.outside)
	b = binary.AppendVarint(b, st.newestAt)
	b = st.categories.appendTo(b)
	b = st.series.appendTo(b)
	if !st.hasSlots {
		return append(b, 0)
	}
	b = append(b, 1)
	cells := st.cells
	for _, sl := range st.slots {
		if !sl.held {
			b = append(b, 0)
			continue
		}
		mine := cells[:sl.n]
		cells = cells[sl.n:]
		slices.SortFunc(mine, func(x, y stateCell) int {
			return cmp.Or(cmp.Compare(x.c.category, y.c.category), cmp.Compare(x.c.series, y.c.series))
		})
		base := int64(math.MaxInt64)
		for i := range mine {
			base = min(base, mine[i].a.at)
		}
		b = append(b, 1)
		b = binary.AppendVarint(b, sl.epoch)
		b = binary.AppendUvarint(b, uint64(len(mine)))
		if len(mine) == 0 {
			continue
		}
		b = binary.AppendVarint(b, base)
		for i := range mine {
			c := &mine[i]
			b = binary.AppendUvarint(b, uint64(c.c.category))
			b = binary.AppendUvarint(b, uint64(c.c.series))
			b = binary.AppendUvarint(b, bits.ReverseBytes64(math.Float64bits(c.a.x)))
			b = binary.AppendUvarint(b, uint64(c.a.n))
			b = binary.AppendUvarint(b, uint64(c.a.at-base)) // wraps, and back, for any two int64
		}
	}
	return b
}

func (ns *namesState) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(ns.name)))
	for i, name := range ns.name {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendVarint(b, ns.seen[i])
	}
	b = binary.AppendUvarint(b, uint64(len(ns.free)))
	for _, id := range ns.free {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return b
}

// StateError says what is wrong with an encoded view state, and where.
type StateError struct {
	Chart   string // the chart the state was restored for
	Offset  int    // the byte of the state where the problem was found
	Message string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("charts: the state of chart %q, at byte %d: %s", e.Chart, e.Offset, e.Message)
}

// stateReader reads an encoded state; the first problem sticks.
type stateReader struct {
	b   []byte
	off int
	err *StateError
	id  string
}

func (r *stateReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &StateError{Chart: r.id, Offset: r.off, Message: fmt.Sprintf(format, args...)}
	}
}

func (r *stateReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated: %d bytes, more expected", len(r.b))
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *stateReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b[r.off:])
	switch {
	case n == 0:
		r.fail("truncated: %d bytes, more expected", len(r.b))
	case n < 0:
		r.fail("a number that does not fit in 64 bits")
	}
	r.off += max(n, 0)
	return x
}

// varint reads a zig-zag signed number, as binary.AppendVarint wrote it.
func (r *stateReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a count of things, each taking at least minBytes of what is
// left, and at most most: what may be allocated for them is bounded by the
// input and by the chart's limits.
func (r *stateReader) count(what string, most int, minBytes int) int {
	at := r.off
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(most) {
		r.off = at
		r.fail("%d %s, at most %d", n, what, most)
		return 0
	}
	if left := uint64(len(r.b) - r.off); n*uint64(minBytes) > left {
		r.off = at
		r.fail("truncated: %d %s need at least %d bytes, %d are left", n, what, n*uint64(minBytes), left)
		return 0
	}
	return int(n)
}

// RestoreView makes the view of def (normalized and valid, as NewView
// takes it), under limits, from a state that MarshalState encoded: the restored view builds the same frames as the
// original would for any later sequence of Add and Frame. def must fold
// samples as the original's did (Chart.Hash equal; the board checks it),
// and limits must be the original's. Whatever state holds, a corrupt or
// hostile one gets a *StateError and no view, and allocates no more than
// its own length and the chart's limits allow (MaxChartCells cells and
// one overflow cell per slot, MaxCategories and MaxSeries names, plus
// Other, each).
func RestoreView(def Chart, limits Limits, state []byte) (*View, error) {
	if def.Metric == "" {
		return nil, fmt.Errorf("charts: chart %q has no metric: a push chart has no view state to restore", def.ID)
	}
	if err := def.Validate(); err != nil {
		return nil, fmt.Errorf("charts: chart %q is not a normalized, valid definition: %w", def.ID, err)
	}
	v := NewView(def, limits)
	r := &stateReader{b: state, id: def.ID}
	if ver := r.byte(); r.err == nil && ver != stateVersion {
		r.off--
		r.fail("version %d, expected %d", ver, stateVersion)
	}
	maxCat, maxSer := r.uvarint(), r.uvarint()
	if r.err == nil && (maxCat != uint64(v.limits.MaxCategories) || maxSer != uint64(v.limits.MaxSeries)) {
		r.fail("computed with limits of %d categories and %d series; this view has %d and %d", maxCat, maxSer, v.limits.MaxCategories, v.limits.MaxSeries)
	}
	width, nslots := r.varint(), r.uvarint()
	if r.err == nil && (width != v.width || nslots != uint64(v.nslots)) {
		r.fail("slots of %d ns × %d, but the definition makes slots of %d ns × %d: the state is of another definition", width, nslots, v.width, v.nslots)
	}
	v.seq, v.folded, v.outside = r.uvarint(), r.uvarint(), r.uvarint()
	v.newestAt = r.varint()
	// A time axis keeps no category names; Other is the one name past the
	// limit that a set may hold.
	maxCatNames := v.limits.MaxCategories + 1
	if def.X == TimeAxis {
		maxCatNames = 0
	}
	r.names(&v.categories, "category names", maxCatNames)
	r.names(&v.series, "series names", v.limits.MaxSeries+1)
	switch held := r.byte(); {
	case r.err != nil:
	case held == 1:
		v.slots = make([]slot, v.nslots)
		r.slots(v)
	case held != 0:
		r.off--
		r.fail("%d where 0 (no slots) or 1 (slots follow) was expected", held)
	}
	if r.err == nil && r.off != len(state) {
		r.fail("%d bytes after the end of the state", len(state)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return v, nil
}

// names reads a set of names into ns, at most most of them.
func (r *stateReader) names(ns *names, what string, most int) {
	n := r.count(what, most, 2) // an empty name and its epoch: 2 bytes
	if r.err != nil {
		return
	}
	ns.name, ns.seen = make([]string, n), make([]int64, n)
	ns.ids = make(map[string]uint32, n)
	for id := range n {
		size := r.uvarint()
		if r.err == nil && size > uint64(len(r.b)-r.off) {
			r.fail("a name of %d bytes, %d are left", size, len(r.b)-r.off)
		}
		if r.err != nil {
			return
		}
		ns.name[id] = string(r.b[r.off : r.off+int(size)])
		r.off += int(size)
		ns.seen[id] = r.varint()
	}
	nfree := r.count("free ids", n, 1)
	if r.err != nil {
		return
	}
	free := make([]bool, n)
	ns.free = make([]uint32, nfree)
	for i := range nfree {
		at := r.off
		id := r.uvarint()
		if r.err != nil {
			return
		}
		if id >= uint64(n) || free[id] || ns.name[id] != "" {
			r.off = at
			r.fail("%s: free id %d is out of range, repeated or named", what, id)
			return
		}
		free[id] = true
		ns.free[i] = uint32(id)
	}
	for id, name := range ns.name {
		if free[id] {
			continue
		}
		if _, dup := ns.ids[name]; dup {
			r.fail("%s: %q is named twice", what, name)
			return
		}
		ns.ids[name] = uint32(id)
	}
}

// slots reads the ring of v's slots; v's names are read.
func (r *stateReader) slots(v *View) {
	// Each slot may pass MaxChartCells by its one overflow cell (see Add).
	budget := MaxChartCells + v.nslots
	known := func(ns *names, id uint64) bool {
		if id >= uint64(len(ns.name)) {
			return false
		}
		_, ok := ns.ids[ns.name[id]]
		return ok && ns.ids[ns.name[id]] == uint32(id)
	}
	for i := range v.slots {
		held := r.byte()
		if r.err != nil {
			return
		}
		if held == 0 {
			continue
		}
		if held != 1 {
			r.off--
			r.fail("slot %d: %d where 0 (empty) or 1 (cells follow) was expected", i, held)
			return
		}
		at := r.off
		e := r.varint()
		if r.err == nil && (v.width == 0 && e != 0 || v.width != 0 && mod(e, int64(v.nslots)) != int64(i)) {
			r.off = at
			r.fail("slot %d holds epoch %d, which belongs in slot %d", i, e, mod(e, int64(v.nslots)))
		}
		n := r.count("cells", budget-v.stored, 5) // the least a cell takes
		if r.err != nil {
			return
		}
		sl := &v.slots[i]
		sl.epoch, sl.cells = e, make(map[cell]*acc, n)
		if n == 0 {
			continue
		}
		base := r.varint()
		accs := make([]acc, n)
		var prev cell
		for j := range n {
			at := r.off
			c := cell{category: uint32(min(r.uvarint(), math.MaxUint32)), series: uint32(min(r.uvarint(), math.MaxUint32))}
			a := &accs[j]
			a.x = math.Float64frombits(bits.ReverseBytes64(r.uvarint()))
			a.n = int64(r.uvarint())
			a.at = base + int64(r.uvarint())
			if r.err != nil {
				return
			}
			switch {
			case j > 0 && (c.category < prev.category || c.category == prev.category && c.series <= prev.series):
				r.fail("slot %d: cells out of order or repeated", i)
			case v.def.X == TimeAxis && c.category != 0:
				r.fail("slot %d: a category id on a time axis", i)
			case v.def.X != TimeAxis && !known(&v.categories, uint64(c.category)):
				r.fail("slot %d: category id %d names no category", i, c.category)
			case !known(&v.series, uint64(c.series)):
				r.fail("slot %d: series id %d names no series", i, c.series)
			case a.n < 1:
				r.fail("slot %d: a cell of %d samples", i, a.n)
			}
			if r.err != nil {
				r.err.Offset = at
				return
			}
			prev = c
			sl.cells[c] = a
		}
		v.stored += n
	}
}
