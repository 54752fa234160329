package ingest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeJSON decodes the body of POST /api/v1/ingest. It accepts
//
//   - an envelope {"samples":[SAMPLE,…]} (no other top-level key),
//   - a bare array [SAMPLE,…],
//   - NDJSON: SAMPLE objects one after another, separated by white space
//     (normally one per line).
//
// SAMPLE is {"metric":NAME,"tags":{KEY:VALUE,…},"value":NUMBER,"time":T,
// "field":NAME}; metric and value are required, tags, time and field are
// optional (field defaults to "value"), any other key is refused. T is an
// RFC 3339 string or a Unix number whose unit is told by its magnitude:
// below 1e11 seconds (fractions allowed), below 1e14 milliseconds, below 1e17
// microseconds, otherwise nanoseconds. A sample without time gets opt.Now.
//
// An empty body is refused. Every problem is located by its sample index
// (samples[I].field), line and column. Syntax errors stop decoding; other
// problems are collected (up to 20). The returned error is a *DecodeError.
// The returned samples share no memory with body.
func DecodeJSON(body []byte, opt DecodeOptions) ([]Sample, error) {
	d := jsonDec{buf: body, ck: newChecker(opt), ps: problems{format: "json"}, done: opt.Done}
	d.lines = newLineCursor()
	n := bytes.Count(body, []byte(`"metric"`))
	if d.ck.lim.MaxSamples > 0 && n > d.ck.lim.MaxSamples {
		n = d.ck.lim.MaxSamples + 1
	}
	d.out = make([]Sample, 0, n)
	d.tagBuf = make([]Tag, 0, 2*n)
	if err := d.top(); err != nil {
		return nil, err
	}
	if err := d.ps.err(); err != nil {
		return nil, err
	}
	return d.out, nil
}

type jsonDec struct {
	buf     []byte
	pos     int
	in      interner
	ck      checker
	ps      problems
	out     []Sample
	tagBuf  []Tag
	scratch []byte
	fatal   bool
	done    <-chan struct{}
	lines   lineCursor
}

func (d *jsonDec) top() error {
	d.ws()
	if d.pos == len(d.buf) {
		d.syntax(-1, "", "the body is empty; expected {\"samples\":[…]}, a JSON array or NDJSON")
		return nil
	}
	switch d.buf[d.pos] {
	case '[':
		if err := d.array(); err != nil || d.fatal {
			return err
		}
	case '{':
		save := d.pos
		d.pos++
		d.ws()
		if d.pos < len(d.buf) && d.buf[d.pos] == '"' {
			key, ok := d.str()
			if !ok {
				return nil
			}
			if string(key) == "samples" {
				if !d.colon(-1, "") {
					return nil
				}
				if d.pos >= len(d.buf) || d.buf[d.pos] != '[' {
					d.syntax(-1, "samples", "expected an array, got "+d.kind())
					return nil
				}
				if err := d.array(); err != nil || d.fatal {
					return err
				}
				d.ws()
				if d.pos < len(d.buf) && d.buf[d.pos] == ',' {
					d.syntax(-1, "", "unexpected key after \"samples\": the envelope holds only \"samples\"")
					return nil
				}
				if !d.expect('}', -1, "") {
					return nil
				}
				break
			}
		}
		// NDJSON (or concatenated objects).
		d.pos = save
		for i := 0; ; i++ {
			d.ws()
			if d.pos == len(d.buf) {
				return nil
			}
			if i&stopEvery == stopEvery && stopped(d.done) {
				return ErrStopped
			}
			if d.buf[d.pos] != '{' {
				d.syntax(i, "", "expected '{' starting a sample, got "+d.kind())
				return nil
			}
			if d.ck.tooMany(i + 1) {
				return tooManySamples("json", d.ck.lim.MaxSamples)
			}
			d.sample(i)
			if d.fatal {
				return nil
			}
		}
	default:
		d.syntax(-1, "", "expected {\"samples\":[…]}, a JSON array or NDJSON, got "+d.kind())
		return nil
	}
	d.ws()
	if d.pos != len(d.buf) {
		d.syntax(-1, "", "unexpected data after the end of the JSON value: "+d.kind())
	}
	return nil
}

