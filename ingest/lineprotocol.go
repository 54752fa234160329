package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// ParsePrecision reads the precision query parameter of /write and
// /api/v2/write: "ns", "us", "µs", "ms", "s" (2.x) and "n", "u", "ms", "s",
// "m", "h" (1.x). The empty string means nanoseconds.
func ParsePrecision(s string) (time.Duration, error) {
	switch s {
	case "", "ns", "n":
		return time.Nanosecond, nil
	case "us", "µs", "u":
		return time.Microsecond, nil
	case "ms":
		return time.Millisecond, nil
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	return 0, fmt.Errorf("unknown precision %q (want ns, us, ms, s; or n, u, ms, s, m, h)", s)
}

// DecodeLineProtocol decodes InfluxDB line protocol. Each field of a point
// becomes one sample: Metric is the measurement, Field the field key, Tags
// the point's tags (sorted). Integer, unsigned and float fields become
// float64 (integers beyond 2^53 lose precision), booleans 1 or 0; string
// fields are refused. Timestamps are read in units of precision (see
// ParsePrecision); a point without one gets opt.Now.
//
// Measurement and field names follow [a-zA-Z_:][a-zA-Z0-9_:.-]*, tag keys
// [a-zA-Z_][a-zA-Z0-9_.-]*. Problems carry line and column (of the
// measurement, the field, the timestamp or the syntax error); Index is the
// point's 0-based position. Up to 20 are collected; the error is a
// *DecodeError. The returned samples share no memory with body.
//
// The scanner is written by hand. It accepts and refuses exactly what
// github.com/influxdata/line-protocol/v2's decoder does, with the same
// messages for syntax errors (the tests hold it to that library), but counts
// every column from the start of its line, where the library counts from
// the start of the point on the point's first line (leading spaces). Within
// a batch it remembers the series, names and tags it has read, so that a
// series seen before costs one lookup.
func DecodeLineProtocol(body []byte, precision time.Duration, opt DecodeOptions) ([]Sample, error) {
	if precision <= 0 {
		precision = time.Nanosecond
	}
	d := lpDec{buf: body, ck: newChecker(opt), ps: problems{format: "line protocol"}, prec: precision}
	d.ck.validUTF8 = true // every token is checked as it is read
	d.lines = newLineCursor()

	// A first guess at the batch size: one point per line, one field each.
	lines := bytes.Count(body, []byte{'\n'}) + 1
	if d.ck.lim.MaxSamples > 0 && lines > d.ck.lim.MaxSamples {
		lines = d.ck.lim.MaxSamples + 1
	}
	d.out = make([]Sample, 0, lines)
	// Points of a series share its tags, so a batch needs fewer of them
	// than it has points.
	d.tagBuf = make([]Tag, 0, lines)
	nn := min(8*lines, 64) // names: a measurement, a few tags and fields
	d.nameSlots = make([]int32, 1<<bits.Len(uint(2*nn-1)))
	d.names = make([]lpName, 0, nn)
	d.seed = lpSeed
	d.slots = make([]int32, 1<<bits.Len(uint(2*min(lines, maxSeries)-1)))
	d.known = make([]lpSeries, 0, min(lines, maxSeries)/2+1)
	for idx := 0; ; idx++ {
		d.skipEmptyLines()
		if d.pos >= len(d.buf) {
			break
		}
		if idx&stopEvery == stopEvery && stopped(opt.Done) {
			return nil, ErrStopped
		}
		if d.ps.full() {
			d.ps.trunc = true
			break
		}
		if err := d.point(idx); err != nil {
			return nil, err
		}
	}
	if err := d.ps.err(); err != nil {
		return nil, err
	}
	return d.out, nil
}

type lpDec struct {
	buf     []byte
	pos     int
	ck      checker
	ps      problems
	prec    time.Duration
	out     []Sample
	tagBuf  []Tag
	ptags   []Tag  // the current point's tags
	scratch []byte // unescaped tokens
	seed    maphash.Seed
	// Series seen in this batch (see series).
	slots []int32 // open addressing by hash: 1 + index in known, or 0
	known []lpSeries
	// Names and tags seen in this batch (see name).
	nameSlots []int32 // open addressing by hash: 1 + index in names, or 0
	names     []lpName
	fields    [8]string  // the valid field names of the last point, by position
	lines     lineCursor // see place
}

// point decodes one point at d.pos, which holds neither a space nor an end
// of line. After a syntax error, recorded as a problem, d.pos is where the
// library would go on: past the end of the line, whose rest is given up,
// unless the point had ended already.
func (d *lpDec) point(idx int) error {
	metric, tags, bad, ok := d.series(idx)
	if !ok {
		return nil
	}
	buf := d.buf

	// The fields.
	first := len(d.out)
	ended := false // the line's end is consumed
	nf := 0        // fields read
	for {
		kStart := d.pos
		kEnd, kEsc, high := d.takeEsc(lpTag, &lpTagEsc)
		d.pos = kEnd
		if high && !utf8.Valid(buf[kStart:kEnd]) {
			d.fail(kStart, idx, fmt.Sprintf("invalid utf-8 sequence in token %q", d.token(kStart, kEnd, kEsc, &lpTagEsc)))
			d.out = d.out[:first]
			return nil
		}
		var msg string
		at := kEnd // where the problem is
		switch {
		case kEnd == kStart && kEnd == len(buf):
			msg = "expected field key but none found"
		case kEnd == kStart:
			msg = fmt.Sprintf("invalid character %q found at start of field key", buf[kEnd])
		case kEnd == len(buf):
			msg = fmt.Sprintf("want '=' after field key %q, found end of input", d.token(kStart, kEnd, kEsc, &lpTagEsc))
		case buf[kEnd] != '=':
			msg = fmt.Sprintf("want '=' after field key %q, found %q", d.token(kStart, kEnd, kEsc, &lpTagEsc), buf[kEnd])
		case kEnd+1 == len(buf):
			at, msg = kEnd+1, "expected field value, found end of input"
		}
		if msg != "" {
			d.fail(at, idx, msg)
			d.out = d.out[:first]
			return nil
		}
		d.pos++
		vStart := d.pos
		var kind byte // 's'tring, 'b'ool, 'i'nt, 'u'int, 'f'loat
		switch c := buf[vStart]; {
		case c == '"':
			d.pos++
			sEnd, sEsc, high := d.takeEsc(lpStr, &lpStrEsc)
			d.pos = sEnd
			if high && !utf8.Valid(buf[vStart+1:sEnd]) {
				d.fail(vStart+1, idx, fmt.Sprintf("invalid utf-8 sequence in token %q", d.token(vStart+1, sEnd, sEsc, &lpStrEsc)))
				d.out = d.out[:first]
				return nil
			}
			if sEnd == len(buf) {
				d.fail(vStart, idx, "expected closing quote for string field value, found end of input")
				d.out = d.out[:first]
				return nil
			}
			d.pos++
			kind = 's'
		case c == 't' || c == 'T' || c == 'f' || c == 'F':
			d.take(lpVal)
			kind = 'b'
		case c == '-' || c == '.' || c >= '0' && c <= '9':
			d.take(lpVal)
			switch buf[d.pos-1] {
			case 'i', 'u':
				kind = buf[d.pos-1]
			default:
				kind = 'f'
			}
		default:
			d.fail(vStart, idx, "field value has unrecognized type")
			d.out = d.out[:first]
			return nil
		}
		vEnd := d.pos

		// What follows: another field, a timestamp or the end of the line.
		more := false
		if d.pos == len(buf) {
			ended = true
		} else if c := buf[d.pos]; c == ',' {
			d.pos++
			more = true
		} else if c != ' ' && c != '\r' && c != '\n' {
			d.fail(d.pos, idx, fmt.Sprintf("unexpected character %q after field", c))
			d.out = d.out[:first]
			return nil
		} else {
			d.skipSpaces()
			ended = d.takeEOL()
		}

		var f float64
		var perr string
		switch kind {
		case 'f':
			f, perr = lpFloat(buf[vStart:vEnd])
		case 'i':
			f, perr = lpInt(buf[vStart : vEnd-1])
		case 'u':
			f, perr = lpUint(buf[vStart : vEnd-1])
		case 'b':
			f, perr = lpBool(buf[vStart:vEnd])
		}
		if perr != "" {
			d.problem(vStart, idx, fmt.Sprintf("cannot parse value for field key %q: %s", d.token(kStart, kEnd, kEsc, &lpTagEsc), perr))
			if !ended {
				d.skipLine()
			}
			d.out = d.out[:first]
			return nil
		}
		if kind == 's' {
			d.problem(kStart, idx, fmt.Sprintf("field %q is a string; only numbers and booleans are accepted", d.token(kStart, kEnd, kEsc, &lpTagEsc)))
			bad = true
		} else {
			field, ok := d.field(nf, kStart, kEnd, kEsc)
			if !ok {
				d.problem(kStart, idx, d.ck.metricName("field name", field))
				bad = true
			} else if !bad {
				if d.ck.tooMany(len(d.out) + 1) {
					return tooManySamples("line protocol", d.ck.lim.MaxSamples)
				}
				if len(d.out) == cap(d.out) {
					// Double: the first guess is a sample a line, and a
					// line of many fields would otherwise be copied over
					// and over at append's smaller steps.
					d.out = slices.Grow(d.out, len(d.out))
				}
				d.out = append(d.out, Sample{Metric: metric, Field: field, Value: f})
			}
		}
		if !more {
			break
		}
		nf++
	}
	t := d.ck.now
	if !ended {
		var ok bool
		if t, ok = d.timestamp(idx); !ok {
			bad = true
		}
	}

	if bad || len(d.ps.list) > 0 {
		d.out = d.out[:first]
		return nil
	}
	for i := first; i < len(d.out); i++ {
		d.out[i].Tags = tags
		d.out[i].Time = t
	}
	return nil
}

// series decodes the measurement and the tags of a point at d.pos, up to
// its fields. It returns bad when it has recorded a problem with them, ok
// false after a syntax error. The tags are sorted and, unless bad, in
// d.tagBuf.
//
// A batch repeats its series (measurement and tags) over and over, so the
// result for each one is remembered: when the series is made of printable
// bytes other than a backslash and ends with a space, the same bytes are
// always read the same way, and they are looked up by a hash of them.
func (d *lpDec) series(idx int) (metric string, tags []Tag, bad, ok bool) {
	buf := d.buf
	mStart := d.pos
	plainEnd := d.pos
	for plainEnd+8 <= len(buf) && !lpStop8(binary.LittleEndian.Uint64(buf[plainEnd:])) {
		plainEnd += 8
	}
	for plainEnd < len(buf) && lpClass[buf[plainEnd]]&lpPlain != 0 {
		plainEnd++
	}
	var h uint64
	if plainEnd < len(buf) && buf[plainEnd] == ' ' && plainEnd > mStart {
		key := buf[mStart:plainEnd]
		h = maphash.Bytes(d.seed, key)
		if s := d.lookup(h, key); s != nil {
			d.pos = plainEnd
			d.skipSpaces()
			return s.metric, s.tags, false, true
		}
	} else {
		plainEnd = -1
	}

	end, esc, high := d.takeEsc(lpMeas, &lpMeasEsc)
	d.pos = end
	if high && !utf8.Valid(buf[mStart:end]) {
		d.fail(mStart, idx, fmt.Sprintf("invalid utf-8 sequence in token %q", d.token(mStart, end, esc, &lpMeasEsc)))
		return "", nil, false, false
	}
	switch {
	case end == mStart && end == len(buf):
		d.fail(mStart, idx, "no measurement name found")
		return "", nil, false, false
	case end == mStart:
		d.fail(mStart, idx, fmt.Sprintf("invalid character %q found at start of measurement name", buf[end]))
		return "", nil, false, false
	case buf[mStart] == '#':
		// A comment line with a control character in it, which
		// skipEmptyLines left here.
		d.fail(mStart, idx, "invalid character found in comment line")
		return "", nil, false, false
	}
	if !d.tagComma(idx) {
		return "", nil, false, false
	}
	m := d.name(nameMeas, mStart, end, esc)
	metric = m.s
	if !m.ok {
		d.problem(mStart, idx, d.ck.metricName("measurement", metric))
		bad = true
	}

	// The tags, up to the first space, read into the spare room of tagBuf
	// (so that keeping them costs no copy).
	d.ptags = d.tagBuf[len(d.tagBuf):len(d.tagBuf)]
	tagsOK := true
	seriesEnd := -1 // the space after the series
	for {
		if d.pos < len(buf) && buf[d.pos] == ' ' {
			seriesEnd = d.pos
			d.skipSpaces()
			break
		}
		kStart := d.pos
		kEnd, kEsc, high := d.takeEsc(lpTag, &lpTagEsc)
		d.pos = kEnd
		if high && !utf8.Valid(buf[kStart:kEnd]) {
			d.fail(kStart, idx, fmt.Sprintf("invalid utf-8 sequence in token %q", d.token(kStart, kEnd, kEsc, &lpTagEsc)))
			return "", nil, false, false
		}
		switch {
		case kEnd == len(buf):
			d.fail(kStart, idx, "empty tag name")
			return "", nil, false, false
		case buf[kEnd] != '=' && kEnd > kStart:
			d.fail(kStart, idx, fmt.Sprintf("expected '=' after tag key %q, but got %q instead", d.token(kStart, kEnd, kEsc, &lpTagEsc), buf[kEnd]))
			return "", nil, false, false
		case buf[kEnd] != '=' || kEnd == kStart:
			d.fail(kStart, idx, fmt.Sprintf("expected tag key or field but found %q instead", buf[kEnd]))
			return "", nil, false, false
		}
		d.pos++
		vStart := d.pos
		vEnd, vEsc, high := d.takeEsc(lpTag, &lpTagEsc)
		d.pos = vEnd
		if high && !utf8.Valid(buf[vStart:vEnd]) {
			d.fail(vStart, idx, fmt.Sprintf("invalid utf-8 sequence in token %q", d.token(vStart, vEnd, vEsc, &lpTagEsc)))
			return "", nil, false, false
		}
		if vEnd == vStart {
			d.fail(vStart, idx, fmt.Sprintf("expected tag value after tag key %q, but none found", d.token(kStart, kEnd, kEsc, &lpTagEsc)))
			return "", nil, false, false
		}
		last := vEnd == len(buf)
		if !last && !d.tagComma(idx) {
			return "", nil, false, false
		}
		if len(d.ptags) < d.ck.lim.MaxTags+1 {
			t := d.tag(kStart, kEnd, kEsc, vEnd, vEsc)
			d.ptags = append(d.ptags, Tag{Key: t.s, Value: t.v})
			tagsOK = tagsOK && t.ok
		}
		if last {
			// The library hands out the tags, then finds no field.
			break
		}
	}
	if msg := d.checkTags(tagsOK); msg != "" && !bad {
		d.problem(mStart, idx, "measurement "+metric+": "+msg)
		bad = true
	}
	if n := len(d.tagBuf); len(d.ptags) > 0 && !bad {
		if len(d.ptags) <= cap(d.tagBuf)-n && &d.tagBuf[n:cap(d.tagBuf)][0] == &d.ptags[0] {
			d.tagBuf = d.tagBuf[:n+len(d.ptags)] // read in place
		} else {
			d.tagBuf = append(d.tagBuf, d.ptags...)
		}
		tags = d.tagBuf[n:len(d.tagBuf):len(d.tagBuf)]
	}
	if plainEnd >= 0 && !bad && seriesEnd == plainEnd {
		d.remember(lpSeries{hash: h, start: mStart, end: plainEnd, metric: metric, tags: tags})
	}
	return metric, tags, bad, true
}

// timestamp reads the optional timestamp at d.pos and the end of the line.
// It reports false after recording a problem.
func (d *lpDec) timestamp(idx int) (time.Time, bool) {
	buf := d.buf
	start := d.pos
	// The common form, [-]digits, is read as it is scanned; the token is
	// made of '-' and digits.
	i := start
	neg := i < len(buf) && buf[i] == '-'
	if neg {
		i++
	}
	var v uint64
	for ; i < len(buf) && buf[i]-'0' < 10; i++ {
		v = v*10 + uint64(buf[i]-'0')
	}
	digits := i - start
	if neg {
		digits--
	}
	simple := true
	for ; i < len(buf) && (buf[i] == '-' || buf[i]-'0' < 10); i++ {
		simple = false
	}
	end := i
	d.pos = end
	if d.pos < len(buf) {
		// As in the library, when there are no digits the point is over
		// already, so what is wrong is reported but the rest of the line
		// is not skipped: it is read as the next point.
		if c := buf[d.pos]; c != ' ' && c != '\r' && c != '\n' {
			d.skipToEOL()
			d.problem(start, idx, fmt.Sprintf("invalid timestamp (%q)", buf[start:d.pos]))
			if end > start {
				d.skipLine()
			}
			return time.Time{}, false
		}
		d.skipSpaces()
		if d.pos < len(buf) && !d.takeEOL() {
			s := d.pos
			d.skipToEOL()
			d.problem(s, idx, fmt.Sprintf("unexpected text after timestamp (%q)", buf[s:d.pos]))
			if end > start {
				d.skipLine()
			}
			return time.Time{}, false
		}
	}
	if end == start {
		return d.ck.now, true
	}
	tb := buf[start:end]
	var ts int64
	var ok bool
	if simple && digits > 0 && digits <= 19 {
		ts, ok = lpSigned(v, neg)
	} else {
		ts, ok = lpTime(tb)
	}
	var msg string
	var t time.Time
	switch {
	case !ok:
		msg = fmt.Sprintf("timestamp %s is not an integer in range", tb)
	case d.prec != time.Nanosecond && (ts > math.MaxInt64/int64(d.prec) || ts < math.MinInt64/int64(d.prec)):
		msg = fmt.Sprintf("timestamp %s×%s is out of range", tb, d.prec)
	default:
		t = time.Unix(0, ts*int64(d.prec))
		msg = d.ck.time(t)
	}
	if msg != "" {
		d.problem(start, idx, msg)
		return time.Time{}, false
	}
	return t, true
}

// lpSeries is a series read without a problem: buf[start:end] is its text.
type lpSeries struct {
	hash       uint64
	start, end int
	metric     string
	tags       []Tag
}

// lookup finds the series whose text is key and hash h.
func (d *lpDec) lookup(h uint64, key []byte) *lpSeries {
	mask := uint64(len(d.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		j := d.slots[i]
		if j == 0 {
			return nil
		}
		if s := &d.known[j-1]; s.hash == h && bytes.Equal(d.buf[s.start:s.end], key) {
			return s
		}
	}
}

// remember adds a series, unless the table is full (then it is read again
// each time it comes).
func (d *lpDec) remember(s lpSeries) {
	if 2*(len(d.known)+1) > len(d.slots) {
		return
	}
	mask := uint64(len(d.slots) - 1)
	i := s.hash & mask
	for d.slots[i] != 0 {
		i = (i + 1) & mask
	}
	d.known = append(d.known, s)
	d.slots[i] = int32(len(d.known))
}

// lpSeed seeds the hashes of series; random per process, so that no one
// can prepare bodies whose series collide.
var lpSeed = maphash.MakeSeed()

// maxSeries bounds the series remembered in one batch.
const maxSeries = 4096

// lpName is a name or a tag read before in this batch, remembered so that
// the next time its text comes it costs a lookup rather than a string and a
// check. Its text, buf[start:end], is as written (with any escapes).
type lpName struct {
	hash       uint64
	start, end int
	kind       uint8
	ok         bool   // it passes the check of its kind
	s, v       string // the name, unescaped; for a tag, its key and value
}

// Kinds of lpName.
const (
	nameMeas  = iota + 1 // measurement; ok: a valid metric name
	nameKey              // tag key, alone; ok unused
	nameTag              // key=value; ok: valid key, value within limits
	nameField            // field key; ok: a valid metric name
)

// maxNames bounds the names remembered in one batch; past it, each name
// costs a string again.
const maxNames = 4096

// name returns the measurement or field name (kind nameMeas, nameField) or
// the tag key (nameKey) written buf[start:end].
func (d *lpDec) name(kind uint8, start, end int, escaped bool) lpName {
	h := maphash.Bytes(d.seed, d.buf[start:end])
	if i := d.findName(kind, h, start, end); i >= 0 {
		return d.names[i]
	}
	n := lpName{hash: h, start: start, end: end, kind: kind}
	switch kind {
	case nameMeas:
		n.s = string(d.token(start, end, escaped, &lpMeasEsc))
		n.ok = d.ck.metricName("measurement", n.s) == ""
	case nameField:
		n.s = string(d.token(start, end, escaped, &lpTagEsc))
		n.ok = d.ck.metricName("field name", n.s) == ""
	default:
		n.s = string(d.token(start, end, escaped, &lpTagEsc))
	}
	d.addName(n)
	return n
}

// tag returns the tag key=value written buf[kStart:vEnd] (the key ends at
// kEnd, the '=').
func (d *lpDec) tag(kStart, kEnd int, kEsc bool, vEnd int, vEsc bool) lpName {
	h := maphash.Bytes(d.seed, d.buf[kStart:vEnd])
	if i := d.findName(nameTag, h, kStart, vEnd); i >= 0 {
		return d.names[i]
	}
	n := lpName{hash: h, start: kStart, end: vEnd, kind: nameTag}
	n.s = d.name(nameKey, kStart, kEnd, kEsc).s
	n.v = string(d.token(kEnd+1, vEnd, vEsc, &lpTagEsc))
	n.ok = d.ck.tagKey(n.s) == "" && d.ck.tagValue(n.s, n.v) == ""
	d.addName(n)
	return n
}

// field returns the name of the field key written buf[start:end], the
// nf-th of its point, and whether it is valid.
func (d *lpDec) field(nf, start, end int, escaped bool) (string, bool) {
	// Points mostly have the fields of the point before, in its order.
	if nf < len(d.fields) && !escaped && d.fields[nf] == string(d.buf[start:end]) {
		return d.fields[nf], true
	}
	n := d.name(nameField, start, end, escaped)
	if n.ok && nf < len(d.fields) && !escaped {
		d.fields[nf] = n.s
	}
	return n.s, n.ok
}

func (d *lpDec) findName(kind uint8, h uint64, start, end int) int {
	mask := uint64(len(d.nameSlots) - 1)
	key := d.buf[start:end]
	for i := h & mask; ; i = (i + 1) & mask {
		j := d.nameSlots[i]
		if j == 0 {
			return -1
		}
		if n := &d.names[j-1]; n.hash == h && n.kind == kind && bytes.Equal(d.buf[n.start:n.end], key) {
			return int(j - 1)
		}
	}
}

func (d *lpDec) addName(n lpName) {
	if len(d.names) >= maxNames {
		return
	}
	if 2*(len(d.names)+1) > len(d.nameSlots) {
		// Grow: at most half the slots are used, so probes stay short.
		d.nameSlots = make([]int32, 2*len(d.nameSlots))
		mask := uint64(len(d.nameSlots) - 1)
		for j := range d.names {
			i := d.names[j].hash & mask
			for d.nameSlots[i] != 0 {
				i = (i + 1) & mask
			}
			d.nameSlots[i] = int32(j + 1)
		}
	}
	mask := uint64(len(d.nameSlots) - 1)
	i := n.hash & mask
	for d.nameSlots[i] != 0 {
		i = (i + 1) & mask
	}
	d.names = append(d.names, n)
	d.nameSlots[i] = int32(len(d.names))
}

// checkTags sorts d.ptags and checks them as checker.tags does; ok says
// that every key and value has passed its check already.
func (d *lpDec) checkTags(ok bool) string {
	ts := d.ptags
	if !ok || len(ts) > d.ck.lim.MaxTags {
		return d.ck.tags(ts)
	}
	sortTags(ts)
	for i := 1; i < len(ts); i++ {
		if ts[i-1].Key == ts[i].Key {
			return d.ck.tags(ts)
		}
	}
	return ""
}

// Byte classes of the line protocol: which bytes each kind of token is made
// of. The sets are those of the line-protocol/v2 decoder. A backslash is in
// none of the escapable tokens' classes: takeEsc handles it.
const (
	lpMeas    = 1 << iota // measurement: not , space or a control character
	lpTag                 // tag key, tag value, field key: not , = space or a control character
	lpStr                 // string field value: not "
	lpVal                 // number or boolean field value: not , space CR LF
	lpComment             // comment: not a control character
	lpPlain               // a series that needs no escaping: not space, backslash or a control character
)

var lpClass = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		ctl := c < 0x20 || c == 0x7f
		if !ctl && c != ',' && c != ' ' && c != '\\' {
			t[i] |= lpMeas
			if c != '=' {
				t[i] |= lpTag
			}
		}
		if c != '"' && c != '\\' {
			t[i] |= lpStr
		}
		if c != ',' && c != ' ' && c != '\r' && c != '\n' {
			t[i] |= lpVal
		}
		if !ctl {
			t[i] |= lpComment
			if c != ' ' && c != '\\' {
				t[i] |= lpPlain
			}
		}
	}
	return t
}()

