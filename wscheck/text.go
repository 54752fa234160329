package wscheck

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// printable returns s with everything that is not printable text escaped
// visibly, so that bytes a server chose (its status line, headers, body,
// close reason, first frame, certificate names, the errors quoting them)
// cannot drive the operator's terminal, nor hide or reorder what it shows:
// CR and LF as \r and \n, the other C0 controls and DEL as \xNN (ESC is
// \x1b), a byte that is not UTF-8 as \xNN, and C1 controls, bidi
// overrides (U+202E), zero-width and other format characters, line and
// paragraph separators as \uNNNN. Printable Unicode (unicode.IsPrint:
// letters, marks, numbers, punctuation, symbols, the ASCII space) and
// the tab are kept. A backslash is kept as it is.
//
// The line breaks of check-ws's own output are added after this: a server
// cannot start a line that looks like one of ours.
func printable(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return !keep(r) })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case keep(r) || r == utf8.RuneError: // a U+FFFD that was sent is printable
			b.WriteString(s[:size])
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		s = s[size:]
	}
	return b.String()
}

// keep reports whether r may be shown as itself. It says no to U+FFFD,
// which is also what a byte that is not UTF-8 decodes to: printable tells
// the two apart.
func keep(r rune) bool {
	return r == '\t' || (r != utf8.RuneError && strconv.IsPrint(r))
}
