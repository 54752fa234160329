package ingest_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func opts() ingest.DecodeOptions { return ingest.DecodeOptions{Now: now} }

func tags(kv ...string) []ingest.Tag {
	var ts []ingest.Tag
	for i := 0; i < len(kv); i += 2 {
		ts = append(ts, ingest.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return ts
}

// checkInvariants asserts the Sample contract on every decoder's output.
// checkDecoded checks the decoder's invariants on got, then that it is
// want (times compared as instants, not by location).
func checkDecoded(t *testing.T, got, want []ingest.Sample) {
	t.Helper()
	checkInvariants(t, got)
	if len(got) != len(want) {
		t.Fatalf("got %d samples %+v\nwant %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		if !got[i].Time.Equal(want[i].Time) {
			t.Fatalf("sample %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func checkInvariants(t testing.TB, samples []ingest.Sample) {
	t.Helper()
	for i, s := range samples {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			t.Fatalf("sample %d: value %v not finite", i, s.Value)
		}
		if !validName(s.Metric, true) || !validName(s.Field, true) {
			t.Fatalf("sample %d: invalid metric %q or field %q", i, s.Metric, s.Field)
		}
		if s.Time.IsZero() {
			t.Fatalf("sample %d: zero time", i)
		}
		for j, tg := range s.Tags {
			if !validName(tg.Key, false) {
				t.Fatalf("sample %d: invalid tag key %q", i, tg.Key)
			}
			if j > 0 && s.Tags[j-1].Key >= tg.Key {
				t.Fatalf("sample %d: tags not sorted and unique: %v", i, s.Tags)
			}
		}
	}
}

func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' && colon ||
			i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// wantProblem asserts err is a *DecodeError whose first problem matches.
func wantProblem(t *testing.T, err error, line, col int, msg string) {
	t.Helper()
	var de *ingest.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	p := de.Problems[0]
	if (line >= 0 && p.Line != line) || (col >= 0 && p.Column != col) || !strings.Contains(p.Message, msg) {
		t.Fatalf("first problem = %+v; want line %d col %d containing %q (all: %v)", p, line, col, msg, de.Problems)
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := map[string]struct {
		body string
		want []ingest.Sample
	}{
		"envelope": {
			body: `{"samples":[{"metric":"http_requests","tags":{"status":"200","route":"/a"},"value":1}]}`,
			want: []ingest.Sample{{Metric: "http_requests", Field: "value", Tags: tags("route", "/a", "status", "200"), Value: 1, Time: now}},
		},
		"bare array with field and time in seconds": {
			body: `[{"metric":"cpu","value":-2.5e1,"field":"idle","time":1772366400}]`,
			want: []ingest.Sample{{Metric: "cpu", Field: "idle", Value: -25, Time: time.Unix(1772366400, 0)}},
		},
		"ndjson with ms, µs, ns and RFC 3339 times": {
			body: "{\"metric\":\"a\",\"value\":1,\"time\":1772366400123}\n" +
				"{\"metric\":\"a\",\"value\":2,\"time\":1772366400123456}\n" +
				"{\"metric\":\"a\",\"value\":3,\"time\":1772366400123456789}\n" +
				"{\"metric\":\"a\",\"value\":4,\"time\":\"2026-03-01T11:59:00.5+01:00\"}\n" +
				"{\"metric\":\"a\",\"value\":5,\"time\":1772366400.25}\n",
			want: []ingest.Sample{
				{Metric: "a", Field: "value", Value: 1, Time: time.UnixMilli(1772366400123)},
				{Metric: "a", Field: "value", Value: 2, Time: time.UnixMicro(1772366400123456)},
				{Metric: "a", Field: "value", Value: 3, Time: time.Unix(0, 1772366400123456789)},
				{Metric: "a", Field: "value", Value: 4, Time: time.Date(2026, 3, 1, 10, 59, 0, 5e8, time.UTC)},
				{Metric: "a", Field: "value", Value: 5, Time: time.Unix(1772366400, 25e7)},
			},
		},
		"escapes in strings": {
			body: `[{"metric":"m","tags":{"path":"\/a\"b\u00e9\ud83d\ude00"},"value":0}]`,
			want: []ingest.Sample{{Metric: "m", Field: "value", Tags: tags("path", "/a\"bé😀"), Value: 0, Time: now}},
		},
		"empty envelope": {body: `{"samples":[]}`, want: []ingest.Sample{}},
		"null tags":      {body: `[{"metric":"m","tags":null,"value":1}]`, want: []ingest.Sample{{Metric: "m", Field: "value", Value: 1, Time: now}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ingest.DecodeJSON([]byte(tc.body), opts())
			if err != nil {
				t.Fatal(err)
			}
			checkDecoded(t, got, tc.want)
		})
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	tests := map[string]struct {
		body      string
		line, col int
		msg       string
	}{
		"empty":             {"  ", 1, 3, "body is empty"},
		"value is string":   {`{"samples":[{"metric":"a","value":1},{"metric":"a","value":1},{"metric":"a","value":1},{"metric":"a","value":"1"}]}`, 1, 110, `samples[3].value: expected a number, got string`},
		"missing value":     {`[{"metric":"a"}]`, 1, 2, "samples[0].value: missing"},
		"missing metric":    {`[{"value":1}]`, 1, 2, "samples[0].metric: missing"},
		"unknown key":       {`[{"metric":"a","value":1,"vaule":2}]`, 1, 26, `samples[0]: unknown key "vaule"`},
		"bad metric name":   {`[{"metric":"1a","value":1}]`, 1, 12, `samples[0].metric: metric name "1a": character '1'`},
		"bad field name":    {`[{"metric":"a","field":"x y","value":1}]`, 1, 24, `samples[0].field: field name "x y"`},
		"bad tag key":       {`[{"metric":"a","tags":{"a b":"1"},"value":1}]`, 1, 23, `tag key "a b"`},
		"tag not string":    {`[{"metric":"a","tags":{"k":1},"value":1}]`, 1, 28, `samples[0].tags.k: expected a string, got number`},
		"duplicate tag":     {`[{"metric":"a","tags":{"k":"1","k":"2"},"value":1}]`, 1, 23, `tag "k" is given twice`},
		"long tag value":    {`[{"metric":"a","tags":{"k":"` + strings.Repeat("x", 257) + `"},"value":1}]`, 1, 23, "257 bytes long, more than the limit of 256"},
		"too many tags":     {`[{"metric":"a","tags":{` + manyTags(33) + `},"value":1}]`, 1, 23 + len(manyTags(32)) + 2, "samples[0].tags: more than 32 tags, the limit"},
		"leading zero":      {`[{"metric":"a","value":01}]`, 1, 24, "samples[0].value: malformed number: leading zero"},
		"negative zero one": {`[{"metric":"a","value":1,"time":-01}]`, 1, 34, "samples[0].time: malformed number: leading zero"},
		"nul is not null":   {`[{"metric":"a","tags":nul,"value":1}]`, 1, 23, `samples[0].tags: expected a value, got invalid literal "nul"`},
		"value nul":         {`[{"metric":"a","value":nul}]`, 1, 24, `samples[0].value: expected a number, got invalid literal "nul"`},
		"truth":             {`[{"metric":"a","value":1,"time":truth}]`, 1, 33, `samples[0].time: expected a value, got invalid literal "truth"`},
		"overflow value":    {`[{"metric":"a","value":1e999}]`, 1, 24, "out of range"},
		"future time":       {`[{"metric":"a","value":1,"time":"2026-03-01T12:06:00Z"}]`, 1, 33, "more than 5m0s in the future"},
		"old time":          {`[{"metric":"a","value":1,"time":1000}]`, 1, 33, "older than the maximum age of 24h0m0s"},
		"bad time string":   {`[{"metric":"a","value":1,"time":"yesterday"}]`, 1, 33, "not an RFC 3339 time"},
		"time is bool":      {`[{"metric":"a","value":1,"time":true}]`, 1, 33, "got boolean"},
		"syntax on line 2":  {"{\"metric\":\"a\",\"value\":1}\n{\"metric\":\"a\",\"value\":1,}", 2, 25, "samples[1]: expected a quoted key"},
		"trailing data":     {`[]x`, 1, 3, "unexpected data after the end"},
		"not json":          {`metric value=1`, 1, 1, "got invalid character 'm'"},
		"unterminated":      {`[{"metric":"a`, 1, 14, "unterminated string"},
		"envelope extra":    {`{"samples":[],"x":1}`, 1, 14, `unexpected key after "samples"`},
		"value twice":       {`[{"metric":"a","value":1,"value":2}]`, 1, 26, "samples[0].value: given twice"},
		"bad number":        {`[{"metric":"a","value":-}]`, 1, 25, "malformed number"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ingest.DecodeJSON([]byte(tc.body), opts())
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			wantProblem(t, err, tc.line, tc.col, tc.msg)
		})
	}
}

func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
	}
	return b.String()
}

func TestDecodeJSONCollectsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 30 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"metric":"a","value":"x"}`)
	}
	b.WriteString("]")
	_, err := ingest.DecodeJSON([]byte(b.String()), opts())
	var de *ingest.DecodeError
	if !errors.As(err, &de) || len(de.Problems) != 20 || !de.Truncated || de.Problems[19].Index != 19 {
		t.Fatalf("err = %#v", err)
	}
}

func TestDecodeJSONMaxSamples(t *testing.T) {
	_, err := ingest.DecodeJSON([]byte(`[{"metric":"a","value":1},{"metric":"a","value":1},{"metric":"a","value":1}]`),
		ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxSamples: 2}})
	var de *ingest.DecodeError
	if !errors.As(err, &de) || !de.TooLarge {
		t.Fatalf("err = %v", err)
	}
}
