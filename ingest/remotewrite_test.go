package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/easyproto"
	"github.com/klauspost/compress/snappy"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/dashd/dashd/ingest"
)

// series builds a remote-write 1.0 series: labels as name/value pairs, then
// samples as value/ms pairs.
func rwSeries(labels []string, samples ...float64) prompb.TimeSeries {
	var ts prompb.TimeSeries
	for i := 0; i < len(labels); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: labels[i], Value: labels[i+1]})
	}
	for i := 0; i < len(samples); i += 2 {
		ts.Samples = append(ts.Samples, prompb.Sample{Value: samples[i], Timestamp: int64(samples[i+1])})
	}
	return ts
}

func rwV1(t testing.TB, ts ...prompb.TimeSeries) []byte {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

// rwV2 turns 1.0 series into a 2.0 request with a symbol table.
func rwV2(t testing.TB, ts ...prompb.TimeSeries) []byte {
	t.Helper()
	req := &writev2.Request{Symbols: []string{""}}
	ref := map[string]uint32{"": 0}
	sym := func(s string) uint32 {
		if r, ok := ref[s]; ok {
			return r
		}
		ref[s] = uint32(len(req.Symbols))
		req.Symbols = append(req.Symbols, s)
		return ref[s]
	}
	for _, s := range ts {
		out := &writev2.TimeSeries{}
		for _, l := range s.Labels {
			out.LabelsRefs = append(out.LabelsRefs, sym(l.Name), sym(l.Value))
		}
		for _, x := range s.Samples {
			out.Samples = append(out.Samples, &writev2.Sample{Value: x.Value, Timestamp: x.Timestamp})
		}
		req.Timeseries = append(req.Timeseries, out)
	}
	raw, err := req.MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

var ms = float64(now.Add(-time.Minute).UnixMilli())

func TestDecodeRemoteWrite(t *testing.T) {
	t.Parallel()
	at := now.Add(-time.Minute)
	tests := map[string]struct {
		series  []prompb.TimeSeries
		want    []ingest.Sample
		noValue int
	}{
		"counter and gauge": {
			series: []prompb.TimeSeries{
				rwSeries([]string{"__name__", "http_requests_total", "route", "/a", "status", "200"}, 5, ms, 7, ms+1000),
				rwSeries([]string{"__name__", "temperature"}, -1.5, ms),
			},
			want: []ingest.Sample{
				{Metric: "http_requests_total", Field: "value", Tags: tags("route", "/a", "status", "200"), Value: 5, Time: at},
				{Metric: "http_requests_total", Field: "value", Tags: tags("route", "/a", "status", "200"), Value: 7, Time: at.Add(time.Second)},
				{Metric: "temperature", Field: "value", Value: -1.5, Time: at},
			},
		},
		"labels out of order, empty values dropped": {
			series: []prompb.TimeSeries{rwSeries([]string{"z", "1", "__name__", "m", "a", "2", "e", ""}, 1, ms)},
			want:   []ingest.Sample{{Metric: "m", Field: "value", Tags: tags("a", "2", "z", "1"), Value: 1, Time: at}},
		},
		"classic histogram: le written as the text decoder writes it": {
			series: []prompb.TimeSeries{
				rwSeries([]string{"__name__", "rpc_seconds_bucket", "le", "0.1"}, 3, ms),
				rwSeries([]string{"__name__", "rpc_seconds_bucket", "le", "1.0"}, 5, ms),
				rwSeries([]string{"__name__", "rpc_seconds_bucket", "le", "+Inf"}, 6, ms),
				rwSeries([]string{"__name__", "rpc_seconds_sum"}, 2.5, ms),
				rwSeries([]string{"__name__", "rpc_seconds_count"}, 6, ms),
				rwSeries([]string{"__name__", "rpc_quantiles", "quantile", "0.50"}, 0.2, ms),
				rwSeries([]string{"__name__", "not_a_histogram", "le", "1.0"}, 1, ms),
			},
			want: []ingest.Sample{
				{Metric: "rpc_seconds_bucket", Field: "value", Tags: tags("le", "0.1"), Value: 3, Time: at},
				{Metric: "rpc_seconds_bucket", Field: "value", Tags: tags("le", "1"), Value: 5, Time: at},
				{Metric: "rpc_seconds_bucket", Field: "value", Tags: tags("le", "+Inf"), Value: 6, Time: at},
				{Metric: "rpc_seconds_sum", Field: "value", Value: 2.5, Time: at},
				{Metric: "rpc_seconds_count", Field: "value", Value: 6, Time: at},
				{Metric: "rpc_quantiles", Field: "value", Tags: tags("quantile", "0.5"), Value: 0.2, Time: at},
				{Metric: "not_a_histogram", Field: "value", Tags: tags("le", "1.0"), Value: 1, Time: at},
			},
		},
		"NaN and staleness markers left out and counted": {
			series: []prompb.TimeSeries{
				rwSeries([]string{"__name__", "up"}, 1, ms, math.Float64frombits(value.StaleNaN), ms+1, math.NaN(), ms+2),
			},
			want:    []ingest.Sample{{Metric: "up", Field: "value", Value: 1, Time: at}},
			noValue: 2,
		},
		"empty request": {want: []ingest.Sample{}},
	}
	for name, tt := range tests {
		for _, version := range []ingest.RemoteWriteMessage{ingest.RemoteWriteV1, ingest.RemoteWriteV2} {
			t.Run(name+"/"+version.String(), func(t *testing.T) {
				t.Parallel()
				body := rwV1(t, tt.series...)
				if version == ingest.RemoteWriteV2 {
					body = rwV2(t, tt.series...)
				}
				got, noValue, err := ingest.DecodeRemoteWrite(body, version, opts())
				if err != nil {
					t.Fatal(err)
				}
				checkDecoded(t, got, tt.want)
				if noValue != tt.noValue {
					t.Errorf("noValue = %d, want %d", noValue, tt.noValue)
				}
			})
		}
	}
}

// A classic histogram reads the same through remote write as through the
// text format (Prometheus 3 sends le="1.0" where an exporter wrote le="1").
func TestRemoteWriteHistogramMatchesPrometheusText(t *testing.T) {
	t.Parallel()
	text := "# TYPE rpc_seconds histogram\n" +
		"rpc_seconds_bucket{le=\"0.25\"} 1\nrpc_seconds_bucket{le=\"1\"} 4\nrpc_seconds_bucket{le=\"10\"} 5\nrpc_seconds_bucket{le=\"+Inf\"} 5\n" +
		"rpc_seconds_sum 7.5\nrpc_seconds_count 5\n"
	fromText, _, err := ingest.DecodePrometheus([]byte(text), opts())
	if err != nil {
		t.Fatal(err)
	}
	var series []prompb.TimeSeries
	for _, le := range []string{"0.25", "1.0", "10.0", "+Inf"} {
		series = append(series, rwSeries([]string{"__name__", "rpc_seconds_bucket", "le", le}))
	}
	series = append(series, rwSeries([]string{"__name__", "rpc_seconds_sum"}), rwSeries([]string{"__name__", "rpc_seconds_count"}))
	for i, s := range fromText {
		series[i].Samples = []prompb.Sample{{Value: s.Value, Timestamp: now.UnixMilli()}}
	}
	fromRW, _, err := ingest.DecodeRemoteWrite(rwV1(t, series...), ingest.RemoteWriteV1, opts())
	if err != nil {
		t.Fatal(err)
	}
	checkDecoded(t, fromRW, fromText)
}

func TestDecodeRemoteWriteRefuses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	tests := map[string]struct {
		series   []prompb.TimeSeries
		body     []byte // instead of series
		v2body   []byte // for 2.0, instead of series
		index    int
		want     string
		tooLarge bool
		lim      ingest.Limits
	}{
		"no name":            {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "ok"}, 1, ms), rwSeries([]string{"job", "a"}, 1, ms)}, index: 1, want: `series 1 has no __name__ label (labels {job="a"})`},
		"bad metric name":    {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "a b"}, 1, ms)}, want: `series 0: metric name "a b": character ' ' at offset 1`},
		"bad label name":     {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m", "a/b", "1"}, 1, ms)}, want: `series 0 (m): label name "a/b": character '/'`},
		"long label value":   {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m", "path", long}, 1, ms)}, want: `series 0 (m): label "path": value is 300 bytes long, more than the limit of 256`},
		"label twice":        {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m", "a", "1", "a", "2"}, 1, ms)}, want: `series 0 (m): label "a" is given twice`},
		"too many labels":    {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m", "a", "1", "b", "2", "c", "3"}, 1, ms)}, lim: ingest.Limits{MaxTags: 2}, want: `series 0 has 4 labels (__name__ included), more than the limit of 2 besides __name__`},
		"infinite value":     {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m"}, math.Inf(1), ms)}, want: `series 0 (m), sample at`},
		"too old":            {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m"}, 1, 0)}, want: `older than the maximum age of 24h0m0s`},
		"too far ahead":      {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m"}, 1, float64(now.Add(time.Hour).UnixMilli()))}, want: `more than 5m0s in the future`},
		"too many samples":   {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m"}, 1, ms, 2, ms, 3, ms)}, lim: ingest.Limits{MaxSamples: 2}, tooLarge: true, index: 2, want: "more than 2 samples in one request"},
		"decompresses large": {series: []prompb.TimeSeries{rwSeries([]string{"__name__", "m", "path", strings.Repeat("a", 2000)}, 1, ms)}, lim: ingest.Limits{MaxBodyBytes: 1000}, tooLarge: true, index: -1, want: "decompresses to"},
		"not snappy":         {body: []byte("\xff\xff\xff\xff\xff\xff"), index: -1, want: "not snappy block-compressed"},
		"not protobuf":       {body: snappy.Encode(nil, []byte("\x0a\x05ab")), index: -1, want: "is not a valid"},
		"v2 bad refs":        {v2body: snappy.Encode(nil, mustVT(t, &writev2.Request{Symbols: []string{"", "__name__", "m"}, Timeseries: []*writev2.TimeSeries{{LabelsRefs: []uint32{1, 9}, Samples: []*writev2.Sample{{Value: 1, Timestamp: int64(ms)}}}}})), index: 0, want: "labels_refs[0:2] = 1, 9 refers past the 3 symbols"},
		"v2 odd refs":        {v2body: snappy.Encode(nil, mustVT(t, &writev2.Request{Symbols: []string{"", "__name__", "m"}, Timeseries: []*writev2.TimeSeries{{LabelsRefs: []uint32{1, 2, 1}}}})), index: 0, want: "labels_refs has 3 entries"},
		"other version":      {index: -1, want: "is the proto parameter of the Content-Type right"},
		"v2 first symbol":    {v2body: snappy.Encode(nil, mustVT(t, &writev2.Request{Symbols: []string{"x"}})), index: -1, want: `symbols[0] is "x"`},
		"native histogram": {series: []prompb.TimeSeries{func() prompb.TimeSeries {
			s := rwSeries([]string{"__name__", "lat"})
			s.Histograms = []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 1}, Timestamp: int64(ms)}}
			return s
		}()}, v2body: snappy.Encode(nil, mustVT(t, &writev2.Request{Symbols: []string{"", "__name__", "lat"}, Timeseries: []*writev2.TimeSeries{{LabelsRefs: []uint32{1, 2}, Histograms: []*writev2.Histogram{{Timestamp: int64(ms)}}}}})),
			want: "series 0 (lat): native histograms are not supported"},
	}
	for name, tt := range tests {
		for _, version := range []ingest.RemoteWriteMessage{ingest.RemoteWriteV1, ingest.RemoteWriteV2} {
			t.Run(name+"/"+version.String(), func(t *testing.T) {
				t.Parallel()
				body := tt.body
				switch {
				case name == "other version" && version == ingest.RemoteWriteV1:
					body = rwV2(t, rwSeries([]string{"__name__", "m"}, 1, ms))
				case name == "other version":
					body = rwV1(t, rwSeries([]string{"__name__", "m"}, 1, ms))
				case body != nil:
				case version == ingest.RemoteWriteV2 && tt.v2body != nil:
					body = tt.v2body
				case tt.series == nil:
					t.Skip("a 2.0-only case")
				case version == ingest.RemoteWriteV1:
					body = rwV1(t, tt.series...)
				default:
					body = rwV2(t, tt.series...)
				}
				got, _, err := ingest.DecodeRemoteWrite(body, version, ingest.DecodeOptions{Now: now, Limits: tt.lim})
				var de *ingest.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, samples %v; want a *DecodeError", err, got)
				}
				if got != nil {
					t.Errorf("samples returned with an error: %v", got)
				}
				p := de.Problems[0]
				if !strings.Contains(p.Message, tt.want) || p.Index != tt.index || de.TooLarge != tt.tooLarge {
					t.Errorf("problem %+v (too large %v); want index %d, message containing %q, too large %v", p, de.TooLarge, tt.index, tt.want, tt.tooLarge)
				}
				if de.Format != "remote write" {
					t.Errorf("Format = %q", de.Format)
				}
			})
		}
	}
}

func mustVT(t testing.TB, m interface{ MarshalVT() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzRemoteWrite feeds the decoder both the fuzzer's bytes as a
// decompressed protobuf (compressed here, so that the fuzzer explores the
// message and not snappy) and as the body itself.
func FuzzRemoteWrite(f *testing.F) {
	for _, ts := range [][]prompb.TimeSeries{
		{rwSeries([]string{"__name__", "m", "route", "/a"}, 1, ms, 2, ms+1)},
		{rwSeries([]string{"__name__", "h_bucket", "le", "1.0"}, 3, ms), rwSeries([]string{"job", "x"}, math.NaN(), ms)},
		// Series without samples, or with a bad name, between good ones;
		// labels repeated from one series to the next, then changed.
		{rwSeries([]string{"__name__", "m", "a", "1"}), rwSeries([]string{"__name__", "m", "a", "1"}, 1, ms), rwSeries([]string{"__name__", "m", "a", "2", "b", ""}, 2, ms), rwSeries([]string{"__name__", "1m"}, 3, ms)},
		rwBenchSeries(3),
	} {
		for _, body := range [][]byte{rwV1(f, ts...), rwV2(f, ts...)} {
			raw, err := snappy.Decode(nil, body)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw, false)
			f.Add(raw, true)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, v2 bool) {
		msg := ingest.RemoteWriteV1
		if v2 {
			msg = ingest.RemoteWriteV2
		}
		opt := ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxSamples: 1000, MaxBodyBytes: 1 << 16}}
		for _, body := range [][]byte{snappy.Encode(nil, raw), raw} {
			samples, noValue, err := ingest.DecodeRemoteWrite(body, msg, opt)
			checkResult(t, samples, err)
			if err != nil && noValue != 0 {
				t.Fatalf("noValue %d with an error", noValue)
			}
			if !v2 {
				// 1.0 has two paths (VictoriaMetrics' zero-copy decoder, and
				// prompb where that one reads a request differently or
				// refuses it): they must answer alike.
				want, wantNoValue, wantErr := ingest.DecodeRemoteWriteWithPrompb(body, opt)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || noValue != wantNoValue || !reflect.DeepEqual(samples, want) {
					t.Fatalf("the decoders differ:\nfast:   %d samples (%d no value), %v\nprompb: %d samples (%d no value), %v\nfast %+v\nprompb %+v", len(samples), noValue, err, len(want), wantNoValue, wantErr, samples, want)
				}
			}
		}
	})
}

// rwBenchSeries is a Prometheus-shaped batch: n series of one sample each
// (what a sender's shard sends, max_samples_per_send 2,000 in Prometheus
// 3), five labels each, with the job and instance labels Prometheus adds.
func rwBenchSeries(n int) []prompb.TimeSeries {
	out := make([]prompb.TimeSeries, n)
	for i := range out {
		out[i] = rwSeries([]string{"__name__", "http_requests_total", "host", fmt.Sprintf("web-%02d", i%12), "instance", fmt.Sprintf("10.0.0.%d:9100", i%50),
			"job", "node", "route", fmt.Sprintf("/api/v%d", i%7), "status", fmt.Sprint(200 + i%5)}, float64(i), ms+float64(i))
	}
	return out
}

func BenchmarkDecodeRemoteWrite(b *testing.B) {
	opt := ingest.DecodeOptions{Now: now}
	series := rwBenchSeries(2000)
	for _, c := range []struct {
		name string
		msg  ingest.RemoteWriteMessage
		body []byte
	}{
		{"v1", ingest.RemoteWriteV1, rwV1(b, series...)},
		{"v2", ingest.RemoteWriteV2, rwV2(b, series...)},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu := cpuTime()
			benchDecode(b, c.body, func(p []byte) ([]ingest.Sample, error) {
				s, _, err := ingest.DecodeRemoteWrite(p, c.msg, opt)
				return s, err
			})
			reportPerCPU(b, cpu, len(series))
		})
	}
	// The libraries alone: snappy and the generated Unmarshal, without
	// dashd's checks and samples. What DecodeRemoteWrite adds is the
	// difference. For 1.0, prompb decoding the whole request (the obvious
	// use), and decoding it a series at a time into one reused TimeSeries
	// (what DecodeRemoteWrite does).
	b.Run("v1-library-only", func(b *testing.B) {
		body := rwV1(b, series...)
		cpu := cpuTime()
		defer reportPerCPU(b, cpu, len(series))
		benchDecode(b, body, func(p []byte) ([]ingest.Sample, error) {
			raw, err := snappy.Decode(nil, p)
			if err != nil {
				return nil, err
			}
			var req prompb.WriteRequest
			return make([]ingest.Sample, len(series)), req.Unmarshal(raw)
		})
	})
	b.Run("v1-library-per-series", func(b *testing.B) {
		body := rwV1(b, series...)
		cpu := cpuTime()
		defer reportPerCPU(b, cpu, len(series))
		benchDecode(b, body, func(p []byte) ([]ingest.Sample, error) {
			raw, err := snappy.Decode(nil, p)
			if err != nil {
				return nil, err
			}
			var ts prompb.TimeSeries
			for len(raw) > 0 {
				_, _, n := protowire.ConsumeTag(raw)
				v, m := protowire.ConsumeBytes(raw[n:])
				if n < 0 || m < 0 {
					return nil, errors.New("bad protobuf")
				}
				raw = raw[n+m:]
				ts.Labels, ts.Samples = ts.Labels[:0], ts.Samples[:0]
				if err := ts.Unmarshal(v); err != nil {
					return nil, err
				}
			}
			return make([]ingest.Sample, len(series)), nil
		})
	})
	// snappy and easyproto reading every field of the request (labels as
	// strings into the body, nothing copied or checked): the floor under
	// DecodeRemoteWrite's 1.0 path.
	b.Run("v1-wire-only", func(b *testing.B) {
		body := rwV1(b, series...)
		cpu := cpuTime()
		defer reportPerCPU(b, cpu, len(series))
		benchDecode(b, body, func(p []byte) ([]ingest.Sample, error) {
			raw, err := snappy.Decode(nil, p)
			if err != nil {
				return nil, err
			}
			return make([]ingest.Sample, len(series)), easyprotoWalk(raw, 0)
		})
	})
	b.Run("v2-library-only", func(b *testing.B) {
		body := rwV2(b, series...)
		cpu := cpuTime()
		defer reportPerCPU(b, cpu, len(series))
		benchDecode(b, body, func(p []byte) ([]ingest.Sample, error) {
			raw, err := snappy.Decode(nil, p)
			if err != nil {
				return nil, err
			}
			var req writev2.Request
			return make([]ingest.Sample, len(series)), req.UnmarshalVT(raw)
		})
	})
}

