package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dashd/dashd/ingest"
)

// formatV1 is the first byte of every message of samples that are all
// amounts of their own; formatV2 of a message that carries running totals
// (samples with ingest.Sample.Running set).
//
// A message is one batch of samples (format v1):
//
//	byte     0x01                          format version
//	uvarint  nStrings, then nStrings × (uvarint len, bytes)      string table
//	uvarint  nSeries, then nSeries × (uvarint metric, uvarint field,
//	         uvarint nTags, nTags × (uvarint key, uvarint value))  series table
//	uvarint  nSamples, then nSamples × (uvarint series<<1 | hasTime,
//	         [varint time delta in ns from the previous timed sample, if hasTime],
//	         8 bytes IEEE 754 value, little endian)
//
// Indices point into the tables above them. A series is one (metric, field,
// tag set); its strings are stored once per message, so a decoder allocates
// each distinct string and tag set once and a sample costs two varints and
// eight bytes. Times are Unix nanoseconds, delta-coded in sample order
// starting from 0; a zero time.Time is written without a time (hasTime 0).
//
// Format v2 is v1 followed by the running totals among those samples:
//
//	uvarint  nRunning, then nRunning × (uvarint index delta (the sample's
//	         index minus the previous running total's; the first counts
//	         from -1, so it is never 0), 8 bytes series little endian,
//	         byte flags, [varint start in ns, delta-coded from the previous
//	         start written (from 0), if the flags say a start was said])
//
// Flags: bit 0 Head, bit 1 Grouped, bit 2 start said; other bits are
// refused. The running totals are listed in sample order. Messages without running totals are still written as
// v1, so what an older dashd wrote and what this one writes for the other
// formats are the same bytes; an older dashd refuses a v2 message clearly
// (a format it does not know) rather than counting running totals as
// amounts.
const (
	formatV1 = 1
	formatV2 = 2
)

// Running-total flags of format v2.
const (
	runHead    = 1 << 0
	runGrouped = 1 << 1
	runStart   = 1 << 2
	runFlags   = runHead | runGrouped | runStart
)

// runningOverhead bounds what format v2 adds for one running total.
const runningOverhead = binary.MaxVarintLen32 + 8 + binary.MaxVarintLen64 + 1

// errCorrupt wraps every decoding failure.
var errCorrupt = errors.New("journal: corrupt batch")

// sampleOverhead bounds what one sample adds besides its strings: two
// varints of the series table and one tag count, the sample's series index,
// its time delta and its value.
const sampleOverhead = 3*binary.MaxVarintLen32 + binary.MaxVarintLen32 + binary.MaxVarintLen64 + 8

// encoder packs samples into messages of at most limit bytes.
type encoder struct {
	limit int

	strs   map[string]uint32
	series map[string]uint32
	key    []byte // scratch: the packed indices of a series, for lookups

	strTab []byte
	nStrs  int
	serTab []byte
	nSer   int
	body   []byte
	nSamp  int
	prevT  int64

	metric string // the metric of every sample so far, if they share one
	mixed  bool

	runs      []byte // format v2's trailer, without its count
	nRuns     int
	prevRun   int   // the index of the last running total, -1 for none
	prevStart int64 // the start of the last running total that said one
}

// message is one encoded batch and the subject it is published on.
type message struct {
	subject string
	data    []byte
}

func newEncoder(limit int) *encoder {
	return &encoder{limit: limit, strs: map[string]uint32{}, series: map[string]uint32{}, prevRun: -1}
}

func (e *encoder) reset() {
	clear(e.strs)
	clear(e.series)
	e.strTab, e.serTab, e.body = e.strTab[:0], e.serTab[:0], e.body[:0]
	e.nStrs, e.nSer, e.nSamp, e.prevT = 0, 0, 0, 0
	e.metric, e.mixed = "", false
	e.runs, e.nRuns, e.prevRun, e.prevStart = e.runs[:0], 0, -1, 0
}

// size is an upper bound of the encoded size of what was added.
func (e *encoder) size() int {
	return 1 + 4*binary.MaxVarintLen32 + len(e.strTab) + len(e.serTab) + len(e.body) + len(e.runs)
}

// worst bounds what s can add to a message.
func worst(s *ingest.Sample) int {
	n := sampleOverhead + len(s.Metric) + len(s.Field) + 4*binary.MaxVarintLen32
	if s.Running != nil {
		n += runningOverhead
	}
	for _, t := range s.Tags {
		n += len(t.Key) + len(t.Value) + 4*binary.MaxVarintLen32
	}
	return n
}

func (e *encoder) str(s string) uint32 {
	if i, ok := e.strs[s]; ok {
		return i
	}
	i := uint32(e.nStrs)
	e.nStrs++
	e.strs[s] = i
	e.strTab = binary.AppendUvarint(e.strTab, uint64(len(s)))
	e.strTab = append(e.strTab, s...)
	return i
}