// lpStop8 reports whether any of the 8 bytes in x is not lpPlain: a control
// character, a space or a backslash.
func lpStop8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - ones*0x21) & ^x & highs // a byte below '!'
	bs := x ^ (ones * '\\')
	del := x ^ (ones * 0x7f)
	return below|((bs-ones)&^bs&highs)|((del-ones)&^del&highs) != 0
}

// Escapes: a backslash before one of these bytes stands for the byte given;
// before any other byte it is kept as it is.
var (
	lpMeasEsc = lpEscapes(`  ,,`)
	lpTagEsc  = lpEscapes(`  ,,==`)
	lpStrEsc  = lpEscapes("\\\\\"\"n\nr\rt\t")
)

func lpEscapes(pairs string) (t [256]byte) {
	for i := 0; i < len(pairs); i += 2 {
		t[pairs[i]] = pairs[i+1]
	}
	return t
}

// takeEsc scans a token of class set from d.pos, as the library's takeEsc
// does: a backslash before a byte of esc escapes it (and is part of the
// token whatever that byte is); any other backslash is kept as it is. It
// returns where the token ends, whether it holds escapes and whether it
// holds bytes beyond ASCII (then it must be checked as UTF-8). d.pos is not
// moved.
func (d *lpDec) takeEsc(set uint8, esc *[256]byte) (end int, escaped, high bool) {
	buf := d.buf
	i := d.pos
	var or byte
	for i < len(buf) {
		c := buf[i]
		if lpClass[c]&set != 0 {
			or |= c
			i++
			continue
		}
		if c != '\\' {
			break
		}
		if i+1 < len(buf) && esc[buf[i+1]] != 0 {
			escaped = true
			i += 2
			continue
		}
		i++
	}
	return i, escaped, or >= 0x80
}

