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

// formatV1 is the first byte of every message this version writes.
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
const formatV1 = 1

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
}

// message is one encoded batch and the subject it is published on.
type message struct {
	subject string
	data    []byte
}

func newEncoder(limit int) *encoder {
	return &encoder{limit: limit, strs: map[string]uint32{}, series: map[string]uint32{}}
}

func (e *encoder) reset() {
	clear(e.strs)
	clear(e.series)
	e.strTab, e.serTab, e.body = e.strTab[:0], e.serTab[:0], e.body[:0]
	e.nStrs, e.nSer, e.nSamp, e.prevT = 0, 0, 0, 0
	e.metric, e.mixed = "", false
}

// size is an upper bound of the encoded size of what was added.
func (e *encoder) size() int {
	return 1 + 3*binary.MaxVarintLen32 + len(e.strTab) + len(e.serTab) + len(e.body)
}

// worst bounds what s can add to a message.
func worst(s *ingest.Sample) int {
	n := sampleOverhead + len(s.Metric) + len(s.Field) + 4*binary.MaxVarintLen32
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
	e.nSamp++
}

func (e *encoder) finish() message {
	n := 1 + 3*binary.MaxVarintLen32 + len(e.strTab) + len(e.serTab) + len(e.body)
	b := make([]byte, 0, n)
	b = append(b, formatV1)
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
	d := decoder{b: b}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", errCorrupt)
	}
	if b[0] != formatV1 {
		return nil, fmt.Errorf("%w: format %d is not known to this dashd (it reads format %d)", errCorrupt, b[0], formatV1)
	}
	d.off = 1

	nStrs := d.count(1)
	strs := make([]string, nStrs)
	for i := range strs {
		n := d.count(1)
		if d.err != nil {
			break
		}
		strs[i] = string(d.b[d.off : d.off+n])
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
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes after the last sample", errCorrupt, len(d.b)-d.off)
	}
	return out, nil
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