func (e *encoder) add(s *ingest.Sample) {
	if e.nSamp == 0 {
		e.metric = s.Metric
	} else if s.Metric != e.metric {
		e.mixed = true
	}
	k := e.key[:0]
	k = binary.AppendUvarint(k, uint64(e.str(s.Metric)))
	k = binary.AppendUvarint(k, uint64(e.str(s.Field)))
	k = binary.AppendUvarint(k, uint64(len(s.Tags)))
	for _, t := range s.Tags {
		k = binary.AppendUvarint(k, uint64(e.str(t.Key)))
		k = binary.AppendUvarint(k, uint64(e.str(t.Value)))
	}
	e.key = k
	ser, ok := e.series[string(k)]
	if !ok {
		ser = uint32(e.nSer)
		e.nSer++
		e.series[string(k)] = ser
		e.serTab = append(e.serTab, k...)
	}
	if s.Time.IsZero() {
		e.body = binary.AppendUvarint(e.body, uint64(ser)<<1)
	} else {
		t := s.Time.UnixNano()
		e.body = binary.AppendUvarint(e.body, uint64(ser)<<1|1)
		e.body = binary.AppendVarint(e.body, t-e.prevT)
		e.prevT = t
	}
	e.body = binary.LittleEndian.AppendUint64(e.body, math.Float64bits(s.Value))
	if r := s.Running; r != nil {
		e.runs = binary.AppendUvarint(e.runs, uint64(e.nSamp-e.prevRun))
		e.runs = binary.LittleEndian.AppendUint64(e.runs, r.Series)
		var flags byte
		if r.Head {
			flags |= runHead
		}
		if r.Grouped {
			flags |= runGrouped
		}
		if !r.Start.IsZero() {
			flags |= runStart
		}
		e.runs = append(e.runs, flags)
		if !r.Start.IsZero() {
			st := r.Start.UnixNano()
			e.runs = binary.AppendVarint(e.runs, st-e.prevStart)
			e.prevStart = st
		}
		e.prevRun = e.nSamp
		e.nRuns++
	}
	e.nSamp++
}

func (e *encoder) finish() message {
	b := make([]byte, 0, e.size())
	if e.nRuns > 0 {
		b = append(b, formatV2)
	} else {
		b = append(b, formatV1)
	}
	b = binary.AppendUvarint(b, uint64(e.nStrs))
	b = append(b, e.strTab...)
	b = binary.AppendUvarint(b, uint64(e.nSer))
	b = append(b, e.serTab...)
	b = binary.AppendUvarint(b, uint64(e.nSamp))
	b = append(b, e.body...)
	subject := subjectMixed
	if !e.mixed {
		subject = SubjectOf(e.metric)
	}
	if e.nRuns > 0 {
		b = binary.AppendUvarint(b, uint64(e.nRuns))
		b = append(b, e.runs...)
		// Their own subject, so that a reader warming its table of
		// running totals (see warm) reads only these messages.
		subject = subjectRunning
	}
	return message{subject: subject, data: b}
}

// encodeBatch encodes batch, in order, into as few messages of at most
// limit bytes as it fits in: one when it fits.
func encodeBatch(batch []ingest.Sample, limit int) []message {
	e := newEncoder(limit)
	var out []message
	for i := range batch {
		s := &batch[i]
		if e.nSamp > 0 && e.size()+worst(s) > limit {
			out = append(out, e.finish())
			e.reset()
		}
		e.add(s)
	}
	if e.nSamp > 0 {
		out = append(out, e.finish())
	}
	return out
}

// EncodeBatch encodes batch as one message in the current format. It is
// exported for tools and tests; Accept splits large batches itself.
func EncodeBatch(batch []ingest.Sample) []byte {
	e := newEncoder(math.MaxInt)
	for i := range batch {
		e.add(&batch[i])
	}
	return e.finish().data
}

// DecodeBatch decodes one message. Every string and tag set of a message is
// allocated once and shared by the samples that use it (Samples are
// immutable once decoded). Any input, however malformed, gives either the
// samples or an error, never a panic.
func DecodeBatch(b []byte) ([]ingest.Sample, error) {
	return decodeBatch(b, false)
}