// token returns the token buf[start:end], unescaped if it holds escapes
// (then the bytes are valid only until the next call).
func (d *lpDec) token(start, end int, escaped bool, esc *[256]byte) []byte {
	if !escaped {
		return d.buf[start:end]
	}
	out := d.scratch[:0]
	for i := start; i < end; i++ {
		c := d.buf[i]
		if c == '\\' && i+1 < end && esc[d.buf[i+1]] != 0 {
			i++
			c = esc[d.buf[i]]
		}
		out = append(out, c)
	}
	d.scratch = out
	return out
}

// take advances d.pos over the bytes of class set.
func (d *lpDec) take(set uint8) {
	for d.pos < len(d.buf) && lpClass[d.buf[d.pos]]&set != 0 {
		d.pos++
	}
}

func (d *lpDec) skipSpaces() {
	for d.pos < len(d.buf) && d.buf[d.pos] == ' ' {
		d.pos++
	}
}

// skipToEOL advances d.pos to the next CR or LF, or the end.
func (d *lpDec) skipToEOL() {
	for d.pos < len(d.buf) && d.buf[d.pos] != '\r' && d.buf[d.pos] != '\n' {
		d.pos++
	}
}

// skipLine advances d.pos past the next LF, or to the end.
func (d *lpDec) skipLine() {
	if i := bytes.IndexByte(d.buf[d.pos:], '\n'); i >= 0 {
		d.pos += i + 1
	} else {
		d.pos = len(d.buf)
	}
}

