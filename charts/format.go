package charts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// How a chart writes its numbers. The rules live twice, here (for the text
// Go draws: threshold labels in the option) and in web/static/dashd-format.js
// (axes, tooltips, the data table, the PNG), and one table of test vectors,
// charts/testdata/format.json, holds both to the same answers. Every step
// is one the two languages compute alike: powers of ten are parsed from
// literals ("1e-4"), never computed with log10 or pow, and decimals are
// rounded as JavaScript's toFixed rounds them (a tie goes up).

// Format is the number format of a chart's definition (the `format` key).
// Its zero value is the default: automatic decimals, units that scale, ","
// between thousands.
type Format struct {
	// Decimals fixes the digits after the decimal mark of values (tooltip,
	// table, threshold labels); nil means automatic: three significant
	// digits, trailing zeros dropped. Axis labels always carry as many as
	// their step needs, the same on every label of the axis.
	Decimals *int `json:"decimals,omitempty" yaml:"decimals,omitempty"`
	// Prefix goes before the number, after its sign ("$": -$1,500, -$15k).
	Prefix string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	// Suffix goes right after the number and its scale letter, with no
	// space (" €": 15k €; "x": 2.5x).
	Suffix string `json:"suffix,omitempty" yaml:"suffix,omitempty"`
	// Thousands is put between groups of three digits of a number of 1,000
	// or more: one of , . ' _ space, no-break space, narrow no-break space,
	// or "" for none; nil means ",". With "." the decimal mark is ",".
	Thousands *string `json:"thousands,omitempty" yaml:"thousands,omitempty"`
	// Scale is ScaleAuto (the default, also ""): a time unit steps
	// ns → µs → ms → s → min → h, a byte unit B → KiB → MiB → GiB → TiB →
	// PiB, any other number (no unit, a unit dashd does not know, a
	// currency) upwards from 10,000 to k, then M, G, T, P (12.3k, 1.5M);
	// "%" never scales. ScaleNone
	// writes the number in the chart's unit as it is.
	Scale string `json:"scale,omitempty" yaml:"scale,omitempty"`
}

// The values of Format.Scale.
const (
	ScaleAuto = "auto"
	ScaleNone = "none"
)

// NumberFormat is everything that decides how one chart's numbers read:
// its unit ("%" for a percent chart) and its Format. The ECharts option
// carries it as dashd.format for the client (see Option).
type NumberFormat struct {
	Unit string `json:"unit,omitempty"`
	Format
}

// NumberFormat returns how c's numbers are written.
func (c Chart) NumberFormat() NumberFormat {
	unit := c.Unit
	if c.Type == Percent {
		unit = "%"
	}
	return NumberFormat{Unit: unit, Format: c.Format}
}

// Limits on the texts of a format; they are drawn on a small chart.
const (
	maxUnitRunes  = 32
	maxAffixRunes = 8
	maxLabelRunes = 100
)

// thousandsSeparators are the separators Format.Thousands may name.
func thousandsSeparator(s string) bool {
	switch s {
	case "", ",", ".", "'", "_", " ", "\u00a0", "\u202f":
		return true
	}
	return false
}

// validateFormat adds to bad the problems of c's unit, format and
// threshold labels.
func (c *Chart) validateFormat(bad func(field, format string, args ...any)) {
	if why := drawnText(c.Unit, maxUnitRunes); why != "" {
		bad("unit", "%q %s", c.Unit, why)
	}
	f := c.Format
	if f.Decimals != nil && (*f.Decimals < 0 || *f.Decimals > 9) {
		bad("format.decimals", "%d is out of range (expected 0 to 9; leave it out for automatic decimals)", *f.Decimals)
	}
	if why := drawnText(f.Prefix, maxAffixRunes); why != "" {
		bad("format.prefix", "%q %s", f.Prefix, why)
	}
	if why := drawnText(f.Suffix, maxAffixRunes); why != "" {
		bad("format.suffix", "%q %s", f.Suffix, why)
	}
	if f.Thousands != nil && !thousandsSeparator(*f.Thousands) {
		bad("format.thousands", "%q is not a thousands separator (expected one of \",\", \".\", \"'\", \"_\", \" \", a no-break space, or \"\" for none)", *f.Thousands)
	}
	switch f.Scale {
	case "", ScaleAuto, ScaleNone:
	default:
		bad("format.scale", "%q is not a scale (expected %s or %s)", f.Scale, ScaleAuto, ScaleNone)
	}
	for i, t := range c.Thresholds {
		if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
			bad(fmt.Sprintf("thresholds[%d].value", i), "is not a finite number")
		}
		if why := drawnText(t.Label, maxLabelRunes); why != "" {
			bad(fmt.Sprintf("thresholds[%d].label", i), "%q %s", t.Label, why)
		}
	}
}