// array decodes [SAMPLE,…] at d.pos.
func (d *jsonDec) array() error {
	d.pos++ // '['
	d.ws()
	if d.pos < len(d.buf) && d.buf[d.pos] == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		if d.ck.tooMany(i + 1) {
			return tooManySamples("json", d.ck.lim.MaxSamples)
		}
		if i&stopEvery == stopEvery && stopped(d.done) {
			return ErrStopped
		}
		d.ws()
		if d.pos >= len(d.buf) || d.buf[d.pos] != '{' {
			d.syntax(i, "", "expected an object, got "+d.kind())
			return nil
		}
		d.sample(i)
		if d.fatal {
			return nil
		}
		d.ws()
		if d.pos >= len(d.buf) {
			d.syntax(i, "", "unexpected end of input in the samples array")
			return nil
		}
		switch d.buf[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			d.syntax(i, "", "expected ',' or ']' after a sample, got "+d.kind())
			return nil
		}
	}
}

// sample decodes one sample object at d.pos (which holds '{').
func (d *jsonDec) sample(idx int) {
	start := d.pos
	d.pos++
	var s Sample
	var haveMetric, haveValue, haveTime, haveField, haveTags, tooManyTags bool
	tagStart := len(d.tagBuf)
	tagsPos := start
	bad := false
	d.ws()
	if d.pos < len(d.buf) && d.buf[d.pos] == '}' {
		d.pos++
		d.semantic(start, idx, "", "empty object; a sample needs \"metric\" and \"value\"")
		return
	}
	for {
		d.ws()
		if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
			d.syntax(idx, "", "expected a quoted key, got "+d.kind())
			return
		}
		keyPos := d.pos
		key, ok := d.str()
		if !ok {
			return
		}
		// field is one of the constant names, so that it costs no allocation.
		var seen *bool
		var field string
		switch string(key) {
		case "metric":
			seen, field = &haveMetric, "metric"
		case "value":
			seen, field = &haveValue, "value"
		case "tags":
			seen, field = &haveTags, "tags"
		case "time":
			seen, field = &haveTime, "time"
		case "field":
			seen, field = &haveField, "field"
		}
		if seen == nil {
			d.semantic(keyPos, idx, "", fmt.Sprintf("unknown key %q (want metric, tags, value, time, field)", key))
			bad = true
		} else if *seen {
			d.semantic(keyPos, idx, field, "given twice")
			bad = true
		}
		if !d.colon(idx, field) {
			return
		}
		valPos := d.pos
		switch {
		case seen == nil:
			d.skip(idx, field, 0)
		case field == "metric" || field == "field":
			*seen = true
			if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
				d.semantic(valPos, idx, field, "expected a string, got "+d.kind())
				bad = true
				d.skip(idx, field, 0)
				break
			}
			raw, ok := d.str()
			if !ok {
				return
			}
			v := d.in.str(raw)
			what := "metric name"
			if field == "field" {
				what = "field name"
			}
			if m := d.ck.metricName(what, v); m != "" {
				d.semantic(valPos, idx, field, m)
				bad = true
			}
			if field == "metric" {
				s.Metric = v
			} else {
				s.Field = v
			}
		case field == "value":
			*seen = true
			c := byte(0)
			if d.pos < len(d.buf) {
				c = d.buf[d.pos]
			}
			if c != '-' && (c < '0' || c > '9') {
				d.semantic(valPos, idx, field, "expected a number, got "+d.kind())
				bad = true
				d.skip(idx, field, 0)
				break
			}
			num, ok := d.number(idx, field)
			if !ok {
				return
			}
			f, err := strconv.ParseFloat(string(num), 64)
			if err != nil || math.IsInf(f, 0) {
				d.semantic(valPos, idx, field, fmt.Sprintf("number %s is out of range for a float64", num))
				bad = true
				break
			}
			s.Value = f
		case field == "time":
			*seen = true
			t, msg := d.timeValue(idx)
			if d.fatal {
				return
			}
			if msg == "" {
				msg = d.ck.time(t)
			}
			if msg != "" {
				d.semantic(valPos, idx, field, msg)
				bad = true
			}
			s.Time = t
		case field == "tags":
			*seen = true
			tagsPos = valPos
			if d.pos >= len(d.buf) || d.buf[d.pos] != '{' {
				if d.pos < len(d.buf) && d.buf[d.pos] == 'n' {
					d.skip(idx, field, 0) // null: no tags
					break
				}
				d.semantic(valPos, idx, field, "expected an object of string values, got "+d.kind())
				bad = true
				d.skip(idx, field, 0)
				break
			}
			if !d.tags(idx, &bad, &tooManyTags) {
				return
			}
		}
		d.ws()
		if d.pos >= len(d.buf) {
			d.syntax(idx, "", "unexpected end of input inside a sample")
			return
		}
		if d.buf[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.buf[d.pos] == '}' {
			d.pos++
			break
		}
		d.syntax(idx, "", "expected ',' or '}' after a value, got "+d.kind())
		return
	}
	if !haveMetric {
		d.semantic(start, idx, "metric", "missing")
		bad = true
	}
	if !haveValue {
		d.semantic(start, idx, "value", "missing")
		bad = true
	}
	if len(d.tagBuf) > tagStart && !tooManyTags {
		ts := d.tagBuf[tagStart:len(d.tagBuf):len(d.tagBuf)]
		if m := d.ck.tags(ts); m != "" {
			d.semantic(tagsPos, idx, "tags", m)
			bad = true
		}
		s.Tags = ts
	}
	if bad || len(d.ps.list) > 0 {
		d.tagBuf = d.tagBuf[:tagStart]
		return
	}
	if !haveField {
		s.Field = DefaultField
	}
	if !haveTime {
		s.Time = d.ck.now
	}
	d.out = append(d.out, s)
}