// takeEOL consumes an end of line (LF, CR LF, or a CR or nothing at the end
// of the body) and reports whether there was one.
func (d *lpDec) takeEOL() bool {
	if d.pos == len(d.buf) {
		return true
	}
	switch d.buf[d.pos] {
	case '\n':
		d.pos++
		return true
	case '\r':
		if d.pos+1 == len(d.buf) {
			d.pos++
			return true
		}
		if d.buf[d.pos+1] == '\n' {
			d.pos += 2
			return true
		}
	}
	return false
}

// skipEmptyLines skips blank lines (spaces only) and comments. A comment
// with a control character in it is left for point to refuse, from the
// start of its line; so is a lone CR.
func (d *lpDec) skipEmptyLines() {
	for {
		lineStart := d.pos
		d.skipSpaces()
		if d.pos == len(d.buf) {
			return
		}
		switch d.buf[d.pos] {
		case '#':
			d.take(lpComment)
			if !d.takeEOL() {
				d.pos = lineStart
				return
			}
		case '\n':
			d.pos++
		case '\r':
			if !d.takeEOL() {
				return
			}
		default:
			return
		}
	}
}

// tagComma consumes the comma after a measurement or a tag value, if there
// is one, checking that a tag key follows.
func (d *lpDec) tagComma(idx int) bool {
	if d.pos == len(d.buf) || d.buf[d.pos] != ',' {
		return true
	}
	d.pos++
	if d.pos == len(d.buf) {
		d.fail(d.pos, idx, "expected tag key after comma; got end of input")
		return false
	}
	if c := d.buf[d.pos]; c == ' ' || c == '\r' || c == '\n' {
		d.fail(d.pos, idx, "expected tag key after comma; got white space instead")
		return false
	}
	return true
}

