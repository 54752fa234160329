package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// deltaDecoder rebuilds the frames of one ?delta=1 stream, as
// web/static/dashd-delta.js does: it keeps the text of the last frame of
// each chart and applies {"type":"delta","chart":ID,"ops":[…]} to it
// (stream/delta.go has the format). One per viewer, used by its reader
// goroutine only.
type deltaDecoder struct {
	texts map[string][]byte
}

const (
	deltaStart = `{"type":"delta","chart":"`
	batchStart = `{"type":"batch","frames":[`
)

// expand returns msg with every delta replaced by the frame it rebuilds:
// a frame, or a batch of frames joined as the server joins them, ready
// for scanMessage. msg may be reused by the caller afterwards.
func (d *deltaDecoder) expand(dst, msg []byte) ([]byte, error) {
	if !bytes.HasPrefix(msg, []byte(batchStart)) {
		return d.item(dst, msg)
	}
	items, ok := splitBatch(msg)
	if !ok {
		return nil, errors.New("a batch that does not split")
	}
	dst = append(dst, batchStart...)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = d.item(dst, it); err != nil {
			return nil, err
		}
	}
	return append(dst, "]}"...), nil
}

// item appends the frame text of one message or batch item.
func (d *deltaDecoder) item(dst, it []byte) ([]byte, error) {
	if bytes.HasPrefix(it, []byte(deltaStart)) {
		chart, ops, err := parseDelta(it)
		if err != nil {
			return nil, err
		}
		base, ok := d.texts[chart]
		if !ok {
			return nil, errors.New("a delta for chart " + chart + " without its previous frame")
		}
		full, err := applyOps(base, ops)
		if err != nil {
			return nil, err
		}
		d.texts[chart] = full
		return append(dst, full...), nil
	}
	if bytes.HasPrefix(it, []byte(frameStart)) {
		if k := bytes.Index(it, []byte(`"chart":"`)); k >= 0 {
			p := it[k+len(`"chart":"`):]
			if end := bytes.IndexByte(p, '"'); end >= 0 {
				d.texts[string(p[:end])] = bytes.Clone(it)
			}
		}
	}
	return append(dst, it...), nil
}

// splitBatch returns the items of {"type":"batch","frames":[A,B,…]}.
func splitBatch(msg []byte) ([][]byte, bool) {
	var items [][]byte
	depth, inString := 0, false
	start := len(batchStart)
	for i := start; i < len(msg); i++ {
		c := msg[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				if i > start {
					items = append(items, msg[start:i])
				}
				return items, true
			}
			depth--
		case ',':
			if depth == 0 {
				items = append(items, msg[start:i])
				start = i + 1
			}
		}
	}
	return nil, false
}

// op is one delta op: copy n (n ≥ 0), skip −n, or insert s.
type op struct {
	n      int
	s      []byte
	insert bool
}

// parseDelta reads a delta message's chart and ops without encoding/json
// for the common ops (numbers, strings without escapes).
func parseDelta(it []byte) (string, []op, error) {
	p := it[len(deltaStart):]
	end := bytes.IndexByte(p, '"')
	if end < 0 {
		return "", nil, errors.New("delta: no chart")
	}
	chart := string(p[:end])
	k := bytes.Index(p, []byte(`"ops":[`))
	if k < 0 {
		return "", nil, errors.New("delta: no ops")
	}
	p = p[k+len(`"ops":[`):]
	var ops []op
	for len(p) > 0 && p[0] != ']' {
		if p[0] == ',' {
			p = p[1:]
			continue
		}
		if p[0] == '"' {
			j := 1
			escaped := false
			for j < len(p) && p[j] != '"' {
				if p[j] == '\\' {
					escaped = true
					j++
				}
				j++
			}
			if j >= len(p) {
				return "", nil, errors.New("delta: unterminated string")
			}
			s := p[1:j]
			if escaped {
				var str string
				if err := json.Unmarshal(p[:j+1], &str); err != nil {
					return "", nil, err
				}
				s = []byte(str)
			}
			ops = append(ops, op{s: s, insert: true})
			p = p[j+1:]
			continue
		}
		j := bytes.IndexAny(p, ",]")
		if j < 0 {
			return "", nil, errors.New("delta: unterminated ops")
		}
		n, err := strconv.Atoi(string(p[:j]))
		if err != nil {
			return "", nil, err
		}
		ops = append(ops, op{n: n})
		p = p[j:]
	}
	return chart, ops, nil
}

// applyOps rebuilds a text; units are UTF-16 code units, as the server
// counts them.
func applyOps(base []byte, ops []op) ([]byte, error) {
	ascii := true
	for _, c := range base {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		return applyOpsUTF16(base, ops)
	}
	out := make([]byte, 0, len(base)+16)
	pos := 0
	for _, o := range ops {
		switch {
		case o.insert:
			out = append(out, o.s...)
		case o.n >= 0:
			if pos+o.n > len(base) {
				return nil, errors.New("delta: copy past the end")
			}
			out = append(out, base[pos:pos+o.n]...)
			pos += o.n
		default:
			pos -= o.n
			if pos > len(base) {
				return nil, errors.New("delta: skip past the end")
			}
		}
	}
	return append(out, base[pos:]...), nil
}

func applyOpsUTF16(base []byte, ops []op) ([]byte, error) {
	b := utf16.Encode([]rune(string(base)))
	var out []uint16
	pos := 0
	for _, o := range ops {
		switch {
		case o.insert:
			out = append(out, utf16.Encode([]rune(string(o.s)))...)
		case o.n >= 0:
			if pos+o.n > len(b) {
				return nil, errors.New("delta: copy past the end")
			}
			out = append(out, b[pos:pos+o.n]...)
			pos += o.n
		default:
			pos -= o.n
			if pos > len(b) {
				return nil, errors.New("delta: skip past the end")
			}
		}
	}
	out = append(out, b[pos:]...)
	return []byte(string(utf16.Decode(out))), nil
}
