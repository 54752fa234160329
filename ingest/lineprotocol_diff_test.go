package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DecodeLineProtocol is checked against libDecodeLineProtocol, the same
// contract built on github.com/influxdata/line-protocol/v2: both must accept
// and refuse the same bodies, return the same samples and report the same
// problems (index, message, line and column), with two documented
// exceptions, both about places only:
//
//   - The library counts the column of a syntax error on the line where a
//     point begins from the start of the point, not of the line: with
//     leading spaces, "  m v=x" is refused at 1:5 by the library and at 1:7
//     (where x is) by DecodeLineProtocol. The same holds where the library
//     starts a point in the middle of a line (after "m v=1 \rx" it reads
//     "\rx" as a point and refuses its CR at 1:1; DecodeLineProtocol says 1:7).
//   - For a token that held escapes (m\,x, a\ b=…) the library returns an
//     unescaped copy, so the old decoder could not tell where it was and gave
//     the last place it had located; DecodeLineProtocol gives the token's own.

var diffNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var diffPrecisions = []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, time.Minute, time.Hour}

// diffOptions picks the options of one comparison: the defaults, or time
// checks off (so that arbitrary timestamps give samples to compare), or
// tight limits on names, tags and samples. (FuzzLineProtocolMatchesLibrary
// reads one more bit of sel: whether to decode the body twice over.)
func diffOptions(sel uint8) DecodeOptions {
	opt := DecodeOptions{Now: diffNow}
	if sel&1 != 0 {
		opt.Limits.MaxAge, opt.Limits.MaxFuture = -1, -1
	}
	if sel&2 != 0 {
		opt.Limits.MaxTags, opt.Limits.MaxTagValueBytes, opt.Limits.MaxNameBytes = 2, 4, 5
	}
	if sel&4 != 0 {
		opt.Limits.MaxSamples = 3
	}
	return opt
}

