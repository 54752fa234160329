package ingest_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// BenchmarkDecodeShapes decodes, for each format, a realistic batch and the
// shapes an attacker would send (many labels in one series, long names and
// values, deep nesting and long arrays, many fields, many series) at 1 KB,
// 100 KB, 1 MB and 10 MB, with the default limits. Refusing a body is a
// result like any other: its time is measured too. What matters is that
// ns/B stays flat (or falls) from 1 KB to 10 MB: every decoder is linear in
// its input whatever its shape. B/op divided by the size is the memory per
// input byte.
//
//	go test -run '^$' -bench '^BenchmarkDecodeShapes$' -benchtime 200ms ./ingest/
func BenchmarkDecodeShapes(b *testing.B) {
	sizes := []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"100KB", 100 << 10}, {"1MB", 1 << 20}, {"10MB", 10 << 20}}
	formats := []struct {
		name   string
		decode func([]byte, ingest.DecodeOptions) error
		shapes []benchShape
	}{
		{"json", func(p []byte, opt ingest.DecodeOptions) error { _, err := ingest.DecodeJSON(p, opt); return err }, jsonShapes},
		{"lp", func(p []byte, opt ingest.DecodeOptions) error {
			_, err := ingest.DecodeLineProtocol(p, time.Nanosecond, opt)
			return err
		}, lpShapes},
		{"prom", func(p []byte, opt ingest.DecodeOptions) error {
			_, _, err := ingest.DecodePrometheus(p, opt)
			return err
		}, promShapes},
	}
	for _, f := range formats {
		for _, sh := range f.shapes {
			opt := ingest.DecodeOptions{Now: now}
			if sh.refused == nil {
				// A batch is decoded whole at every size: the worst case.
				opt.Limits.MaxSamples = 1 << 20
			}
			for _, sz := range sizes {
				body := sh.make(sz.n)
				b.Run(f.name+"/"+sh.name+"/"+sz.name, func(b *testing.B) {
					err := f.decode(body, opt)
					if want := sh.refused != nil && sh.refused(sz.n); want != (err != nil) {
						b.Fatalf("%s of %d bytes: error %v; want refused %v", sh.name, len(body), err, want)
					}
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					for b.Loop() {
						f.decode(body, opt)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(body)), "ns/B")
				})
			}
		}
	}
}

// benchShape makes a body of about n bytes; refused says whether the
// default limits refuse it at that size (nil: never, and a batch is
// decoded with room for all its samples).
type benchShape struct {
	name    string
	refused func(n int) bool
	make    func(n int) []byte
}

func always(int) bool { return true }

// from says refused at n bytes and more.
func from(size int) func(int) bool { return func(n int) bool { return n >= size } }

// repeatTo writes head, then item(i) for i = 0, 1, … while the body is
// shorter than n, separated by sep, then tail.
func repeatTo(n int, head, sep, tail string, item func(i int) string) []byte {
	var b bytes.Buffer
	b.Grow(n + 256)
	b.WriteString(head)
	for i := 0; b.Len()+len(tail) < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(item(i))
	}
	b.WriteString(tail)
	return b.Bytes()
}

var benchTime = strconv.FormatInt(now.Add(-time.Minute).UnixMilli(), 10)

var jsonShapes = []benchShape{
	{"batch", nil, func(n int) []byte {
		return repeatTo(n, `{"samples":[`, ",", `]}`, func(i int) string {
			return fmt.Sprintf(`{"metric":"http_requests","tags":{"route":"/api/v%d","status":"%d","host":"web-%02d"},"value":%d.5,"time":%s}`, i%7, 200+i%5, i%12, i%100, benchTime)
		})
	}},
	{"many-tags", always, func(n int) []byte {
		return repeatTo(n, `[{"metric":"a","value":1,"tags":{`, ",", `}}]`, func(i int) string { return `"k` + strconv.Itoa(i) + `":"v"` })
	}},
	{"long-name", always, func(n int) []byte {
		return []byte(`[{"metric":"` + strings.Repeat("a", n-24) + `","value":1}]`)
	}},
	{"long-tag-value", always, func(n int) []byte {
		return []byte(`[{"metric":"a","value":1,"tags":{"k":"` + strings.Repeat("v", n-40) + `"}}]`)
	}},
	{"deep-nesting", always, func(n int) []byte {
		return []byte(`[{"metric":"a","value":1,"x":` + strings.Repeat("[", (n-40)/2) + strings.Repeat("]", (n-40)/2) + `}]`)
	}},
	{"long-array", always, func(n int) []byte {
		return repeatTo(n, `[{"metric":"a","value":1,"x":[`, ",", `]}]`, func(i int) string { return `{"y":[1.5,"s",null]}` })
	}},
}

var lpShapes = []benchShape{
	{"batch", nil, func(n int) []byte {
		return repeatTo(n, "", "\n", "\n", func(i int) string {
			return fmt.Sprintf("http_requests,host=web-%02d,route=/api/v%d,status=%d value=%d.5 %s000000", i%12, i%7, 200+i%5, i%100, benchTime)
		})
	}},
	{"many-fields", from(1 << 20), func(n int) []byte { // past MaxSamples from 1 MB on
		return repeatTo(n, "m,host=a ", ",", "\n", func(i int) string { return "f" + strconv.Itoa(i%5000) + "=1" })
	}},
	{"many-tags", always, func(n int) []byte {
		return repeatTo(n, "m", "", " v=1\n", func(i int) string { return ",t" + strconv.Itoa(i) + "=v" })
	}},
	{"long-name", always, func(n int) []byte { return []byte(strings.Repeat("m", n-5) + " v=1\n") }},
	{"long-tag-value", always, func(n int) []byte { return []byte("m,t=" + strings.Repeat("v", n-10) + " v=1\n") }},
}

var promShapes = []benchShape{
	{"batch", nil, func(n int) []byte {
		return repeatTo(n, "# TYPE http_requests_total counter\n", "", "", func(i int) string {
			return fmt.Sprintf("http_requests_total{route=\"/api/v%d\",status=\"%d\",host=\"web-%02d\",i=\"%d\"} %d\n", i%7, 200+i%5, i%12, i, i)
		})
	}},
	{"many-labels", always, func(n int) []byte {
		return repeatTo(n, "m{", ",", "} 1\n", func(i int) string { return "l" + strconv.Itoa(i) + `="v"` })
	}},
	{"long-name", always, func(n int) []byte { return []byte(strings.Repeat("m", n-3) + " 1\n") }},
	{"long-label-value", always, func(n int) []byte { return []byte(`m{l="` + strings.Repeat("v", n-12) + "\"} 1\n") }},
	{"many-series", from(10 << 20), func(n int) []byte { // past MaxSamples from 10 MB on
		return repeatTo(n, "", "", "", func(i int) string { return "m{i=\"" + strconv.Itoa(i) + "\"} 1\n" })
	}},
}
