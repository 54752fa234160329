package stream

import (
	"bytes"
	"unicode/utf8"
)

// Delta frames, for WebSocket viewers that ask for them (?delta=1).
//
// A frame of CONTRACT.md, {"type":"frame","chart":"ID",…}, published on
// the topic ID may go to such a viewer as
//
//	{"type":"delta","chart":"ID","ops":[OP,…]}
//
// which rebuilds the frame's exact text from the text of the previous frame
// of that chart the viewer received: each OP is a number n ≥ 0 (copy the
// next n units of the previous text), a negative number −n (skip the next
// n units of it) or a string (insert it); after the last OP the rest of the
// previous text is copied. Units are UTF-16 code units, as JavaScript
// strings count them; cuts never split a character.
//
// A delta is sent only where it is shorter than the frame, and only when
// the viewer has the frame it is made against, which stream guarantees
// without tracking anything per viewer: a delta is made against the
// group's previous frame of the topic, and is sent only in a tick's
// message written at once; a viewer that was busy (a message in flight)
// gets its conflated frames whole, and a new connection's snapshot is
// whole. So a viewer that skipped a frame, or reconnected, gets the full
// frame, and a delta always applies to the last frame it got for that
// chart. A delta is made once per topic per tick (only for topics that a
// delta viewer reads), and a group's tick message for its delta viewers
// once per group, as for the others.
//
// Only messages that start with {"type":"frame","chart":"TOPIC", in that
// byte order and naming their own topic, and are valid UTF-8, get deltas;
// others (dashboard announcements, …) always go whole.

// makeDelta returns the delta message that rebuilds next from prev, or
// nil when next gets none (see above) or the delta would not be shorter.
func makeDelta(topic string, prev, next []byte) []byte {
	head := frameHead(topic)
	if prev == nil || !bytes.HasPrefix(next, head) || !bytes.HasPrefix(prev, head) ||
		!utf8.Valid(prev) || !utf8.Valid(next) {
		return nil
	}
	d := appendDeltaHead(make([]byte, 0, 128), topic)
	d = appendOps(d, prev, next)
	d = append(d, "]}"...)
	if len(d) >= len(next) {
		return nil
	}
	return d
}

// frameHead is how a frame of topic starts.
func frameHead(topic string) []byte {
	b := append([]byte(`{"type":"frame","chart":`), '"')
	return append(appendEscaped(b, topic), '"')
}

func appendDeltaHead(b []byte, topic string) []byte {
	b = append(b, `{"type":"delta","chart":"`...)
	b = appendEscaped(b, topic)
	return append(b, `","ops":[`...)
}

// span is a byte range [lo, hi).
type span struct{ lo, hi int }

// tokens splits a JSON-like text into spans: each of {}[],: alone, a
// string literal with its quotes, or a run of anything else (numbers,
// literals, whitespace). It never fails: any text splits, and the spans
// cover it exactly; each span starts at an ASCII byte or at the start, so
// every boundary is a character boundary.
func tokens(dst []span, s []byte) []span {
	for i := 0; i < len(s); {
		start := i
		switch c := s[i]; c {
		case '{', '}', '[', ']', ',', ':':
			i++
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				i++
			}
			if i < len(s) {
				i++
			}
		default:
			for i < len(s) && !delim(s[i]) {
				i++
			}
		}
		dst = append(dst, span{start, i})
	}
	return dst
}

func delim(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"':
		return true
	}
	return false
}

// change replaces prev[a.lo:a.hi] by next[b.lo:b.hi].
type change struct{ a, b span }

// mergeGap: changes closer than this (bytes of unchanged text between
// them) are sent as one, the gap inserted again: cheaper than an op.
const mergeGap = 4

// appendOps appends the ops that turn prev into next (both valid UTF-8).
//
// Tokens are aligned first: the common leading and trailing tokens are
// kept; the tokens between are paired one to one when both sides have as
// many (values changed in place: the usual frame), or else replaced as a
// whole (categories or series came or went). A pair that differs is cut
// down to the bytes that differ (a time stamp's changing digits, say).
func appendOps(d, prev, next []byte) []byte {
	ta := tokens(make([]span, 0, 64), prev)
	tb := tokens(make([]span, 0, 64), next)
	eq := func(x, y span) bool { return bytes.Equal(prev[x.lo:x.hi], next[y.lo:y.hi]) }
	p := 0
	for p < len(ta) && p < len(tb) && eq(ta[p], tb[p]) {
		p++
	}
	q := 0
	for q < len(ta)-p && q < len(tb)-p && eq(ta[len(ta)-1-q], tb[len(tb)-1-q]) {
		q++
	}
	ma, mb := ta[p:len(ta)-q], tb[p:len(tb)-q]
	var changes []change
	switch {
	case len(ma) == 0 && len(mb) == 0:
	case len(ma) == len(mb):
		for k := range ma {
			if !eq(ma[k], mb[k]) {
				changes = append(changes, narrow(prev, next, ma[k], mb[k]))
			}
		}
	default:
		changes = diffTokens(changes, prev, next, ta, tb, p, q, eq)
	}

	// Merge close changes: the gap is the same text on both sides.
	merged := changes[:0]
	for _, c := range changes {
		if n := len(merged); n > 0 && c.a.lo-merged[n-1].a.hi <= mergeGap {
			merged[n-1].a.hi, merged[n-1].b.hi = c.a.hi, c.b.hi
			continue
		}
		merged = append(merged, c)
	}

	pos, first := 0, true
	op := func() {
		if !first {
			d = append(d, ',')
		}
		first = false
	}
	for _, c := range merged {
		if n := units(prev[pos:c.a.lo]); n > 0 {
			op()
			d = appendInt(d, n)
		}
		if n := units(prev[c.a.lo:c.a.hi]); n > 0 {
			op()
			d = appendInt(d, -n)
		}
		if c.b.hi > c.b.lo {
			op()
			d = append(d, '"')
			d = appendEscaped(d, string(next[c.b.lo:c.b.hi]))
			d = append(d, '"')
		}
		pos = c.a.hi
	}
	return d
}

