package stream

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

// applyDelta rebuilds a frame from the previous one and a delta message,
// as a JavaScript client does: in UTF-16 code units.
func applyDelta(prev string, delta []byte) (string, error) {
	var d struct {
		Type  string `json:"type"`
		Chart string `json:"chart"`
		Ops   []any  `json:"ops"`
	}
	if err := json.Unmarshal(delta, &d); err != nil {
		return "", fmt.Errorf("delta is not JSON: %w: %s", err, delta)
	}
	if d.Type != "delta" {
		return "", fmt.Errorf("type %q", d.Type)
	}
	base := utf16.Encode([]rune(prev))
	var out []uint16
	pos := 0
	for _, op := range d.Ops {
		switch op := op.(type) {
		case float64:
			n := int(op)
			if float64(n) != op {
				return "", fmt.Errorf("op %v is not an integer", op)
			}
			if n >= 0 {
				if pos+n > len(base) {
					return "", fmt.Errorf("copy %d at %d of %d", n, pos, len(base))
				}
				out = append(out, base[pos:pos+n]...)
				pos += n
			} else {
				pos -= n
				if pos > len(base) {
					return "", fmt.Errorf("skip past the end")
				}
			}
		case string:
			out = append(out, utf16.Encode([]rune(op))...)
		default:
			return "", fmt.Errorf("op %v of type %T", op, op)
		}
	}
	out = append(out, base[pos:]...)
	return string(utf16.Decode(out)), nil
}