// tags decodes {"k":"v",…} at d.pos, appending to d.tagBuf up to
// MaxTags of them; past that it records the problem and sets tooMany.
func (d *jsonDec) tags(idx int, bad, tooMany *bool) bool {
	n := 0
	d.pos++
	d.ws()
	if d.pos < len(d.buf) && d.buf[d.pos] == '}' {
		d.pos++
		return true
	}
	for {
		d.ws()
		if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
			d.syntax(idx, "tags", "expected a quoted tag key, got "+d.kind())
			return false
		}
		kpos := d.pos
		kraw, ok := d.str()
		if !ok {
			return false
		}
		// A key past the limit is not kept: no string is made of it
		// unless a message needs it.
		var k string
		if n < d.ck.lim.MaxTags {
			k = d.in.str(kraw)
		}
		if !d.colon(idx, "tags") {
			return false
		}
		vpos := d.pos
		if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
			if !d.ps.full() && k == "" {
				k = string(kraw) // still valid: no string was read since
			}
			d.semantic(vpos, idx, "tags."+k, "expected a string, got "+d.kind())
			*bad = true
			d.skip(idx, "tags", 0)
		} else {
			vraw, ok := d.str()
			if !ok {
				return false
			}
			// The limit is applied here, as the tags are read: past it,
			// the rest of the object is only checked for syntax, so that
			// neither time nor memory grows with what is refused.
			switch n++; {
			case n <= d.ck.lim.MaxTags:
				d.tagBuf = append(d.tagBuf, Tag{Key: k, Value: d.in.str(vraw)})
			case n == d.ck.lim.MaxTags+1:
				d.semantic(kpos, idx, "tags", fmt.Sprintf("more than %d tags, the limit", d.ck.lim.MaxTags))
				*bad, *tooMany = true, true
			}
		}
		d.ws()
		if d.pos >= len(d.buf) {
			d.syntax(idx, "tags", "unexpected end of input")
			return false
		}
		switch d.buf[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			d.syntax(idx, "tags", "expected ',' or '}', got "+d.kind())
			return false
		}
	}
}

// timeValue decodes a time at d.pos: an RFC 3339 string or a Unix number.
// A non-empty message describes a value that is well-formed JSON but not a
// time; d.fatal is set on a syntax error.
func (d *jsonDec) timeValue(idx int) (time.Time, string) {
	if d.pos >= len(d.buf) {
		d.syntax(idx, "time", "unexpected end of input")
		return time.Time{}, ""
	}
	c := d.buf[d.pos]
	switch {
	case c == '"':
		raw, ok := d.str()
		if !ok {
			return time.Time{}, ""
		}
		t, err := time.Parse(time.RFC3339Nano, string(raw))
		if err != nil {
			return time.Time{}, fmt.Sprintf("%q is not an RFC 3339 time (e.g. 2006-01-02T15:04:05Z)", raw)
		}
		return t, ""
	case c == '-' || (c >= '0' && c <= '9'):
		num, ok := d.number(idx, "time")
		if !ok {
			return time.Time{}, ""
		}
		return unixTime(num)
	default:
		kind := d.kind()
		d.skip(idx, "time", 0)
		return time.Time{}, "expected an RFC 3339 string or a Unix number, got " + kind
	}
}

