package ingest_test

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

func TestDecodeLineProtocol(t *testing.T) {
	ts := now.Add(-time.Minute)
	tests := map[string]struct {
		body      string
		precision time.Duration
		want      []ingest.Sample
	}{
		"fields of every kind, tags sorted": {
			body: "cpu,host=b,cpu=cpu0 idle=1.5,user=2i,sys=3u,up=true,down=false " + itoa(ts.UnixNano()) + "\n",
			want: []ingest.Sample{
				{Metric: "cpu", Field: "idle", Tags: tags("cpu", "cpu0", "host", "b"), Value: 1.5, Time: ts},
				{Metric: "cpu", Field: "user", Tags: tags("cpu", "cpu0", "host", "b"), Value: 2, Time: ts},
				{Metric: "cpu", Field: "sys", Tags: tags("cpu", "cpu0", "host", "b"), Value: 3, Time: ts},
				{Metric: "cpu", Field: "up", Tags: tags("cpu", "cpu0", "host", "b"), Value: 1, Time: ts},
				{Metric: "cpu", Field: "down", Tags: tags("cpu", "cpu0", "host", "b"), Value: 0, Time: ts},
			},
		},
		"no timestamp, comments, blank lines, escapes": {
			body: "# a comment\n\nmem.used,region=eu\\ west v=1\r\nmem-free v=2\n",
			want: []ingest.Sample{
				{Metric: "mem.used", Field: "v", Tags: tags("region", "eu west"), Value: 1, Time: now},
				{Metric: "mem-free", Field: "v", Value: 2, Time: now},
			},
		},
		"precision s":  {body: "m v=1 " + itoa(ts.Unix()), precision: time.Second, want: []ingest.Sample{{Metric: "m", Field: "v", Value: 1, Time: ts}}},
		"precision ms": {body: "m v=1 " + itoa(ts.UnixMilli()), precision: time.Millisecond, want: []ingest.Sample{{Metric: "m", Field: "v", Value: 1, Time: ts}}},
		"precision h":  {body: "m v=1 " + itoa(now.Unix()/3600), precision: time.Hour, want: []ingest.Sample{{Metric: "m", Field: "v", Value: 1, Time: now}}},
		"empty":        {body: "", want: []ingest.Sample{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ingest.DecodeLineProtocol([]byte(tc.body), tc.precision, opts())
			if err != nil {
				t.Fatal(err)
			}
			checkDecoded(t, got, tc.want)
		})
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestDecodeLineProtocolErrors(t *testing.T) {
	tests := map[string]struct {
		body      string
		line, col int
		msg       string
	}{
		"string field":       {"ok v=1\nm a=1,s=\"x\"\n", 2, 7, `field "s" is a string`},
		"syntax":             {"ok v=1\nok v=1\nm,t v=1\n", 3, 3, `expected '=' after tag key "t"`},
		"no fields":          {"m,t=1\n", 1, 6, "expected tag key or field"},
		"bad measurement":    {"ok v=1\n1m v=1\n", 2, 1, `measurement "1m"`},
		"bad field name":     {"m a/b=1\n", 1, 3, `field name "a/b"`},
		"bad tag key":        {"m,a/b=1 v=1\n", 1, 1, `tag key "a/b"`},
		"NaN is not parsed":  {"m v=NaN\n", 1, 5, "unrecognized type"},
		"future":             {"m v=1 " + itoa(now.Add(10*time.Minute).UnixNano()) + "\n", 1, 7, "in the future"},
		"too old":            {"m v=1 1000000000\n", 1, 7, "older than the maximum age"},
		"bad timestamp":      {"m v=1 12x\n", 1, 7, "invalid timestamp"},
		"overflow precision": {"m v=1 9223372036854775807\n", 1, -1, "out of range"},
		"duplicate tag":      {"m,a=1,a=2 v=1\n", 1, 1, `tag "a" is given twice`},
		"long tag value":     {"m,a=" + strings.Repeat("x", 300) + " v=1\n", 1, 1, "300 bytes long"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			prec := time.Nanosecond
			if name == "overflow precision" {
				prec = time.Second
			}
			got, err := ingest.DecodeLineProtocol([]byte(tc.body), prec, opts())
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			wantProblem(t, err, tc.line, tc.col, tc.msg)
		})
	}
}

func TestParsePrecision(t *testing.T) {
	tests := map[string]time.Duration{"": time.Nanosecond, "ns": time.Nanosecond, "n": time.Nanosecond, "us": time.Microsecond,
		"µs": time.Microsecond, "u": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}
	for in, want := range tests {
		if got, err := ingest.ParsePrecision(in); err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ingest.ParsePrecision("d"); err == nil {
		t.Error("ParsePrecision(d): no error")
	}
}

const promText = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{route="/a",code="200"} 10
http_requests_total{route="/b",code="500",empty=""} 2 1772366340000
# TYPE temp gauge
temp 21.5
untyped_thing{x="y"} 3
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="1"} 3
lat_bucket{le="+Inf"} 4
lat_sum 2.5
lat_count 4
# TYPE rpc summary
rpc{quantile="0.5"} 0.2
rpc{quantile="0.99"} 0.9
rpc_sum 10
rpc_count 20
`

func TestDecodePrometheus(t *testing.T) {
	got, _, err := ingest.DecodePrometheus([]byte(promText), opts())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, got)
	v := func(m string, val float64, kv ...string) ingest.Sample {
		return ingest.Sample{Metric: m, Field: "value", Tags: tags(kv...), Value: val, Time: now}
	}
	want := []ingest.Sample{
		v("http_requests_total", 10, "code", "200", "route", "/a"),
		v("http_requests_total", 2, "code", "500", "route", "/b"),
		v("lat_bucket", 1, "le", "0.1"), v("lat_bucket", 3, "le", "1"), v("lat_bucket", 4, "le", "+Inf"),
		v("lat_sum", 2.5), v("lat_count", 4),
		v("rpc", 0.2, "quantile", "0.5"), v("rpc", 0.9, "quantile", "0.99"), v("rpc_sum", 10), v("rpc_count", 20),
		v("temp", 21.5),
		v("untyped_thing", 3, "x", "y"),
	}
	want[1].Time = time.UnixMilli(1772366340000)
	for i := range got {
		if i < len(want) && got[i].Time.Equal(want[i].Time) {
			got[i].Time = want[i].Time
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecodePrometheusErrors(t *testing.T) {
	tests := map[string]struct {
		body string
		line int
		msg  string
	}{
		"syntax":     {"ok 1\nbad{ 1\n", 2, ""},
		"Inf":        {"m{a=\"b\"} +Inf\n", 0, "m: value is infinite"},
		"bad name":   {"{\"a b\"} 1\n", 0, `metric name "a b"`},
		"bad label":  {"m{\"a b\"=\"1\"} 1\n", 0, `tag key "a b"`},
		"too old":    {"m 1 1000\n", 0, "older than"},
		"type clash": {"# TYPE m counter\n# TYPE m gauge\n", 2, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _, err := ingest.DecodePrometheus([]byte(tc.body), opts())
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			wantProblem(t, err, tc.line, -1, tc.msg)
		})
	}
}

func TestDecodePrometheusLeavesNaNOutAndCountsIt(t *testing.T) {
	// NaN is Prometheus's "no value": an empty summary's quantiles.
	body := "# TYPE rpc summary\nrpc{quantile=\"0.5\"} NaN\nrpc_sum 0\nrpc_count 0\nup 1\n"
	got, noValue, err := ingest.DecodePrometheus([]byte(body), opts())
	if err != nil {
		t.Fatal(err)
	}
	if noValue != 1 || len(got) != 3 {
		t.Fatalf("noValue %d, samples %+v; want 1 and rpc_count, rpc_sum, up", noValue, got)
	}
	for _, s := range got {
		if math.IsNaN(s.Value) {
			t.Errorf("a NaN sample came out: %+v", s)
		}
	}
	if _, _, err := ingest.DecodePrometheus([]byte("up +Inf\n"), opts()); err == nil {
		t.Error("+Inf was accepted")
	}
}

// promLabels writes a series line with n labels l0="0", l1="1", ….
func promLabels(metric string, n int) string {
	var b strings.Builder
	b.WriteString(metric + "{")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("l" + strconv.Itoa(i) + `="` + strconv.Itoa(i) + `"`)
	}
	b.WriteString("} 1\n")
	return b.String()
}

// TestDecodePrometheusLimitsWhileScanning: the limits that bound expfmt's
// work are enforced as the body is scanned, before expfmt reads it, with
// the line and column of the label or name that passes the limit.
func TestDecodePrometheusLimitsWhileScanning(t *testing.T) {
	long := strings.Repeat("x", 300)
	col33 := strings.Index(promLabels("m", 33), "l32=") + 1
	tests := map[string]struct {
		body      string
		lim       ingest.Limits
		line, col int
		msg       string
	}{
		"33 labels":                {"ok 1\n" + promLabels("m", 33), ingest.Limits{}, 2, col33, "m: more than 32 labels in one series"},
		"5,000 labels":             {promLabels("m", 5000), ingest.Limits{}, 1, col33, "more than 32 labels"},
		"a low limit, blanks":      {"m{a=\"1\", b=\"2\",   c=\"3\"} 1\n", ingest.Limits{MaxTags: 2}, 1, 19, "more than 2 labels"},
		"quoted metric name":       {"{\"a.b\", x=\"1\",y=\"2\",z=\"3\"} 1\n", ingest.Limits{MaxTags: 2}, 1, 21, "a.b: more than 2 labels"},
		"le counts as a label":     {"# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\n", ingest.Limits{MaxTags: 1}, 2, 16, "more than 1 labels"},
		"long label value":         {"m{a=\"" + long + "\"} 1\n", ingest.Limits{}, 1, 5, `label "a": value is more than 256 bytes long, the limit`},
		"escapes count once":       {"m{a=\"" + strings.Repeat(`\\`, 5) + "\"} 1\n", ingest.Limits{MaxTagValueBytes: 4}, 1, 5, "value is more than 4 bytes long"},
		"long metric name":         {"ok 1\n" + long + "{a=\"1\"} 1\n", ingest.Limits{}, 2, 1, "metric name is more than 256 bytes long"},
		"long label name":          {"m{" + long + "=\"1\"} 1\n", ingest.Limits{}, 1, 3, "label name is more than 256 bytes long"},
		"long quoted name":         {"{\"" + long + "\"} 1\n", ingest.Limits{}, 1, 2, "name is more than 256 bytes long"},
		"a syntax error before it": {"bad{ 1\n" + promLabels("m", 40), ingest.Limits{}, 1, -1, "invalid label name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, _, err := ingest.DecodePrometheus([]byte(tc.body), ingest.DecodeOptions{Now: now, Limits: tc.lim})
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			wantProblem(t, err, tc.line, tc.col, tc.msg)
		})
	}
}

// TestDecodePrometheusWithinLimits: what the scan counts is what expfmt
// reads; '=' and names inside quotes, comments and values are not labels.
func TestDecodePrometheusWithinLimits(t *testing.T) {
	t.Parallel()
	body := "# HELP m a=b c=d e=f g=h\n" +
		promLabels("m", 32) +
		"n{a=\"x=y=z=w\",\"b.c\"=\"1\"} 1\n" +
		"# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 1\nh_sum{a=\"1\"} 1\nh_count{a=\"1\"} 1\n"
	got, _, err := ingest.DecodePrometheus([]byte(body), ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxTags: 32}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || len(got[4].Tags) != 32 {
		t.Fatalf("got %d samples %+v", len(got), got)
	}
	if _, _, err := ingest.DecodePrometheus([]byte(body), ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxTags: 2}}); err == nil {
		t.Fatal("32 labels accepted with a limit of 2")
	}
}

// TestDecodePrometheusTooManySeriesLines: more sample lines than MaxSamples
// is refused with 413's error before expfmt builds them.
func TestDecodePrometheusTooManySeriesLines(t *testing.T) {
	t.Parallel()
	body := "# TYPE m gauge\n" + strings.Repeat("m 1\n\n# c\n", 4)
	_, _, err := ingest.DecodePrometheus([]byte(body), ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxSamples: 3}})
	var de *ingest.DecodeError
	if !errors.As(err, &de) || !de.TooLarge {
		t.Fatalf("error %v; want a TooLarge *DecodeError", err)
	}
	if _, _, err := ingest.DecodePrometheus([]byte(body), ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxSamples: 4}}); err != nil {
		t.Fatal(err)
	}
}

// TestDecodePrometheusFloatHistogramCounts: a histogram whose counts are
// not all whole numbers keeps them (expfmt stores every count of it as a
// float then).
func TestDecodePrometheusFloatHistogramCounts(t *testing.T) {
	t.Parallel()
	body := "# TYPE h histogram\nh_bucket{le=\"1\"} 1.5\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
	got, _, err := ingest.DecodePrometheus([]byte(body), opts())
	if err != nil {
		t.Fatal(err)
	}
	var vals []float64
	for _, s := range got {
		vals = append(vals, s.Value)
	}
	if want := []float64{1.5, 2, 3, 2}; !reflect.DeepEqual(vals, want) {
		t.Fatalf("values %v (%+v); want %v (h_bucket 1.5 and 2, h_sum 3, h_count 2)", vals, got, want)
	}
}
