package wscheck

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The escaping rules, one by one; TestCheckEscapesWhatTheServerSends shows
// them applied to every place check-ws prints a server's bytes.
func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ in, want string }{
		"plain":                 {`{"type":"frame","seq":7}`, `{"type":"frame","seq":7}`},
		"tab kept":              {"a\tb", "a\tb"},
		"unicode text kept":     {"Größe → 5 € ✓ 日本 😀", "Größe → 5 € ✓ 日本 😀"},
		"backslash kept":        {`C:\dir \x1b`, `C:\dir \x1b`},
		"U+FFFD that was sent":  {"a\uFFFDb", "a\uFFFDb"},
		"ESC":                   {"\x1b[31mred", `\x1b[31mred`},
		"CR and LF":             {"a\rb\nc", `a\rb\nc`},
		"BEL, NUL, DEL":         {"\a\x00\x7f", `\x07\x00\x7f`},
		"C1 as UTF-8":           {"\u0085\u009b", `\u0085\u009b`},
		"bytes not UTF-8":       {"\x9b\xff\xc3", `\x9b\xff\xc3`},
		"bidi":                  {"\u202a\u202e\u2066\u2069\u200e\u200f\u061c", `\u202a\u202e\u2066\u2069\u200e\u200f\u061c`},
		"zero width and BOM":    {"\u200b\u200d\ufeff", `\u200b\u200d\ufeff`},
		"line separators":       {"\u2028\u2029", `\u2028\u2029`},
		"non-BMP format":        {"\U000E0001", `\U000e0001`},
		"no-break space":        {"a\u00a0b", `a\u00a0b`},
		"cut inside a rune":     {"é"[:1], `\xc3`},
		"escape then printable": {"\x1bé", `\x1bé`},
	}
	for name, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("%s: printable(%q) = %s, want %s", name, tt.in, got, tt.want)
		}
	}
}

// Whatever a server sends, printable's output is UTF-8 with no control
// or format character but the tab.
func FuzzPrintable(f *testing.F) {
	f.Add("A\x1b[2J\x1b]0;pwned\x07B\rC\x7fD\x9bE\u009bF\u202eG\u200bH\u2028I\xffJ")
	f.Add("Größe → 5 € ✓ 日本 😀\t\uFFFD")
	f.Fuzz(func(t *testing.T, s string) {
		out := printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("printable(%q) = %q is not UTF-8", s, out)
		}
		for _, r := range out {
			if r != '\t' && r != utf8.RuneError && !unicode.IsPrint(r) {
				t.Fatalf("printable(%q) = %q has %U", s, out, r)
			}
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && !unicode.IsPrint(r) }) && out != s {
			t.Fatalf("printable changed printable text %q to %q", s, out)
		}
	})
}