// unixTime reads a Unix time whose unit is told by its magnitude.
func unixTime(num []byte) (time.Time, string) {
	if i, err := strconv.ParseInt(string(num), 10, 64); err == nil {
		a := i
		if a < 0 {
			a = -a
		}
		switch {
		case a < 1e11:
			return time.Unix(i, 0), ""
		case a < 1e14:
			return time.UnixMilli(i), ""
		case a < 1e17:
			return time.UnixMicro(i), ""
		default:
			return time.Unix(0, i), ""
		}
	}
	if ip, frac, ok := bytes.Cut(num, []byte{'.'}); ok && bytes.IndexAny(frac, "eE") < 0 {
		// Decimal fraction: exact, without a float64's rounding.
		if i, err := strconv.ParseInt(string(ip), 10, 64); err == nil {
			a := i
			if a < 0 {
				a = -a
			}
			unit, digits := int64(1), 0 // ns per unit, fraction digits kept
			switch {
			case a < 1e11:
				unit, digits = 1e9, 9
			case a < 1e14:
				unit, digits = 1e6, 6
			case a < 1e17:
				unit, digits = 1e3, 3
			}
			var f int64
			for k := 0; k < digits; k++ {
				f *= 10
				if k < len(frac) {
					f += int64(frac[k] - '0')
				}
			}
			if i < 0 || (i == 0 && num[0] == '-') {
				f = -f
			}
			if i > math.MaxInt64/unit || i < math.MinInt64/unit {
				return time.Time{}, fmt.Sprintf("number %s is out of range for a time", num)
			}
			return time.Unix(0, i*unit+f), ""
		}
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) >= 9.2e18 {
		return time.Time{}, fmt.Sprintf("number %s is out of range for a time", num)
	}
	a := math.Abs(f)
	var ns float64
	switch {
	case a < 1e11:
		ns = f * 1e9
	case a < 1e14:
		ns = f * 1e6
	case a < 1e17:
		ns = f * 1e3
	default:
		ns = f
	}
	if math.Abs(ns) >= 9.2e18 {
		return time.Time{}, fmt.Sprintf("number %s is out of range for a time", num)
	}
	return time.Unix(0, int64(math.Round(ns))), ""
}

func (d *jsonDec) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\n', '\t', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDec) colon(idx int, field string) bool {
	d.ws()
	if !d.expect(':', idx, field) {
		return false
	}
	d.ws()
	return true
}

func (d *jsonDec) expect(c byte, idx int, field string) bool {
	if d.pos < len(d.buf) && d.buf[d.pos] == c {
		d.pos++
		return true
	}
	d.syntax(idx, field, fmt.Sprintf("expected %q, got %s", c, d.kind()))
	return false
}

// kind names what starts at d.pos, for messages.
func (d *jsonDec) kind() string {
	if d.pos >= len(d.buf) {
		return "end of input"
	}
	switch c := d.buf[d.pos]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f' || c == 'n':
		// Name a literal only when it is whole: "nul" is not null.
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(d.buf[d.pos:], []byte(lit)) {
				if lit == "null" {
					return "null"
				}
				return "boolean"
			}
		}
		end := d.pos
		for end < len(d.buf) && end-d.pos < 16 && (d.buf[end] >= 'a' && d.buf[end] <= 'z' || d.buf[end] >= 'A' && d.buf[end] <= 'Z') {
			end++
		}
		return fmt.Sprintf("invalid literal %q", d.buf[d.pos:end])
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	default:
		return fmt.Sprintf("invalid character %q", c)
	}
}

// str reads a JSON string at d.pos and returns its unescaped bytes, valid
// until the next call.
func (d *jsonDec) str() ([]byte, bool) {
	start := d.pos
	i := d.pos + 1
	for i < len(d.buf) {
		c := d.buf[i]
		if c == '"' {
			d.pos = i + 1
			return d.buf[start+1 : i], true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	// Slow path: escapes.
	out := append(d.scratch[:0], d.buf[start+1:i]...)
	for i < len(d.buf) {
		c := d.buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = out
			return out, true
		case c < 0x20:
			d.pos = i
			d.syntax(-1, "", fmt.Sprintf("control character %q in a string", c))
			return nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(d.buf) {
			break
		}
		switch e := d.buf[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := hex4(d.buf[i+2:])
			if n < 0 {
				d.pos = i
				d.syntax(-1, "", "invalid \\u escape in a string")
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair is \uD8xx\uDCxx; a lone half becomes U+FFFD.
				next := d.buf[i+2:]
				if len(next) >= 6 && next[0] == '\\' && next[1] == 'u' {
					if r2, n2 := hex4(next[2:]); n2 == 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						}
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			d.pos = i
			d.syntax(-1, "", fmt.Sprintf("invalid escape %q in a string", "\\"+string(e)))
			return nil, false
		}
		i += 2
	}
	d.pos = len(d.buf)
	d.syntax(-1, "", "unterminated string")
	return nil, false
}

// hex4 reads four hex digits; n is 0 on success, -1 otherwise.
func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, -1
		}
		r = r<<4 | rune(c)
	}
	return r, 0
}