// lpTricky are hand-picked inputs for the corners of the format.
var lpTricky = []string{
	"cpu,host=a,cpu=0 idle=1.5,n=3i,u=4u,up=true 1772366400000000000\n",
	"m,t=a\\ b v=1\n# comment\n\nm2 v=2\n",
	"m s=\"str\"\n", "m v=1 1772366400\n", "m,a=1,a=2 v=1",
	"m s=\"a\nb\",v=1\nm,t=x v=NaN\n",
	"m s=\"a\\\"b\\\\\" 1772366400000000000\nm v=1\n",
	"m s=\"unterminated\nm v=1\n",
	"m s=\"a\"x v=1\n", "m s=\"\xff\" v=1\n", "m s=\"\\\xff\"\n",
	"m v=t,w=T,x=true,y=True,z=TRUE,a=f,b=F,c=false,d=False,e=FALSE\n",
	"m v=tru\n", "m v=yes\n", "m v=-0,w=-.5,x=.5,y=1.,z=1e3,a=1E-3,b=0x1p-2\n",
	"m v=1e400\n", "m v=-inf\n", "m v=.\n", "m v=-\n", "m v=1_0\n",
	"m v=9223372036854775807i,w=-9223372036854775808i\n", "m v=9223372036854775808i\n",
	"m v=18446744073709551615u\n", "m v=18446744073709551616u\n", "m v=-1u\n", "m v=1.5i\n",
	"m v=00012i,w=0001u,x=000.5\n",
	"m v=1 -1\n", "m v=1 -\n", "m v=1 1-2\n", "m v=1 99999999999999999999\n", "m v=1 0001772366400000000000\n",
	"m v=1 12x\n", "m v=1 x\n", "m v=1 123 x\n", "m v=1 123  \n", "m v=1  123\n",
	"m v=1\r\nm v=2\r\n", "m v=1\rx\n", "m v=1 \rx\n", "m v=1 1\rx\n", "m v=1\r", "\r\nm v=1\n", "\rm v=1\n",
	"  m v=1\n", "  m v=x\n", "\tm v=1\n", "   \n  # c\n m v=1\n", "  #c\x01\nm v=1\n", "#c\x01\n", "#\xff\x01\n", "#ok \xff\n",
	"m\n", "m", "m ", "m  ", "m,", "m, v=1", "m,\nv=1", "m,t", "m,t\n", "m,t=", "m,t= v=1", "m,t=1", "m,t=1,", "m,t=1, v=1",
	"m,t=1=2 v=1", "m,=1 v=1", "m v", "m v=", "m v=\n", "m v=1,", "m v=1, ", "m v=1,w", "m v=1,=2",
	"m,t=1\tv=1\n", "m\tv=1\n", ",m v=1\n", " ,m v=1\n", "=m v=1\n", "m=1 v=1\n",
	"m\\,x v=1\n", "m\\ x v=1\n", "m\\=x v=1\n", "m\\", "m\\\\ v=1\n", "m,t\\ k=v\\,w x\\=y=1\n", "m,t=\\ v=1", "m,t=a\\", "m v\\=1=1\n",
	"m,b=2,a=1,c=3 v=1\n", "m,t=1 v=1,v=2\n", "m,\xff=1 v=1\n", "m,t=\xff v=1\n", "\xff v=1\n", "m \xff=1\n",
	"m,t=é v=1\n", "m,a.b-c_d=1 a:b.c-d_e=1\n", "_m:x,_t=1 _f=1\n", "1m v=1\n", ":m,:t=1 v=1\n",
	"m,t=1 a=1,b=\"s\",c=x,d=2\n", "m a=1,b=2,c=3,d=4\n", "m v=1\nm v=2\nm v=3\nm v=4\n",
	"a,t=12345 v=1\nb,abcdef=1 v=1\nabcdefg v=1\nm abcdefg=1\nm,a=1,b=2,c=3 v=1\n",
	strings.Repeat("m v=\"x\"\n", 25), strings.Repeat("m v=1\n", 4) + strings.Repeat("x v=y\n", 20) + "m v=1\n",
	"m v=1 1772366400000000000\nm v=1 1772366700000000001\nm v=1 1772280000000000000\nm v=1 1772279999999999999\n",
	"m v=1 492324\n", "m v=1 29538780\n", "m v=1 -9223372036854775808\n", "m v=1 9223372036854775807\n",
	// What the decoder remembers within a batch: series, names and tags.
	"m,a=1 v=1\nm,a=1 v=2\n", "m,a=1 v=1\nm,a=1\tv=1\n", "m,a=1 v=1\nm,a=1", "m,t=1,t=1 v=1\nm,t=1,t=1 v=1\n",
	"a,t=x v=1\nb,t=x v=1\n", "m,a\\ b=1 v=1\nm,a\\ b=1 v=1\n", "v v=1\nm,v=v v=1\n", "a=b v=1\nm,a=b v=1\n",
	"m a=1,b=2\nm b=1,a=2\n", "m a\\ b=1\nm a\\ b=1\n", "m a.b=1\nm a/b=1\nm a.b=1\n", "m,t=12345 v=1\nm,t=12345 v=1\n",
	"m,a=1,b=2,c=3 v=1\nm,a=1,b=2,c=3 v=1\nm,c=3,b=2,a=1 v=1\n", "1m v=1\n1m v=1\n", "m,1=1 v=1\nm,1=1 v=1\n",
	"m,t=é v=1\nm,t=é v=1\n", "m,t=\xff v=1\nm,t=\xff v=1\n", "m\\,x v=1\nm\\,x v=1\n", "m,a=1 s=\"x\"\nm,a=1 v=1\n",
	"abcdefg v=1\nabcdefg v=1\n", "abcdefgh v=1\nabcdefgh v=1\n", "abcdefghi v=1\n", "m,t=abc\\ d v=1\nm,t=abc\\ d v=1\n",
	"m,t=abcdefgh\x7f v=1\n", "m,t=abcdefg\tv=1\n", "m,t=abcdefghijklmn\\,x v=1\n",
	// Timestamps of every length and sign.
	"m v=1 --1\n", "m v=1 -0\n", "m v=1 0000000000000000001772366400000000000\n", "m v=1 -9223372036854775809\n",
	"m v=1 18446744073709551615\n", "m v=1 9999999999999999999\n", "m v=1 -9999999999999999999\n", "m v=1 1772366400-\n",
}

func readFuzzSeeds(t testing.TB, dir string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(line, "[]byte("); ok {
				v, err := strconv.Unquote(strings.TrimSuffix(s, ")"))
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				out = append(out, []byte(v))
			}
		}
	}
	return out
}

