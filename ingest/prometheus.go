package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// DecodePrometheus decodes the Prometheus text exposition format (0.0.4).
// Counters, gauges and untyped metrics give one sample each (Metric = the
// metric name, Tags = the labels, Field = "value"). A histogram gives
// NAME_bucket samples tagged le="…" (including le="+Inf"), NAME_sum and
// NAME_count; a summary gives NAME samples tagged quantile="…", NAME_sum and
// NAME_count. A sample's time is its explicit timestamp (ms) or opt.Now.
//
// Samples come out grouped by metric family, families sorted by name, and in
// input order within a family. Labels with an empty value are dropped
// (Prometheus treats them as absent). Syntax errors carry the line; other
// problems carry the sample's Index and the metric name. The error is a
// *DecodeError.
//
// NaN is Prometheus's "no value" (an empty summary's quantiles, a gauge
// with nothing to report): such samples are left out and counted in
// noValue, so an exporter's output is taken as it is. ±Inf is refused as in
// every format.
func DecodePrometheus(body []byte, opt DecodeOptions) (samples []Sample, noValue int, err error) {
	ck := newChecker(opt)
	ps := problems{format: "prometheus"}
	// The limits that bound expfmt's work are checked first, in one pass
	// (see promScan); what passes costs expfmt time linear in its size.
	p, lineStart, tooMany, err := promScan(body, &ck.lim, opt.Done)
	if err != nil {
		return nil, 0, err
	}
	if tooMany {
		return nil, 0, tooManySamples("prometheus", ck.lim.MaxSamples)
	}
	if p != nil {
		// A syntax error before the problem's line comes first, as it
		// would without the limit.
		if _, err := parsePrometheus(body[:lineStart], opt.Done); errors.Is(err, ErrStopped) {
			return nil, 0, err
		} else if err != nil {
			ps.add(syntaxProblem(err))
		} else {
			ps.add(*p)
		}
		return nil, 0, ps.err()
	}
	fams, err := parsePrometheus(body, opt.Done)
	if errors.Is(err, ErrStopped) {
		return nil, 0, err
	}
	if err != nil {
		ps.add(syntaxProblem(err))
		return nil, 0, ps.err()
	}
	names := make([]string, 0, len(fams))
	total := 0
	for name, mf := range fams {
		names = append(names, name)
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				total += 2 + len(m.GetHistogram().GetBucket())
			case dto.MetricType_SUMMARY:
				total += 2 + len(m.GetSummary().GetQuantile())
			default:
				total++
			}
		}
	}
	if ck.tooMany(total) {
		return nil, 0, tooManySamples("prometheus", ck.lim.MaxSamples)
	}
	sort.Strings(names)

	out := make([]Sample, 0, total)
	emit := func(metric string, labels []*dto.LabelPair, extraKey, extraVal string, v float64, t time.Time) {
		if math.IsNaN(v) {
			noValue++
			return
		}
		idx := len(out)
		var tags []Tag
		n := len(labels)
		if extraKey != "" {
			n++
		}
		if n > 0 {
			tags = make([]Tag, 0, n)
			for _, lp := range labels {
				if lp.GetValue() != "" {
					tags = append(tags, Tag{Key: lp.GetName(), Value: lp.GetValue()})
				}
			}
			if extraKey != "" {
				tags = append(tags, Tag{Key: extraKey, Value: extraVal})
			}
			if len(tags) == 0 {
				tags = nil
			}
		}
		bad := false
		report := func(msg string) {
			ps.add(Problem{Index: idx, Message: metric + ": " + msg})
			bad = true
		}
		if msg := ck.metricName("metric name", metric); msg != "" {
			report(msg)
		} else if msg := ck.tags(tags); msg != "" {
			report(msg)
		} else if msg := ck.value(v); msg != "" {
			report(msg)
		} else if msg := ck.time(t); msg != "" {
			report(msg)
		}
		if bad {
			// Keep the index moving so later problems point right.
			out = append(out, Sample{})
			return
		}
		out = append(out, Sample{Metric: metric, Field: DefaultField, Tags: tags, Value: v, Time: t})
	}
	for _, name := range names {
		mf := fams[name]
		for _, m := range mf.GetMetric() {
			if ps.full() {
				ps.trunc = true
				return nil, 0, ps.err()
			}
			t := ck.now
			if m.TimestampMs != nil {
				t = time.UnixMilli(m.GetTimestampMs())
			}
			labels := m.GetLabel()
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				emit(name, labels, "", "", m.GetCounter().GetValue(), t)
			case dto.MetricType_GAUGE:
				emit(name, labels, "", "", m.GetGauge().GetValue(), t)
			case dto.MetricType_UNTYPED:
				emit(name, labels, "", "", m.GetUntyped().GetValue(), t)
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					emit(name+"_bucket", labels, "le", formatBound(b.GetUpperBound()), bucketCount(b), t)
				}
				emit(name+"_sum", labels, "", "", h.GetSampleSum(), t)
				emit(name+"_count", labels, "", "", histogramCount(h), t)
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					emit(name, labels, "quantile", formatBound(q.GetQuantile()), q.GetValue(), t)
				}
				emit(name+"_sum", labels, "", "", s.GetSampleSum(), t)
				emit(name+"_count", labels, "", "", float64(s.GetSampleCount()), t)
			default:
				ps.add(Problem{Index: len(out), Message: fmt.Sprintf("%s: metric type %s is not supported", name, mf.GetType())})
			}
		}
	}
	if err := ps.err(); err != nil {
		return nil, 0, err
	}
	return out, noValue, nil
}

func parsePrometheus(body []byte, done <-chan struct{}) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	var r io.Reader = bytes.NewReader(body)
	if done != nil {
		r = doneReader{r, done}
	}
	return parser.TextToMetricFamilies(r)
}

// doneReader fails with ErrStopped once done is closed; expfmt reads
// through a bufio.Reader, so it looks every 4 KB.
type doneReader struct {
	r    io.Reader
	done <-chan struct{}
}

func (d doneReader) Read(p []byte) (int, error) {
	if stopped(d.done) {
		return 0, ErrStopped
	}
	return d.r.Read(p)
}

// syntaxProblem turns expfmt's error into a Problem (expfmt knows the line,
// not the column).
func syntaxProblem(err error) Problem {
	var pe expfmt.ParseError
	if errors.As(err, &pe) {
		return Problem{Line: pe.Line, Index: -1, Message: pe.Msg}
	}
	return Problem{Index: -1, Message: err.Error()}
}

// bucketCount and histogramCount read a count that expfmt keeps as a float
// when any count of the histogram is not a whole number (and then as a
// float for every count of it).
func bucketCount(b *dto.Bucket) float64 {
	if b.CumulativeCountFloat != nil {
		return b.GetCumulativeCountFloat()
	}
	return float64(b.GetCumulativeCount())
}

func histogramCount(h *dto.Histogram) float64 {
	if h.SampleCountFloat != nil {
		return h.GetSampleCountFloat()
	}
	return float64(h.GetSampleCount())
}

// formatBound writes a bucket bound or quantile the way Prometheus does.
func formatBound(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	if math.IsInf(f, -1) {
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