// decodeBatch is DecodeBatch; lite leaves every sample's metric, field
// and tags empty (nothing of the string and series tables is allocated,
// all of it still checked), for a reader that needs only times, values
// and running totals (a table's warm-up). A message decodes in lite mode
// exactly when it decodes in full.
func decodeBatch(b []byte, lite bool) ([]ingest.Sample, error) {
	d := decoder{b: b}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", errCorrupt)
	}
	if b[0] != formatV1 && b[0] != formatV2 {
		return nil, fmt.Errorf("%w: format %d is not known to this dashd (it reads formats %d and %d)", errCorrupt, b[0], formatV1, formatV2)
	}
	d.off = 1

	nStrs := d.count(1)
	strs := make([]string, nStrs)
	for i := range strs {
		n := d.count(1)
		if d.err != nil {
			break
		}
		if !lite {
			strs[i] = string(d.b[d.off : d.off+n])
		}
		d.off += n
	}

	nSer := d.count(3)
	type series struct {
		metric, field string
		tags          []ingest.Tag
	}
	ser := make([]series, nSer)
	for i := range ser {
		ser[i].metric = d.str(strs)
		ser[i].field = d.str(strs)
		nt := d.count(2)
		if d.err != nil {
			break
		}
		if nt == 0 {
			continue
		}
		if lite {
			for range 2 * nt {
				d.str(strs)
			}
			continue
		}
		tags := make([]ingest.Tag, nt)
		for k := range tags {
			tags[k] = ingest.Tag{Key: d.str(strs), Value: d.str(strs)}
		}
		ser[i].tags = tags
	}

	nSamp := d.count(9)
	if d.err != nil {
		return nil, d.err
	}
	out := make([]ingest.Sample, nSamp)
	var t int64
	for i := range out {
		v := d.uvarint()
		idx := v >> 1
		if d.err == nil && idx >= uint64(len(ser)) {
			d.fail("sample %d names series %d of %d", i, idx, len(ser))
		}
		if d.err != nil {
			return nil, d.err
		}
		s := &ser[idx]
		out[i] = ingest.Sample{Metric: s.metric, Field: s.field, Tags: s.tags}
		if v&1 == 1 {
			delta, n := binary.Varint(d.b[d.off:])
			if n <= 0 {
				d.fail("bad time of sample %d", i)
				return nil, d.err
			}
			d.off += n
			t += delta
			out[i].Time = time.Unix(0, t)
		}
		if d.remaining() < 8 {
			d.fail("sample %d is cut short", i)
			return nil, d.err
		}
		out[i].Value = math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
		d.off += 8
	}
	if b[0] == formatV2 {
		d.running(out)
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes after the last sample", errCorrupt, len(d.b)-d.off)
	}
	return out, nil
}

// running reads format v2's trailer and marks the samples it names.
func (d *decoder) running(out []ingest.Sample) {
	n := d.count(10)
	if d.err != nil {
		return
	}
	if n == 0 || n > len(out) {
		d.fail("%d running totals in a message of %d samples", n, len(out))
		return
	}
	runs := make([]ingest.Running, n)
	idx, start := -1, int64(0)
	for k := range runs {
		delta := d.uvarint()
		if d.err == nil && (delta == 0 || delta > uint64(len(out)-1-idx)) {
			d.fail("running total %d names sample %d past index %d of %d", k, delta, idx, len(out))
		}
		if d.err == nil && d.remaining() < 9 {
			d.fail("running total %d is cut short", k)
		}
		if d.err != nil {
			return
		}
		idx += int(delta)
		r := &runs[k]
		r.Series = binary.LittleEndian.Uint64(d.b[d.off:])
		flags := d.b[d.off+8]
		d.off += 9
		if flags&^runFlags != 0 {
			d.fail("running total %d has unknown flags %#x", k, flags)
			return
		}
		r.Head, r.Grouped = flags&runHead != 0, flags&runGrouped != 0
		if flags&runStart != 0 {
			sd, m := binary.Varint(d.b[d.off:])
			if m <= 0 {
				d.fail("bad start of running total %d", k)
				return
			}
			d.off += m
			start += sd
			r.Start = time.Unix(0, start)
		}
		out[idx].Running = r
	}
}

// decoder reads varints with bounds checks; the first failure sticks.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at byte %d: %s", errCorrupt, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// count reads a count of items of at least minSize bytes each, refusing
// one larger than what is left could hold (so no input makes a huge
// allocation).
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(d.remaining()/minSize) {
		d.fail("count %d exceeds what %d bytes can hold", v, d.remaining())
	}
	if d.err != nil {
		return 0
	}
	return int(v)
}

func (d *decoder) str(strs []string) string {
	i := d.uvarint()
	if d.err == nil && i >= uint64(len(strs)) {
		d.fail("string %d of %d", i, len(strs))
	}
	if d.err != nil {
		return ""
	}
	return strs[i]
}

// Subjects. Every message of the log is published on one of them.
const (
	subjectPrefix = "dashd.samples."
	subjectAll    = subjectPrefix + ">"
	// subjectMixed carries a message whose samples have more than one metric.
	subjectMixed = subjectPrefix + "mixed"
	// subjectRunning carries every message with running totals (format
	// v2), whatever its metrics.
	subjectRunning = subjectPrefix + "running"
)

// SubjectOf is the subject of a message whose samples all have the given
// metric: "dashd.samples.m.<token>", where the token keeps ASCII letters,
// digits, '_' and '-' and writes every other byte as '=' and two hex
// digits ("cpu.user" → "cpu=2Euser"), so any metric name makes one valid,
// distinct subject token. A message of several metrics (one request
// carrying several, stored whole so it is all-or-nothing) goes on
// "dashd.samples.mixed": a consumer that wants one metric filters on both.
func SubjectOf(metric string) string {
	var b strings.Builder
	b.Grow(len(subjectPrefix) + 2 + len(metric))
	b.WriteString(subjectPrefix)
	b.WriteString("m.")
	if metric == "" {
		b.WriteByte('=')
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(metric); i++ {
		c := metric[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