// number reads a JSON number at d.pos.
func (d *jsonDec) number(idx int, field string) ([]byte, bool) {
	start := d.pos
	i := d.pos
	if i < len(d.buf) && d.buf[i] == '-' {
		i++
	}
	digits := i
	for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
		i++
	}
	ok := i > digits
	if ok && d.buf[digits] == '0' && i > digits+1 {
		// JSON writes no leading zeros: 01 is not 1.
		d.pos = digits
		d.syntax(idx, field, "malformed number: leading zero")
		return nil, false
	}
	if ok && i < len(d.buf) && d.buf[i] == '.' {
		i++
		f := i
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
		ok = i > f
	}
	if ok && i < len(d.buf) && (d.buf[i] == 'e' || d.buf[i] == 'E') {
		i++
		if i < len(d.buf) && (d.buf[i] == '+' || d.buf[i] == '-') {
			i++
		}
		e := i
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
		ok = i > e
	}
	if !ok {
		d.pos = i
		d.syntax(idx, field, "malformed number")
		return nil, false
	}
	d.pos = i
	return d.buf[start:i], true
}

// skip skips any JSON value at d.pos.
func (d *jsonDec) skip(idx int, field string, depth int) {
	if depth > 64 {
		d.syntax(idx, field, "nesting too deep")
		return
	}
	d.ws()
	if d.pos >= len(d.buf) {
		d.syntax(idx, field, "unexpected end of input")
		return
	}
	switch c := d.buf[d.pos]; {
	case c == '"':
		d.str()
	case c == '-' || (c >= '0' && c <= '9'):
		d.number(idx, field)
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.pos++
		d.ws()
		if d.pos < len(d.buf) && d.buf[d.pos] == closer {
			d.pos++
			return
		}
		for !d.fatal {
			if c == '{' {
				d.ws()
				if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
					d.syntax(idx, field, "expected a quoted key, got "+d.kind())
					return
				}
				if _, ok := d.str(); !ok || !d.colon(idx, field) {
					return
				}
			}
			d.skip(idx, field, depth+1)
			if d.fatal {
				return
			}
			d.ws()
			if d.pos < len(d.buf) && d.buf[d.pos] == ',' {
				d.pos++
				continue
			}
			d.expect(closer, idx, field)
			return
		}
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(d.buf[d.pos:], []byte(lit)) {
				d.pos += len(lit)
				return
			}
		}
		d.syntax(idx, field, "expected a value, got "+d.kind())
	}
}

// place returns the line and column of byte offset off.
func (d *jsonDec) place(off int) (line, col int) { return d.lines.place(d.buf, off) }

// lineCursor places byte offsets of one body by line and column. Problems
// mostly come in increasing order of offset, so newlines are counted once
// over the body; an offset before the last one placed is counted from the
// start.
type lineCursor struct {
	off    int // offset up to which newlines are counted
	line   int // newlines before off
	lastNL int // offset of the last newline before off, or -1
}

func newLineCursor() lineCursor { return lineCursor{lastNL: -1} }

// place returns the 1-based line and column of byte offset off of buf.
func (lc *lineCursor) place(buf []byte, off int) (line, col int) {
	if off < lc.off || off > len(buf) {
		return where(buf, off)
	}
	seg := buf[lc.off:off]
	if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
		lc.line += n
		lc.lastNL = lc.off + bytes.LastIndexByte(seg, '\n')
	}
	lc.off = off
	return lc.line + 1, off - lc.lastNL
}

// where returns the 1-based line and column of byte offset off.
func where(buf []byte, off int) (line, col int) {
	if off > len(buf) {
		off = len(buf)
	}
	line = 1 + bytes.Count(buf[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(buf[:off], '\n')
	return line, col
}

func path(idx int, field string) string {
	if idx < 0 {
		if field == "" {
			return ""
		}
		return field + ": "
	}
	if field == "" {
		return fmt.Sprintf("samples[%d]: ", idx)
	}
	return fmt.Sprintf("samples[%d].%s: ", idx, field)
}

// syntax records a problem at d.pos that stops decoding.
func (d *jsonDec) syntax(idx int, field, msg string) {
	if d.fatal {
		return
	}
	d.fatal = true
	line, col := d.place(d.pos)
	d.ps.add(Problem{Line: line, Column: col, Index: idx, Message: path(idx, field) + msg})
}

// semantic records a problem at off; decoding goes on.
func (d *jsonDec) semantic(off, idx int, field, msg string) {
	if d.ps.full() {
		d.ps.trunc = true
		return
	}
	line, col := d.place(off)
	d.ps.add(Problem{Line: line, Column: col, Index: idx, Message: path(idx, field) + msg})
}