// problem records a problem at byte offset off.
func (d *lpDec) problem(off, idx int, msg string) {
	line, col := d.place(off)
	d.ps.add(Problem{Line: line, Column: col, Index: idx, Message: msg})
}

// fail records a syntax error at off and gives up the rest of the line.
func (d *lpDec) fail(off, idx int, msg string) {
	d.problem(off, idx, msg)
	d.skipLine()
}

// place returns the line and column of byte offset off.
func (d *lpDec) place(off int) (line, col int) { return d.lines.place(d.buf, off) }

// The values, parsed as the library does (strconv's syntax), with a fast
// path for the common short forms.

// pow10 holds the powers of ten that a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

func lpFloat(b []byte) (float64, string) {
	// [-]digits[.digits] with at most 15 digits: the digits and the power
	// of ten are exact, so one division rounds correctly, as strconv does.
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		if c-'0' < 10 {
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
			continue
		}
		if c == '.' && !dot {
			dot = true
			continue
		}
		digits = 99 // anything else: strconv decides
		break
	}
	if digits > 0 && digits <= 15 {
		f := float64(m) / pow10[frac]
		if neg {
			f = -f
		}
		return f, ""
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, lpNumErr(err, "invalid float value syntax")
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Sprintf("non-number %q cannot be represented as a line-protocol field value", b)
	}
	return f, ""
}