// easyprotoWalk reads every field of a remote write 1.0 message with
// easyproto, down to labels' strings and samples' numbers.
func easyprotoWalk(b []byte, depth int) error {
	var fc easyproto.FieldContext
	for len(b) > 0 {
		var err error
		if b, err = fc.NextField(b); err != nil {
			return err
		}
		switch {
		case depth < 2 && (fc.FieldNum == 1 || fc.FieldNum == 2):
			if v, ok := fc.MessageData(); ok {
				if err := easyprotoWalk(v, depth+1); err != nil {
					return err
				}
			}
		case depth == 2:
			fc.String()
			fc.Double()
			fc.Int64()
		}
	}
	return nil
}

// cpuTime is the CPU time this process has used. On a machine whose cores
// are shared, samples per CPU-second (with -cpu 1: on one core) is what the
// decoder costs; samples/s by the wall clock also counts the time other
// processes held the core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerCPU reports samples per CPU-second since start; the warm-up
// call of benchDecode counts too, which errs on the slow side.
func reportPerCPU(b *testing.B, start time.Duration, perOp int) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(perOp)*float64(b.N)/used.Seconds(), "samples/cpu-s")
	}
}

type rwReq struct {
	contentType, encoding, version string
	body                           []byte
}

func postRW(t *testing.T, url string, r rwReq) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Content-Type": r.contentType, "Content-Encoding": r.encoding, "X-Prometheus-Remote-Write-Version": r.version} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestRemoteWriteHandler(t *testing.T) {
	t.Parallel()
	ok := []prompb.TimeSeries{
		rwSeries([]string{"__name__", "up", "job", "a"}, 1, ms, math.Float64frombits(value.StaleNaN), ms+1),
		rwSeries([]string{"__name__", "temp"}, 2, ms),
	}
	const v2type = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
	tests := map[string]struct {
		req     rwReq
		status  int
		samples int
		header  map[string]string
		body    string
	}{
		"1.0":                        {req: rwReq{"application/x-protobuf", "snappy", "0.1.0", rwV1(t, ok...)}, status: 204, samples: 2},
		"1.0 named":                  {req: rwReq{"application/x-protobuf; proto=prometheus.WriteRequest", "snappy", "", rwV1(t, ok...)}, status: 204, samples: 2},
		"1.0 bare":                   {req: rwReq{"", "", "", rwV1(t, ok...)}, status: 204, samples: 2},
		"2.0":                        {req: rwReq{v2type, "snappy", "2.0.0", rwV2(t, ok...)}, status: 204, samples: 2, header: map[string]string{"X-Prometheus-Remote-Write-Samples-Written": "3", "X-Prometheus-Remote-Write-Histograms-Written": "0"}},
		"2.0 spaced parameter":       {req: rwReq{"application/x-protobuf; proto=io.prometheus.write.v2.Request", "snappy", "2.0.0", rwV2(t, ok...)}, status: 204, samples: 2},
		"1.0 body sent as 2.0":       {req: rwReq{v2type, "snappy", "2.0.0", rwV1(t, ok...)}, status: 400, body: "remote write"},
		"unknown message":            {req: rwReq{"application/x-protobuf;proto=foo.Bar", "snappy", "", rwV1(t, ok...)}, status: 415, body: `unsupported remote-write message \"foo.Bar\"`},
		"json content type":          {req: rwReq{"application/json", "snappy", "", rwV1(t, ok...)}, status: 415, body: "unsupported Content-Type"},
		"unknown version":            {req: rwReq{"application/x-protobuf", "snappy", "3.0.0", rwV1(t, ok...)}, status: 415, body: "X-Prometheus-Remote-Write-Version"},
		"gzip":                       {req: rwReq{"application/x-protobuf", "gzip", "", rwV1(t, ok...)}, status: 415, body: "snappy"},
		"bad label names the series": {req: rwReq{"application/x-protobuf", "snappy", "0.1.0", rwV1(t, ok[0], rwSeries([]string{"__name__", "m", "a-", ""}), rwSeries([]string{"__name__", "m", "-a", "1"}, 1, ms))}, status: 400, body: `"index":2,"message":"series 2 (m): label name \"-a\"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sk := &sink{}
			srv := httptest.NewServer(ingest.RemoteWriteHandler(sk, ingest.HandlerConfig{Clock: func() time.Time { return now }}))
			t.Cleanup(srv.Close)
			resp, body := postRW(t, srv.URL+"/api/v1/write", tt.req)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("status %d, body %s; want %d with %q", resp.StatusCode, body, tt.status, tt.body)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := len(sk.samples()); got != tt.samples {
				t.Errorf("sink got %d samples, want %d", got, tt.samples)
			}
		})
	}
}

// Overload answers are the ones remote-write senders retry: 429 and 503
// with Retry-After; a body over the limit is 413.
func TestRemoteWriteHandlerRetryAnswers(t *testing.T) {
	t.Parallel()
	body := rwV1(t, rwSeries([]string{"__name__", "m"}, 1, ms))
	tests := map[string]struct {
		err    error
		lim    ingest.Limits
		status int
	}{
		"full":      {err: &ingest.OverloadError{RetryAfter: 2 * time.Second, Reason: "log full"}, status: 429},
		"log away":  {err: &ingest.OverloadError{RetryAfter: time.Second, Reason: "log away", Unavailable: true}, status: 503},
		"too large": {lim: ingest.Limits{MaxBodyBytes: 10}, status: 413},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sk := &sink{AcceptFunc: func(context.Context, []ingest.Sample) error { return tt.err }}
			srv := httptest.NewServer(ingest.RemoteWriteHandler(sk, ingest.HandlerConfig{Limits: tt.lim, Clock: func() time.Time { return now }}))
			t.Cleanup(srv.Close)
			resp, msg := postRW(t, srv.URL, rwReq{"application/x-protobuf", "snappy", "0.1.0", body})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, msg, tt.status)
			}
			if ra := resp.Header.Get("Retry-After"); (tt.err != nil) != (ra != "") {
				t.Errorf("Retry-After %q", ra)
			}
			if n := len(sk.samples()); n != 0 {
				t.Errorf("%d samples stored with a refusal", n)
			}
		})
	}
}

// Idempotency-Key works on the remote-write route as on the others.
func TestRemoteWriteIdempotencyKeyReachesTheSink(t *testing.T) {
	t.Parallel()
	keys := make(chan string, 1)
	sk := &sink{AcceptFunc: func(ctx context.Context, _ []ingest.Sample) error {
		keys <- ingest.IdempotencyKey(ctx)
		return nil
	}}
	srv := httptest.NewServer(ingest.RemoteWriteHandler(sk, ingest.HandlerConfig{Clock: func() time.Time { return now }}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(rwV1(t, rwSeries([]string{"__name__", "m"}, 1, ms))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Idempotency-Key", "k-rw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if k := <-keys; k != "k-rw" {
		t.Fatalf("the sink saw key %q", k)
	}
}

// protoBytes is a length-delimited protobuf field: tag, length, payload.
func protoBytes(field byte, payload []byte) []byte {
	b := []byte{field<<3 | 2}
	n := len(payload)
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(append(b, byte(n)), payload...)
}

// A crafted body of empty elements is refused before a library turns each
// two bytes into a 48- to 64-byte Go value; a Prometheus-shaped body passes
// with the body limit at its own decompressed size. Not parallel: it
// measures this goroutine's allocations through the process's counters.
func TestRemoteWriteMemoryIsBounded(t *testing.T) {
	const size = 8 << 20
	empty := func(field byte) []byte { return bytes.Repeat([]byte{field<<3 | 2, 0}, size/2-8) }
	tests := map[string]struct {
		msg ingest.RemoteWriteMessage
		raw []byte
	}{
		"1.0 empty labels":  {ingest.RemoteWriteV1, protoBytes(1, empty(1))},
		"1.0 empty samples": {ingest.RemoteWriteV1, protoBytes(1, empty(2))},
		"1.0 empty series":  {ingest.RemoteWriteV1, empty(1)},
		"2.0 empty samples": {ingest.RemoteWriteV2, protoBytes(5, empty(2))},
		"2.0 empty symbols": {ingest.RemoteWriteV2, empty(4)},
		"2.0 empty series":  {ingest.RemoteWriteV2, empty(5)},
		"2.0 label refs":    {ingest.RemoteWriteV2, protoBytes(5, protoBytes(1, make([]byte, size-16)))},
	}
	opt := ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxBodyBytes: size, MaxSamples: -1}}
	for name, tt := range tests {
		body := snappy.Encode(nil, tt.raw)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := ingest.DecodeRemoteWrite(body, tt.msg, opt)
		runtime.ReadMemStats(&after)
		var de *ingest.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: err %v, want a refusal", name, err)
			continue
		}
		// The decompressed body itself is one allocation of its size.
		if used := after.TotalAlloc - before.TotalAlloc; used > 2*uint64(len(tt.raw)) {
			t.Errorf("%s: %d MB allocated for a %d MB body (%.150s)", name, used>>20, len(tt.raw)>>20, err)
		}
	}

	series := rwBenchSeries(2000)
	for msg, body := range map[ingest.RemoteWriteMessage][]byte{ingest.RemoteWriteV1: rwV1(t, series...), ingest.RemoteWriteV2: rwV2(t, series...)} {
		n, err := snappy.DecodedLen(body)
		if err != nil {
			t.Fatal(err)
		}
		opt := ingest.DecodeOptions{Now: now, Limits: ingest.Limits{MaxBodyBytes: int64(n)}}
		if _, _, err := ingest.DecodeRemoteWrite(body, msg, opt); err != nil {
			t.Errorf("a Prometheus-shaped %v body at the limit: %v", msg, err)
		}
	}
}

// A decoder whose result is no longer wanted stops and says so.
func TestDecodeRemoteWriteStops(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	close(done)
	series := rwBenchSeries(3000)
	for msg, body := range map[ingest.RemoteWriteMessage][]byte{ingest.RemoteWriteV1: rwV1(t, series...), ingest.RemoteWriteV2: rwV2(t, series...)} {
		got, _, err := ingest.DecodeRemoteWrite(body, msg, ingest.DecodeOptions{Now: now, Done: done})
		if !errors.Is(err, ingest.ErrStopped) || got != nil {
			t.Errorf("%v: %d samples, err %v; want ErrStopped", msg, len(got), err)
		}
	}
}