// testFrame is a frame of chart id: categories × series of values.
func testFrame(id string, seq int, time string, cats []string, vals func(c, s int) string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"frame","chart":%s,"seq":%d,"time":%q,"categories":[`, quote(id), seq, time)
	for i, c := range cats {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(c))
	}
	b.WriteString(`],"series":[`)
	for s := range 5 {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"%c","data":[`, 'a'+s)
		for c := range cats {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteString(vals(c, s))
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func quote(s string) string { return `"` + string(appendEscaped(nil, s)) + `"` }

func cats(n int) []string {
	c := make([]string, n)
	for i := range c {
		c[i] = fmt.Sprintf("c%03d", i)
	}
	return c
}

// deltaCases are pairs of consecutive frames, the shapes a chart goes
// through; testdata/delta-vectors.json holds them for the JavaScript
// decoder's tests too.
func deltaCases() []struct{ name, prev, next string } {
	ints := func(seq int) func(c, s int) string {
		return func(c, s int) string { return fmt.Sprint((seq*31 + (s*10+c)*7) % 1000) }
	}
	few := func(seq int) func(c, s int) string {
		return func(c, s int) string {
			if c == 3 && s == 1 {
				return fmt.Sprint(seq * 3)
			}
			return fmt.Sprint(c*5 + s)
		}
	}
	t1, t2 := "2026-12-03T13:43:39.123456789Z", "2026-12-03T13:43:39.223456789Z"
	return []struct{ name, prev, next string }{
		{"every value changes", string(testFrame("cpu", 7, t1, cats(10), ints(7))), string(testFrame("cpu", 8, t2, cats(10), ints(8)))},
		{"one value changes", string(testFrame("cpu", 7, t1, cats(10), few(7))), string(testFrame("cpu", 8, t2, cats(10), few(8)))},
		{"a category comes", string(testFrame("cpu", 7, t1, cats(10), few(7))), string(testFrame("cpu", 8, t2, cats(11), few(8)))},
		{"a category goes", string(testFrame("cpu", 7, t1, cats(10), few(7))), string(testFrame("cpu", 8, t2, cats(9), few(8)))},
		{"nulls", string(testFrame("cpu", 7, t1, cats(4), func(c, s int) string { return "null" })), string(testFrame("cpu", 8, t2, cats(4), func(c, s int) string {
			if c == 2 {
				return "1.5e-7"
			}
			return "null"
		}))},
		{"non-ASCII names", string(testFrame("zürich", 1, t1, []string{"é", "日本", "😀x", "a\u2028b"}, few(1))), string(testFrame("zürich", 2, t2, []string{"é", "日本", "😀y", "a\u2028b"}, few(2)))},
		{"escapes", string(testFrame(`q"<&>\`, 1, t1, []string{"a\"b", "tab\there", `back\slash`}, few(1))), string(testFrame(`q"<&>\`, 2, t2, []string{"a\"c", "tab\there", `back\slash\`}, few(2)))},
		{"astral change", string(testFrame("e", 1, t1, []string{"😀"}, few(1))), string(testFrame("e", 2, t1, []string{"😁"}, few(1)))},
	}
}

func TestDeltaRebuildsFrames(t *testing.T) {
	t.Parallel()
	for _, c := range deltaCases() {
		var chart struct{ Chart string }
		_ = json.Unmarshal([]byte(c.next), &chart)
		d := makeDelta(chart.Chart, []byte(c.prev), []byte(c.next))
		if d == nil {
			t.Errorf("%s: no delta", c.name)
			continue
		}
		got, err := applyDelta(c.prev, d)
		if err != nil || got != c.next {
			t.Errorf("%s: %v\ndelta %s\ngot  %s\nwant %s", c.name, err, d, got, c.next)
		}
		t.Logf("%s: frame %d bytes, delta %d: %s", c.name, len(c.next), len(d), d)
	}
}

// No delta where it cannot apply or would not save.
func TestDeltaRefused(t *testing.T) {
	t.Parallel()
	f := func(id string, seq int) []byte {
		return fmt.Appendf(nil, `{"type":"frame","chart":%q,"seq":%d}`, id, seq)
	}
	tests := map[string]struct {
		topic      string
		prev, next []byte
	}{
		"no previous":         {"a", nil, f("a", 1)},
		"another chart":       {"a", f("a", 1), f("b", 2)},
		"not a frame":         {"d", []byte(`{"type":"dashboard","id":"d","version":1}`), []byte(`{"type":"dashboard","id":"d","version":2}`)},
		"keys in other order": {"a", []byte(`{"chart":"a","type":"frame","seq":1,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`), []byte(`{"chart":"a","type":"frame","seq":2,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)},
		"invalid UTF-8":       {"a", append(f("a", 1), 0xff), append(f("a", 2), 0xff)},
		"not shorter":         {"a", f("a", 1), f("a", 2)},
	}
	for name, tt := range tests {
		if d := makeDelta(tt.topic, tt.prev, tt.next); d != nil {
			t.Errorf("%s: delta %s", name, d)
		}
	}
}

// Any two texts of one chart: a delta, where made, is JSON and rebuilds
// the exact next text from the previous one.
func FuzzDelta(f *testing.F) {
	head := `{"type":"frame","chart":"c"`
	for _, c := range deltaCases() {
		_, p, _ := strings.Cut(c.prev, `"seq"`)
		_, n, _ := strings.Cut(c.next, `"seq"`)
		f.Add(p, n)
	}
	f.Add(`,"x":"a\"b\\"}`, `,"x":"a\"c\\\\"}`)
	f.Add(`,"x":12,"y":[1]}`, `,"x":123,"y":[2]}`) // a token that is a prefix of the next (narrow went past its end)
	f.Add(`,"x":"unterminated`, `,"x":"unterminated but longer and longer"}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		prev, next := []byte(head+a), []byte(head+b)
		d := makeDelta("c", prev, next)
		if d == nil {
			return
		}
		if len(d) >= len(next) {
			t.Fatalf("delta of %d bytes for a frame of %d", len(d), len(next))
		}
		got, err := applyDelta(string(prev), d)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(next) {
			t.Fatalf("rebuilt %q\nwant    %q\ndelta %s", got, next, d)
		}
	})
}

var updateVectors = flag.Bool("update", false, "rewrite testdata/delta-vectors.json")

// deltaVector is one case of testdata/delta-vectors.json, which the
// JavaScript decoder's tests (web/build/delta.test.js) read too.
type deltaVector struct {
	Name  string `json:"name"`
	Prev  string `json:"prev"`
	Next  string `json:"next"`
	Delta string `json:"delta"`
}

// The vectors are what makeDelta makes today, and each rebuilds its
// frame. Run with -update after changing the cases or the encoder.
func TestDeltaVectors(t *testing.T) {
	t.Parallel()
	var vs []deltaVector
	for _, c := range deltaCases() {
		var chart struct{ Chart string }
		_ = json.Unmarshal([]byte(c.next), &chart)
		d := makeDelta(chart.Chart, []byte(c.prev), []byte(c.next))
		if d == nil {
			t.Fatalf("%s: no delta", c.name)
		}
		vs = append(vs, deltaVector{c.name, c.prev, c.next, string(d)})
	}
	want, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	const path = "testdata/delta-vectors.json"
	if *updateVectors {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./stream -run TestDeltaVectors -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what makeDelta makes today: go test ./stream -run TestDeltaVectors -update", path)
	}
}
