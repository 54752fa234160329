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

// libDecodeLineProtocol is the test oracle for DecodeLineProtocol: the same
// contract, built on github.com/influxdata/line-protocol/v2's decoder (it is
// the decoder DecodeLineProtocol used before it was written by hand). It
// also reports, for each problem, how far its place can be trusted (see
// refPlace).
func libDecodeLineProtocol(body []byte, precision time.Duration, opt DecodeOptions) (_ []Sample, places []refPlace, _ error) {
	if precision <= 0 {
		precision = time.Nanosecond
	}
	ck := newChecker(opt)
	ck.validUTF8 = true // the decoder has checked every token
	ps := problems{format: "line protocol"}
	var in interner
	add := func(p Problem, place refPlace) {
		if !ps.full() {
			places = append(places, place)
		}
		ps.add(p)
	}

	lines := bytes.Count(body, []byte{'\n'}) + 1
	if ck.lim.MaxSamples > 0 && lines > ck.lim.MaxSamples {
		lines = ck.lim.MaxSamples + 1
	}
	out := make([]Sample, 0, lines)
	tagBuf := make([]Tag, 0, lines*2)
	var ptags []Tag

	pos := refLineTracker{body: body}
	dec := lineprotocol.NewDecoderWithBytes(body)
points:
	for point := 0; dec.Next(); point++ {
		if ps.full() {
			ps.trunc = true
			break
		}
		m, err := dec.Measurement()
		if err != nil {
			add(refLPProblem(err, point), placeFromPoint)
			continue
		}
		mTok := m
		metric := in.str(m)
		bad := false
		if msg := ck.metricName("measurement", metric); msg != "" {
			line, col, ok := pos.at(mTok)
			add(Problem{Line: line, Column: col, Index: point, Message: msg}, placeOf(ok))
			bad = true
		}

		ptags = ptags[:0]
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				add(refLPProblem(err, point), placeFromPoint)
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
			line, col, ok := pos.at(mTok)
			add(Problem{Line: line, Column: col, Index: point, Message: "measurement " + metric + ": " + msg}, placeOf(ok))
			bad = true
		}

		first := len(out)
		for {
			k, v, err := dec.NextField()
			if err != nil {
				add(refLPProblem(err, point), placeFromPoint)
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
				fl, fc, ok := pos.at(k)
				add(Problem{Line: fl, Column: fc, Index: point,
					Message: fmt.Sprintf("field %q is a %s; only numbers and booleans are accepted", k, strings.ToLower(v.Kind().String()))}, placeOf(ok))
				bad = true
				continue
			}
			field := in.str(k)
			if msg := ck.metricName("field name", field); msg != "" {
				fl, fc, ok := pos.at(k)
				add(Problem{Line: fl, Column: fc, Index: point, Message: msg}, placeOf(ok))
				bad = true
				continue
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				fl, fc, ok := pos.at(k)
				add(Problem{Line: fl, Column: fc, Index: point, Message: fmt.Sprintf("field %q: %s", k, ck.value(f))}, placeOf(ok))
				bad = true
				continue
			}
			if bad {
				continue
			}
			if ck.tooMany(len(out) + 1) {
				return nil, nil, tooManySamples("line protocol", ck.lim.MaxSamples)
			}
			out = append(out, Sample{Metric: metric, Field: field, Value: f})
		}

		tb, err := dec.TimeBytes()
		if err != nil {
			add(refLPProblem(err, point), placeFromPoint)
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
				tl, tc, ok := pos.at(tb)
				add(Problem{Line: tl, Column: tc, Index: point, Message: msg}, placeOf(ok))
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
		return nil, places, err
	}
	return out, nil, nil
}

// refPlace says how far the place of a problem of the oracle can be trusted.
type refPlace int

const (
	placeExact refPlace = iota
	// placeUnknown: the library handed back an unescaped copy of a token
	// that held escapes, whose place in the body is unknown; the last
	// place located is given.
	placeUnknown
	// placeFromPoint: a syntax error of the library, whose column, on the
	// line where the point begins, counts from the start of the point
	// rather than of the line (they differ after leading spaces, or when
	// the library starts a point in the middle of a line after an error).
	placeFromPoint
)

func placeOf(ok bool) refPlace {
	if ok {
		return placeExact
	}
	return placeUnknown
}

func refLPProblem(err error, point int) Problem {
	var de *lineprotocol.DecodeError
	if errors.As(err, &de) {
		return Problem{Line: int(de.Line), Column: de.Column, Index: point, Message: de.Err.Error()}
	}
	return Problem{Index: point, Message: err.Error()}
}

// refLineTracker finds the line and column of a token the library returned
// when that token is a slice of body; ok is false otherwise (the token held
// escapes), and the last place located is given.
type refLineTracker struct {
	body     []byte
	off      int
	line     int
	lastNL   int
	init     bool
	lastLine int
	lastCol  int
}

func (lt *refLineTracker) at(tok []byte) (line, col int, ok bool) {
	if !lt.init {
		lt.init, lt.lastNL = true, -1
	}
	off, ok := refOffsetIn(lt.body, tok)
	if !ok || off < lt.off {
		return lt.lastLine, lt.lastCol, false
	}
	seg := lt.body[lt.off:off]
	if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
		lt.line += n
		lt.lastNL = lt.off + bytes.LastIndexByte(seg, '\n')
	}
	lt.off = off
	lt.lastLine, lt.lastCol = lt.line+1, off-lt.lastNL
	return lt.lastLine, lt.lastCol, true
}

func refOffsetIn(buf, tok []byte) (int, bool) {
	if len(tok) == 0 || cap(tok) > cap(buf) {
		return 0, false
	}
	off := cap(buf) - cap(tok)
	if off >= len(buf) || &buf[off] != &tok[0] {
		return 0, false
	}
	return off, true
}