// readLPCorpus reads testdata/lp-corpus.txt.gz: the 6,394 distinct inputs
// of the decode corpus that github.com/influxdata/line-protocol/v2 tests
// itself with (testdata/corpus.json, MIT licence), one Go-quoted string a
// line.
func readLPCorpus(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "lp-corpus.txt.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		s, err := strconv.Unquote(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []byte(s))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzLineProtocolMatchesLibrary(f *testing.F) {
	for _, s := range lpTricky {
		for sel := range uint8(16) {
			f.Add([]byte(s), uint8(0), sel)
		}
	}
	// testdata/fuzz/FuzzLineProtocolMatchesLibrary is read by go test
	// itself; FuzzLineProtocol's corpus has other arguments.
	for _, b := range readFuzzSeeds(f, "FuzzLineProtocol") {
		f.Add(b, uint8(0), uint8(1))
	}
	for i, b := range readLPCorpus(f) {
		f.Add(b, uint8(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, body []byte, p, sel uint8) {
		if sel&8 != 0 {
			// Twice over, so that the second time meets what the decoder
			// remembers from the first.
			body = append(append(body[:len(body):len(body)], '\n'), body...)
		}
		matchLibrary(t, body, diffPrecisions[int(p)%len(diffPrecisions)], diffOptions(sel))
	})
}

// TestLineProtocolMatchesLibrary runs the hand-picked inputs and the
// library's own corpus through both decoders under every option set (the
// hand-picked ones at every precision too).
func TestLineProtocolMatchesLibrary(t *testing.T) {
	for _, s := range lpTricky {
		for _, body := range []string{s, s + "\n" + s} {
			for sel := range uint8(8) {
				for _, p := range diffPrecisions {
					if !matchLibrary(t, []byte(body), p, diffOptions(sel)) {
						return
					}
				}
			}
		}
	}
	for i, body := range readLPCorpus(t) {
		for sel := range uint8(8) {
			if !matchLibrary(t, body, diffPrecisions[i%len(diffPrecisions)], diffOptions(sel)) {
				return
			}
		}
	}
}

// matchLibrary decodes body with DecodeLineProtocol and with the library
// and reports every difference.
func matchLibrary(t *testing.T, body []byte, prec time.Duration, opt DecodeOptions) bool {
	t.Helper()
	got, gerr := DecodeLineProtocol(body, prec, opt)
	want, places, werr := libDecodeLineProtocol(body, prec, opt)
	fail := func(format string, args ...any) bool {
		t.Helper()
		t.Errorf("body %q, precision %s, limits %+v:\n"+format, append([]any{body, prec, opt.Limits}, args...)...)
		return false
	}
	if (gerr == nil) != (werr == nil) {
		return fail("got %v, %v\nlibrary %v, %v", got, gerr, want, werr)
	}
	if werr != nil {
		var g, w *DecodeError
		if !errors.As(gerr, &g) || !errors.As(werr, &w) {
			return fail("errors %T %T", gerr, werr)
		}
		if g.Format != w.Format || g.TooLarge != w.TooLarge || g.Truncated != w.Truncated || len(g.Problems) != len(w.Problems) {
			return fail("got %+v\nlibrary %+v", g, w)
		}
		for i, gp := range g.Problems {
			wp := w.Problems[i]
			if gp.Index != wp.Index || gp.Message != wp.Message {
				return fail("problem %d: got %+v\nlibrary %+v\n(all: got %v\nlibrary %v)", i, gp, wp, g.Problems, w.Problems)
			}
			place := placeExact
			if i < len(places) {
				place = places[i]
			}
			if place == placeUnknown {
				continue // the library's place is a guess; see the top of the file
			}
			if gp.Line != wp.Line || gp.Column < wp.Column || (gp.Column != wp.Column && place != placeFromPoint) {
				return fail("problem %d: got %+v\nlibrary %+v\n(all: got %v\nlibrary %v)", i, gp, wp, g.Problems, w.Problems)
			}
		}
		return true
	}
	if got == nil || len(got) != len(want) {
		return fail("got %d samples %+v\nlibrary %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Metric != w.Metric || g.Field != w.Field || math.Float64bits(g.Value) != math.Float64bits(w.Value) ||
			!g.Time.Equal(w.Time) || len(g.Tags) != len(w.Tags) || (len(g.Tags) > 0 && !reflect.DeepEqual(g.Tags, w.Tags)) {
			return fail("sample %d: got %+v\nlibrary %+v", i, g, w)
		}
	}
	return true
}

// TestLPStop8 checks the word-at-a-time test against the byte classes: a
// miss would let a series run past its end.
func TestLPStop8(t *testing.T) {
	stop := func(b []byte) bool {
		for _, c := range b {
			if lpClass[c]&lpPlain == 0 {
				return true
			}
		}
		return false
	}
	check := func(b []byte) {
		t.Helper()
		if got, want := lpStop8(binary.LittleEndian.Uint64(b)), stop(b); got != want {
			t.Fatalf("lpStop8(%q) = %v, want %v", b, got, want)
		}
	}
	for c := range 256 {
		for p := range 8 {
			for _, fill := range []byte{'a', 0x80, 0xff, '!', '[', ']', 0x7e} {
				b := bytes.Repeat([]byte{fill}, 8)
				b[p] = byte(c)
				check(b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	special := []byte{0, 0x1f, ' ', '!', '\\', 0x7f, 0x80, 0xff, '[', ']', 'a', '=', ','}
	b := make([]byte, 8)
	for range 1_000_000 {
		for i := range b {
			if rng.IntN(2) == 0 {
				b[i] = special[rng.IntN(len(special))]
			} else {
				b[i] = byte(rng.IntN(256))
			}
		}
		check(b)
	}
}
