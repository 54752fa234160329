package charts

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Frame is what one chart looks like now: the full state of its data, so the
// newest frame always wins and an older one may be skipped without harm.
// Seq rises with every frame of a chart.
type Frame struct {
	Chart      string
	Seq        uint64
	Time       time.Time
	Categories []string
	Series     []FrameSeries
	// Totals is, on a percent chart, each category's total before it was
	// normalised to 100 % (NaN where it has none): a share times its
	// total is the count behind it. Nil on other charts. Encoded as
	// "totals" only when set (clients ignore fields they do not know).
	Totals []float64
}

// FrameSeries is one series of a frame: a value per category, NaN where the
// series has none (encoded as null).
type FrameSeries struct {
	Name string
	Data []float64
}

// MarshalJSON encodes the frame as the wire format of CONTRACT.md.
func (f *Frame) MarshalJSON() ([]byte, error) { return f.AppendJSON(nil), nil }

// AppendJSON appends the frame's wire encoding to b:
//
//	{"type":"frame","chart":"ID","seq":N,"time":"RFC3339Nano",
//	 "categories":["…"],"series":[{"name":"…","data":[1.5,null]}]}
//
// and, on a percent chart, "totals":[…] after "series" (see Totals).
//
// Strings are escaped as encoding/json escapes them, '<', '>' and '&'
// included, so a frame is safe to place inside an HTML page too.
func (f *Frame) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"frame","chart":`...)
	b = appendString(b, f.Chart)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, f.Seq, 10)
	b = append(b, `,"time":"`...)
	b = f.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","categories":[`...)
	for i, c := range f.Categories {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c)
	}
	b = append(b, `],"series":[`...)
	for i := range f.Series {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, f.Series[i].Name)
		b = append(b, `,"data":[`...)
		for j, v := range f.Series[i].Data {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, v)
		}
		b = append(b, "]}"...)
	}
	b = append(b, ']')
	if f.Totals != nil {
		b = append(b, `,"totals":[`...)
		for j, v := range f.Totals {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendFloat writes v as a JSON number, or null for NaN and ±Inf (which
// JSON cannot carry).
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string with the escaping of
// encoding/json's HTMLEscape: control characters, quote, backslash, '<',
// '>', '&', U+2028 and U+2029 escaped; invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
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
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