// drawnText says what is wrong with s as a text drawn on a chart, or "".
// Braces are refused: ECharts reads "{name|text}" as rich-text markup and
// "{b}" as a template, in labels and formatters alike.
func drawnText(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("is %d characters long (at most %d)", n, max)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '{' || r == '}':
			return "has a brace (ECharts would read it as markup)"
		case unicode.IsControl(r):
			return "has a control character"
		}
	}
	return ""
}

// ladder is a family of units a number can step through: names[i+1] is
// steps[i] names[i]. down says whether values below 1 step down (time and
// bytes do; plain numbers only ever step up, to k, M, …).
type ladder struct {
	names []string
	steps []float64
	down  bool
	unit  bool // the names replace the unit; else they are letters after the number
	// first, if not 0, is where the first step up is taken instead of
	// steps[0]: a count steps to k from 10,000, so 1,500 stays 1,500 (in a
	// tooltip, exact; on an axis of 0–1,000, 200, 400, …, not 0.2k, 0.4k).
	first float64
}

// upAt is the value (in names[at]) from which a steps up to names[at+1].
func (l ladder) upAt(at int) float64 {
	if at == 0 && l.first != 0 {
		return l.first
	}
	return l.steps[at]
}

// ladderOf returns the ladder of unit and where unit sits on it, or ok
// false for a unit that does not scale ("%").
func ladderOf(unit string) (l ladder, at int, ok bool) {
	switch unit {
	case "%":
		return ladder{}, 0, false
	case "ns", "us", "µs", "μs", "ms", "s", "min", "h":
		l = ladder{names: []string{"ns", "µs", "ms", "s", "min", "h"}, steps: []float64{1000, 1000, 1000, 60, 60}, down: true, unit: true}
		at = map[string]int{"ns": 0, "us": 1, "µs": 1, "μs": 1, "ms": 2, "s": 3, "min": 4, "h": 5}[unit]
		return l, at, true
	case "B", "KiB", "MiB", "GiB", "TiB", "PiB":
		l = ladder{names: []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}, steps: []float64{1024, 1024, 1024, 1024, 1024}, down: true, unit: true}
		at = map[string]int{"B": 0, "KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4, "PiB": 5}[unit]
		return l, at, true
	}
	return ladder{names: []string{"", "k", "M", "G", "T", "P"}, steps: []float64{1000, 1000, 1000, 1000, 1000}, first: 10000}, 0, true
}

// fit moves a (≥ 0, in names[at]) along l to the unit it reads best in:
// down while it is below 1, up while it reaches the next step.
func (l ladder) fit(a float64, at int) (float64, int) {
	if a == 0 {
		return a, at
	}
	for l.down && a < 1 && at > 0 {
		at--
		a *= l.steps[at]
	}
	for at < len(l.steps) && a >= l.upAt(at) {
		a /= l.steps[at]
		at++
	}
	return a, at
}

// convert expresses a, in names[from], in names[to].
func (l ladder) convert(a float64, from, to int) float64 {
	for ; from < to; from++ {
		a /= l.steps[from]
	}
	for ; from > to; from-- {
		a *= l.steps[from-1]
	}
	return a
}

// pow10 is 10^k, parsed from its literal so that JavaScript gets the same
// float64.
func pow10(k int) float64 {
	v, _ := strconv.ParseFloat("1e"+strconv.Itoa(k), 64)
	return v
}

// exponent is e with 10^e ≤ a < 10^(e+1), for a > 0.
func exponent(a float64) int {
	e := 0
	if a >= 1 {
		for e < 308 && a >= pow10(e+1) {
			e++
		}
		return e
	}
	for e > -324 && a < pow10(e) {
		e--
	}
	return e
}

// autoDecimals is the decimals that give a three significant digits.
func autoDecimals(a float64) int {
	if a == 0 {
		return 0
	}
	return min(max(2-exponent(a), 0), 20)
}

// toFixed writes a (≥ 0) with d decimals, as JavaScript's toFixed does: a
// tie goes up (strconv rounds it to even).
func toFixed(a float64, d int) string {
	if a >= 1e21 {
		return strconv.FormatFloat(a, 'g', -1, 64)
	}
	const extra = 30
	long := strconv.FormatFloat(a, 'f', d+extra, 64)
	if strings.HasSuffix(long, "5"+strings.Repeat("0", extra-1)) {
		a = math.Nextafter(a, math.Inf(1))
	}
	return strconv.FormatFloat(a, 'f', d, 64)
}

// digits writes a (≥ 0) with d decimals, trimmed of trailing zeros when
// trim is set, with the thousands separator sep (the decimal mark is ","
// when sep is ".").
func digits(a float64, d int, trim bool, sep string) string {
	if a > 0 {
		// At most 15 significant digits: a float64 holds no more, and past
		// 17 JavaScript's toFixed and strconv write different digits.
		d = max(min(d, 14-exponent(a)), 0)
	}
	s := toFixed(a, d)
	if strings.ContainsAny(s, "e") {
		return s
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if trim {
		frac = strings.TrimRight(frac, "0")
	}
	if sep != "" && len(intPart) > 3 {
		var b strings.Builder
		for i, r := range intPart {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteString(sep)
			}
			b.WriteRune(r)
		}
		intPart = b.String()
	}
	if frac == "" {
		return intPart
	}
	mark := "."
	if sep == "." {
		mark = ","
	}
	return intPart + mark + frac
}

