package wscheck_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dashd/dashd/wscheck"
)

// evil is what a hostile server puts wherever check-ws might print it:
// ESC sequences (clear screen, set the window title, colour), a carriage
// return that would overwrite the line, BEL, DEL, a C1 CSI both as a raw
// byte and as UTF-8, a right-to-left override, a zero-width space, a line
// separator and a byte that is not UTF-8.
const evil = "A\x1b[2J\x1b]0;pwned\x07B\rC\x7fD\x9bE\u009bF\u202eG\u200bH\u2028I\xffJ"

// escaped is evil as check-ws must show it.
const escaped = `A\x1b[2J\x1b]0;pwned\x07B\rC\x7fD\x9bE\u009bF\u202eG\u200bH\u2028I\xffJ`

// evilHeader is what passes Go's header parser, which refuses C0 controls
// and DEL in a header value but lets every byte from 0x80 through.
const (
	evilHeader    = "D\x9bE\u009bF\u202eG\u200bH\u2028I\xffJ"
	escapedHeader = `D\x9bE\u009bF\u202eG\u200bH\u2028I\xffJ`
)

// rawServer answers every connection with whatever write sends, on a real
// socket, after reading the request head.
func rawServer(t *testing.T, write func(w *bufio.Writer, key string)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		write(brw.Writer, r.Header.Get("Sec-WebSocket-Key"))
		brw.Flush()
		// Let the client read before the close.
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64))
	}))
	t.Cleanup(srv.Close)
	return wsURL(srv, "/api/v1/stream?charts=a")
}

// serverFrame is one unmasked frame as a server sends it.
func serverFrame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	default:
		b = append(b, 126, 0, 0)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	}
	return append(b, payload...)
}

func handshake101(w *bufio.Writer, key, extra string) {
	w.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wscheck.AcceptKey(key) + "\r\n" + extra + "\r\n")
}

// terminalSafe fails unless s is printable text in lines of check-ws's
// own: no control character but LF (and tab), no C1 control, no format
// character, every byte UTF-8, every line starting with one of its marks.
func terminalSafe(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not UTF-8: %q", what, s)
	}
	for i, r := range s {
		bad := (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			r == '\u202e' || r == '\u200b' || r == '\u2028'
		if bad {
			t.Errorf("%s has %U at byte %d (the first): %q", what, r, i, s)
			break
		}
	}
	if what != "output" {
		return
	}
	for l := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		if !strings.HasPrefix(l, "ok    ") && !strings.HasPrefix(l, "warn  ") && !strings.HasPrefix(l, "FAIL  ") && !strings.HasPrefix(l, "      ") {
			t.Errorf("a line check-ws did not start: %q", l)
		}
	}
}

// A server's bytes reach the operator's terminal escaped, wherever
// check-ws prints them: the status line, headers, the refusal's body, the
// first frame, the close reason, and the errors that quote them.
func TestCheckEscapesWhatTheServerSends(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		write   func(w *bufio.Writer, key string)
		wantErr bool
		want    []string
	}{
		"a refusal": {
			write: func(w *bufio.Writer, _ string) {
				body := "denied " + evil + "\r\nsecond line\n\x1b[1Aup\n"
				w.WriteString("HTTP/1.1 403 Forbidden " + evil + "\r\nServer: " + evilHeader + "\r\nVia: 1.1 " + evilHeader + "\r\nContent-Type: text/plain\r\nContent-Length: ")
				w.WriteString(strconv.Itoa(len(body)) + "\r\n\r\n" + body)
			},
			wantErr: true,
			want: []string{
				"      < HTTP/1.1 403 Forbidden " + escaped,
				"      < Server: " + escapedHeader,
				"      < Via: 1.1 " + escapedHeader,
				"      | denied " + escaped + "\n      | second line\n      | \\x1b[1Aup\n",
				"FAIL  status: 403 Forbidden " + escaped + ", want 101",
			},
		},
		"a redirect": {
			write: func(w *bufio.Writer, _ string) {
				w.WriteString("HTTP/1.1 302 Found\r\nLocation: https://x.example/" + evilHeader + "\r\nContent-Length: 0\r\n\r\n")
			},
			wantErr: true,
			want:    []string{"      < Location: https://x.example/" + escapedHeader, `      → redirected to "https://x.example/` + escapedHeader + `"`},
		},
		"a header the parser refuses": {
			write: func(w *bufio.Writer, _ string) {
				w.WriteString("HTTP/1.1 101 Switching Protocols\r\n" + evil + "\r\n\r\n")
			},
			wantErr: true,
			want:    []string{"FAIL  response: malformed MIME header"},
		},
		"a first text frame": {
			write: func(w *bufio.Writer, key string) {
				handshake101(w, key, "Server: "+evilHeader+"\r\n")
				w.Write(serverFrame(0x9, []byte(evil))) // a ping, skipped
				w.Write(serverFrame(0x1, []byte(`{"chart":"`+evil+`"}`+"\n")))
			},
			want: []string{"      < Server: " + escapedHeader, "ok    first frame: text", `      {"chart":"` + escaped + `"}\n` + "\n"},
		},
		"a long first frame cut inside a character": {
			write: func(w *bufio.Writer, key string) {
				handshake101(w, key, "")
				w.Write(serverFrame(0x1, []byte(strings.Repeat("x", 199)+"é\u202e")))
			},
			want: []string{"      " + strings.Repeat("x", 199) + "…\n"},
		},
		"a close reason": {
			write: func(w *bufio.Writer, key string) {
				handshake101(w, key, "")
				w.Write(serverFrame(0x8, append([]byte{0x03, 0xf0}, evil...)))
			},
			want: []string{`warn  the server closed at once: code 1008 "A\x1b[2J\x1b]0;pwned\aB\rC\x7fD\x9bE\u009bF\u202eG\u200bH\u2028I\xffJ"`},
		},
		"a bad Upgrade header": {
			write: func(w *bufio.Writer, key string) {
				w.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket" + evilHeader + "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wscheck.AcceptKey(key) + "\r\n\r\n")
			},
			wantErr: true,
			want:    []string{"      < Upgrade: websocket" + escapedHeader, `FAIL  header: Upgrade: "websocket` + escapedHeader + `", want websocket`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := check(t, rawServer(t, tc.write), wscheck.Options{FrameWait: 2e9})
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			terminalSafe(t, "output", out)
			if err != nil {
				terminalSafe(t, "the error", err.Error())
			}
			mustContain(t, out, tc.want...)
		})
	}
}
