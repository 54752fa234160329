package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
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
// measurement, the field or the timestamp); Index is the point's 0-based
// position. Up to 20 are collected; the error is a *DecodeError. The
// returned samples share no memory with body.
func DecodeLineProtocol(body []byte, precision time.Duration, opt DecodeOptions) ([]Sample, error) {
	if precision <= 0 {
		precision = time.Nanosecond
	}
	ck := newChecker(opt)
	ck.validUTF8 = true // the decoder has checked every token
	ps := problems{format: "line protocol"}
	var in interner

	// A first guess at the batch size: one point per line, one field each.
	lines := bytes.Count(body, []byte{'\n'}) + 1
	if ck.lim.MaxSamples > 0 && lines > ck.lim.MaxSamples {
		lines = ck.lim.MaxSamples + 1
	}
	out := make([]Sample, 0, lines)
	tagBuf := make([]Tag, 0, lines*2)
	var ptags []Tag // the current point's tags, reused

	pos := lineTracker{body: body}
	dec := lineprotocol.NewDecoderWithBytes(body)
points:
	for point := 0; dec.Next(); point++ {
		if ps.full() {
			ps.trunc = true
			break
		}
		m, err := dec.Measurement()
		if err != nil {
			ps.add(lpProblem(err, point))
			continue
		}
		// Places are worked out only when a problem is reported.
		mTok := m
		metric := in.str(m)
		bad := false
		if msg := ck.metricName("measurement", metric); msg != "" {
			line, col := pos.at(mTok)
			ps.add(Problem{Line: line, Column: col, Index: point, Message: msg})
			bad = true
		}

		ptags = ptags[:0]
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				// A syntax error: Next skips the rest of the line.
				ps.add(lpProblem(err, point))
				continue points
			}
			if k == nil {
				break
			}
			if len(ptags) < ck.lim.MaxTags+1 {
				ptags = append(ptags, Tag{Key: in.str(k), Value: in.str(v)})
			}
		}
		if msg := ck.tags(ptags); msg != "" && !bad {
			line, col := pos.at(mTok)
			ps.add(Problem{Line: line, Column: col, Index: point, Message: "measurement " + metric + ": " + msg})
			bad = true
		}

		first := len(out)
		for {
			k, v, err := dec.NextField()
			if err != nil {
				ps.add(lpProblem(err, point))
				out = out[:first]
				continue points
			}
			if k == nil {
				break
			}
			var f float64
			switch v.Kind() {
			case lineprotocol.Float:
				f = v.FloatV()
			case lineprotocol.Int:
				f = float64(v.IntV())
			case lineprotocol.Uint:
				f = float64(v.UintV())
			case lineprotocol.Bool:
				if v.BoolV() {
					f = 1
				}
			default:
				fl, fc := pos.at(k)
				ps.add(Problem{Line: fl, Column: fc, Index: point,
					Message: fmt.Sprintf("field %q is a %s; only numbers and booleans are accepted", k, strings.ToLower(v.Kind().String()))})
				bad = true
				continue
			}
			field := in.str(k)
			if msg := ck.metricName("field name", field); msg != "" {
				fl, fc := pos.at(k)
				ps.add(Problem{Line: fl, Column: fc, Index: point, Message: msg})
				bad = true
				continue
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				fl, fc := pos.at(k)
				ps.add(Problem{Line: fl, Column: fc, Index: point, Message: fmt.Sprintf("field %q: %s", k, ck.value(f))})
				bad = true
				continue
			}
			if bad {
				continue
			}
			if ck.tooMany(len(out) + 1) {
				return nil, tooManySamples("line protocol", ck.lim.MaxSamples)
			}
			out = append(out, Sample{Metric: metric, Field: field, Value: f})
		}

		tb, err := dec.TimeBytes()
		if err != nil {
			ps.add(lpProblem(err, point))
			bad = true
		}
		t := ck.now
		if tb != nil && err == nil {
			ts, perr := strconv.ParseInt(string(tb), 10, 64)
			var msg string
			switch {
			case perr != nil:
				msg = fmt.Sprintf("timestamp %s is not an integer in range", tb)
			case precision != time.Nanosecond && (ts > math.MaxInt64/int64(precision) || ts < math.MinInt64/int64(precision)):
				msg = fmt.Sprintf("timestamp %s×%s is out of range", tb, precision)
			default:
				t = time.Unix(0, ts*int64(precision))
				msg = ck.time(t)
			}
			if msg != "" {
				tl, tc := pos.at(tb)
				ps.add(Problem{Line: tl, Column: tc, Index: point, Message: msg})
				bad = true
			}
		}
		if bad || len(ps.list) > 0 {
			out = out[:first]
			continue
		}
		if len(out) == first {
			continue
		}
		var tags []Tag
		if len(ptags) > 0 {
			n := len(tagBuf)
			tagBuf = append(tagBuf, ptags...)
			tags = tagBuf[n:len(tagBuf):len(tagBuf)]
		}
		for i := first; i < len(out); i++ {
			out[i].Tags = tags
			out[i].Time = t
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// lpProblem turns a decoder error into a Problem.
func lpProblem(err error, point int) Problem {
	var de *lineprotocol.DecodeError
	if errors.As(err, &de) {
		return Problem{Line: int(de.Line), Column: de.Column, Index: point, Message: de.Err.Error()}
	}
	return Problem{Index: point, Message: err.Error()}
}

// lineTracker finds the line and column of a token the decoder returned,
// when that token is a slice of body (it is unless it held escapes; then
// the place of the last token located is given, which may be an earlier
// line).
// Lookups must come in increasing order of position; the tracker counts
// newlines once over the whole body.
type lineTracker struct {
	body     []byte
	off      int // offset up to which newlines are counted
	line     int // newlines before off
	lastNL   int // offset of the last newline before off, or -1
	init     bool
	lastLine int
	lastCol  int
}

func (lt *lineTracker) at(tok []byte) (line, col int) {
	if !lt.init {
		lt.init, lt.lastNL = true, -1
	}
	off, ok := offsetIn(lt.body, tok)
	if !ok || off < lt.off {
		// Unescaped copy, or out of order: give the last known place.
		return lt.lastLine, lt.lastCol
	}
	seg := lt.body[lt.off:off]
	if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
		lt.line += n
		lt.lastNL = lt.off + bytes.LastIndexByte(seg, '\n')
	}
	lt.off = off
	lt.lastLine, lt.lastCol = lt.line+1, off-lt.lastNL
	return lt.lastLine, lt.lastCol
}

// offsetIn reports where tok starts within buf, if tok is a slice of buf.
func offsetIn(buf, tok []byte) (int, bool) {
	if len(tok) == 0 || cap(tok) > cap(buf) {
		return 0, false
	}
	off := cap(buf) - cap(tok)
	if off >= len(buf) || &buf[off] != &tok[0] {
		return 0, false
	}
	return off, true
}