// zero reports whether the written number s has no digit but 0.
func zero(s string) bool { return strings.Trim(s, "0.,'_ \u00a0\u202f") == "" }

func (f NumberFormat) separator() string {
	if f.Thousands == nil {
		return ","
	}
	return *f.Thousands
}

// compose puts the parts of a written number together.
func (f NumberFormat) compose(neg bool, num string, l ladder, at int, scaled bool) string {
	var b strings.Builder
	if neg && !zero(num) {
		b.WriteByte('-')
	}
	b.WriteString(f.Prefix)
	b.WriteString(num)
	unit := f.Unit
	if scaled {
		if l.unit {
			unit = l.names[at]
		} else {
			b.WriteString(l.names[at])
		}
	}
	b.WriteString(f.Suffix)
	if unit != "" {
		b.WriteByte(' ')
		b.WriteString(unit)
	}
	return b.String()
}

// Value writes v as a tooltip, the table and a threshold label show it: in
// the unit it reads best in, with the format's decimals. NaN and ±Inf are
// "".
func (f NumberFormat) Value(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	neg, a := v < 0, math.Abs(v)
	l, at, scales := ladderOf(f.Unit)
	scales = scales && f.Scale != ScaleNone
	if scales {
		a, at = l.fit(a, at)
	}
	write := func(a float64) string {
		if f.Decimals != nil {
			return digits(a, *f.Decimals, false, f.separator())
		}
		return digits(a, autoDecimals(a), true, f.separator())
	}
	num := write(a)
	if scales && at < len(l.steps) {
		// 999.97 ms rounds to 1000: that is 1 s.
		if r, err := strconv.ParseFloat(toFixed(a, decimalsOf(f, a)), 64); err == nil && r >= l.upAt(at) {
			a /= l.steps[at]
			at++
			num = write(a)
		}
	}
	return f.compose(neg, num, l, at, scales)
}

func decimalsOf(f NumberFormat, a float64) int {
	if f.Decimals != nil {
		return *f.Decimals
	}
	return autoDecimals(a)
}

// Axis is what a value axis's labels share: its extent and the step
// between its ticks, in the chart's unit.
type Axis struct {
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Interval float64 `json:"interval"`
}

// Tick writes v as a label of axis a: every label of one axis in the same
// unit (the one its largest value reads best in) and with the same
// decimals (as many as the step needs to tell neighbours apart), so
// 0.0009–0.1 reads 0.00, 0.02, …, 0.10. A time axis keeps to a unit in
// which its step is a round number (20 s, not 0.33 min). Zero is "0".
func (f NumberFormat) Tick(v float64, a Axis) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	l, at, scales := ladderOf(f.Unit)
	scales = scales && f.Scale != ScaleNone
	to := at
	iv := a.Interval
	if scales {
		m := math.Max(math.Abs(a.Min), math.Abs(a.Max))
		if math.IsNaN(m) || math.IsInf(m, 0) || m == 0 {
			m = math.Abs(v)
		}
		_, to = l.fit(m, at)
		if l.unit && l.down {
			// Down from min or h while the step is no round number there.
			for to > 0 && l.steps[to-1] != 1000 && l.steps[to-1] != 1024 && iv > 0 && !round1(l.convert(iv, at, to)) {
				to--
			}
		}
		iv = l.convert(iv, at, to)
	}
	x := v
	if scales {
		x = l.convert(v, at, to)
	}
	var num string
	switch {
	case x == 0 && scales && !l.unit:
		return f.compose(false, "0", l, to, false) // "0", not "0k"
	case x == 0:
		num = "0"
	case iv > 0 && !math.IsInf(iv, 0):
		num = digits(math.Abs(x), stepDecimals(iv), false, f.separator())
	default:
		num = digits(math.Abs(x), autoDecimals(math.Abs(x)), true, f.separator())
	}
	return f.compose(x < 0, num, l, to, scales)
}

// round1 reports whether x has at most one decimal.
func round1(x float64) bool {
	r := x * 10
	return math.Abs(r-math.Round(r)) <= 1e-9*math.Max(1, math.Abs(r))
}

// stepDecimals is the decimals a step of iv (> 0) needs: the fewest that
// write it exactly, but no more than two significant digits' worth (a step
// of 0.9765625 KiB is written 0.98).
func stepDecimals(iv float64) int {
	sig := max(1-exponent(iv), 0)
	for d := 0; d < sig; d++ {
		r := iv * pow10(d)
		if math.Abs(r-math.Round(r)) <= 1e-9*r {
			return d
		}
	}
	return sig
}