// maxEdits bounds the token diff: beyond it (a frame unlike the one
// before), the differing middle is replaced whole. The diff costs
// O((N+M)·D) time and O(D²) memory for D edits.
const maxEdits = 48

// diffTokens appends the changes between the tokens ta[p:len-q] of prev
// and tb[p:len-q] of next, found by Myers' diff (tokens inserted or
// removed: a category that came or went), or one change of the whole
// middle if they differ by more than maxEdits tokens.
func diffTokens(changes []change, prev, next []byte, ta, tb []span, p, q int, eq func(x, y span) bool) []change {
	ma, mb := ta[p:len(ta)-q], tb[p:len(tb)-q]
	// Where the middle starts and ends on each side, in bytes.
	startA, startB := len(prev), len(next)
	if p < len(ta) {
		startA = ta[p].lo
	}
	if p < len(tb) {
		startB = tb[p].lo
	}
	endA, endB := len(prev), len(next)
	if q > 0 {
		endA, endB = ta[len(ta)-q].lo, tb[len(tb)-q].lo
	}
	whole := append(changes, change{span{startA, endA}, span{startB, endB}})

	n, m := len(ma), len(mb)
	maxD := min(n+m, maxEdits)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	found := -1
	for d := 0; d <= maxD && found < 0; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && eq(ma[x], mb[y]) {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = d
				break
			}
		}
	}
	if found < 0 {
		return whole
	}
	// Walk back from (n, m) to list the matched token pairs.
	type pair struct{ x, y int }
	var matches []pair
	x, y := n, m
	for d := found; d > 0; d-- {
		vd := trace[d]
		k := x - y
		var pk int
		if k == -d || (k != d && vd[off+k-1] < vd[off+k+1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := vd[off+pk]
		py := px - pk
		for x > px && y > py && x > 0 && y > 0 {
			x--
			y--
			matches = append(matches, pair{x, y})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		x--
		y--
		matches = append(matches, pair{x, y})
	}
	// matches run backwards; a gap between two matches is a change.
	ax, by := 0, 0 // next unmatched token on each side
	bytesA := func(i int) int {
		if i < n {
			return ma[i].lo
		}
		return endA
	}
	bytesB := func(j int) int {
		if j < m {
			return mb[j].lo
		}
		return endB
	}
	emit := func(x, y int) {
		if x > ax || y > by {
			if x-ax == 1 && y-by == 1 {
				changes = append(changes, narrow(prev, next, ma[ax], mb[by]))
			} else {
				changes = append(changes, change{span{bytesA(ax), bytesA(x)}, span{bytesB(by), bytesB(y)}})
			}
		}
	}
	for i := len(matches) - 1; i >= 0; i-- {
		mt := matches[i]
		emit(mt.x, mt.y)
		ax, by = mt.x+1, mt.y+1
	}
	emit(n, m)
	return changes
}

// narrow cuts a differing token pair down to the bytes that differ, at
// character boundaries.
func narrow(prev, next []byte, a, b span) change {
	x, y := prev[a.lo:a.hi], next[b.lo:b.hi]
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	// x[:pre] == y[:pre]: a character boundary of x is one of y.
	for pre > 0 && pre < len(x) && !utf8.RuneStart(x[pre]) {
		pre--
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	for suf > 0 && !utf8.RuneStart(x[len(x)-suf]) {
		suf--
	}
	return change{span{a.lo + pre, a.hi - suf}, span{b.lo + pre, b.hi - suf}}
}

// units is the length of valid UTF-8 s in UTF-16 code units.
func units(s []byte) int {
	n := 0
	for _, c := range s {
		if c&0xC0 != 0x80 {
			n++
			if c >= 0xF0 {
				n++ // outside the BMP: a surrogate pair
			}
		}
	}
	return n
}

func appendInt(b []byte, n int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends valid UTF-8 s as the inside of a JSON string,
// escaped as encoding/json escapes: quote, backslash, control characters,
// '<', '>', '&', U+2028 and U+2029.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}