func lpInt(b []byte) (float64, string) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	if n := len(b) - i; n > 0 && n <= 18 {
		var v int64
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c >= 10 {
				break
			}
			v = v*10 + int64(c)
		}
		if i == len(b) {
			if neg {
				v = -v
			}
			return float64(v), ""
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, lpNumErr(err, "invalid integer value syntax")
	}
	return float64(v), ""
}

func lpUint(b []byte) (float64, string) {
	if n := len(b); n > 0 && n <= 19 {
		var v uint64
		i := 0
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c >= 10 {
				break
			}
			v = v*10 + uint64(c)
		}
		if i == len(b) {
			return float64(v), ""
		}
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, lpNumErr(err, "invalid unsigned integer value syntax")
	}
	return float64(v), ""
}

func lpBool(b []byte) (float64, string) {
	switch string(b) {
	case "t", "T", "true", "True", "TRUE":
		return 1, ""
	case "f", "F", "false", "False", "FALSE":
		return 0, ""
	}
	return 0, fmt.Sprintf("invalid bool value %q", b)
}

// lpNumErr is the library's wording for a strconv error.
func lpNumErr(err error, syntax string) string {
	if errors.Is(err, strconv.ErrRange) {
		return "line-protocol value out of range"
	}
	return syntax
}

// lpSigned gives the int64 of sign and magnitude, if it fits.
func lpSigned(v uint64, neg bool) (int64, bool) {
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// lpTime parses a timestamp, made of '-' and digits, as
// strconv.ParseInt(s, 10, 64) does.
func lpTime(b []byte) (int64, bool) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	return v, err == nil
}
