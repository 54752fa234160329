package ingest

import (
	"fmt"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// OTLPEncoding is how an OTLP/HTTP body is encoded, read from its
// Content-Type.
type OTLPEncoding int

const (
	// OTLPProtobuf is application/x-protobuf, the OTLP/HTTP default.
	OTLPProtobuf OTLPEncoding = iota + 1
	// OTLPJSON is application/json (OTLP's JSON mapping of the protobuf).
	OTLPJSON
)

// OTLPBatch is what DecodeOTLP reads from one request.
type OTLPBatch struct {
	// Samples are ready as they are: gauges, delta sums and histograms,
	// non-monotonic cumulative sums (current values), summary quantiles.
	Samples []Sample
	// Cumulative are running totals (monotonic cumulative sums, cumulative
	// histograms' buckets, counts and sums, summaries' counts and sums),
	// which OTLPHandler stores as they came (RunningSamples) and the log's
	// readers turn into increases (Cumulative.Apply).
	Cumulative []CumulativePoint
	// Rejected counts the data points left out for a problem of their own
	// (a NaN or infinite value, a name or tag outside the limits, a time
	// out of range, an unknown temporality); Problems says why, located,
	// up to 20 of them. A request with rejected points is still answered
	// 200, with OTLP's partial_success.
	Rejected int
	Problems []Problem
	// NoValue counts the points flagged "no recorded value", left out
	// without being rejected.
	NoValue int
}

// CumulativePoint is one running total of a cumulative series.
type CumulativePoint struct {
	// Sample carries the series' metric and tags, the running total as
	// Value and the point's time.
	Sample Sample
	// Start is the point's StartTimeUnixNano: when the total began at 0.
	// Zero when the sender did not set it.
	Start time.Time
	// Series identifies the series: the metric, its tags, every attribute
	// of its resource and its scope (a 64-bit hash).
	Series uint64
	// Head marks the first running total of a histogram or summary point
	// (its _count); Grouped marks the ones after it (buckets, _sum), which
	// are new to the table only because they were 0 until now when the head
	// was known before.
	Head, Grouped bool
}

// DecodeOTLP reads an OTLP ExportMetricsServiceRequest (protobuf or JSON,
// decoded by the Collector's pdata) into samples:
//
//   - Metric is the metric's name as sent; tags are the data point's
//     attributes (values written as text; an empty value is no tag) plus
//     the resource's service.name, service.namespace and service.instance.id
//     (a point's own attribute of the same key wins). The scope is not a tag.
//   - Gauge: its values. Sum, delta: its values (the increase over the
//     point's interval). Sum, cumulative and monotonic: a CumulativePoint.
//     Sum, cumulative and not monotonic (an UpDownCounter): its values,
//     like a gauge.
//   - Histogram: NAME_bucket tagged le (the bucket's upper bound, "+Inf"
//     for the last) with the count of that bucket alone (not cumulative),
//     NAME_count and NAME_sum (when sent); cumulative ones as
//     CumulativePoints.
//   - ExponentialHistogram: the same, with explicit bounds: a positive
//     bucket of index i has le = base^(i+1), a negative one le = -base^i,
//     the zero bucket le = the zero threshold; base = 2^(2^-scale).
//   - Summary: NAME tagged quantile (its current value), NAME_count and
//     NAME_sum as CumulativePoints.
//
// le and quantile are written as DecodePrometheus writes them. A point
// without a time takes opt.Now. A body that cannot be decoded is refused
// with a *DecodeError; so is one giving more than Limits.MaxSamples samples
// (TooLarge), and, before pdata reads it, one whose decoding would take
// more than 16 times Limits.MaxBodyBytes of memory (TooLarge; see
// checkOTLPCost: pdata spends about 200 bytes on an attribute that takes 2
// on the wire). A point that breaks a limit is left out and counted in
// Rejected, with a Problem located as resource_metrics[i].scope_metrics[j].
// metrics[k].data_points[p] and Index the point's position in the request.
// Safe for concurrent use; the result shares no memory with body.
func DecodeOTLP(body []byte, enc OTLPEncoding, opt DecodeOptions) (*OTLPBatch, error) {
	if err := checkOTLPCost(body, enc, opt.Limits.WithDefaults()); err != nil {
		return nil, err
	}
	req := pmetricotlp.NewExportRequest()
	var err error
	switch enc {
	case OTLPProtobuf:
		err = req.UnmarshalProto(body)
	case OTLPJSON:
		err = req.UnmarshalJSON(body)
	default:
		return nil, fmt.Errorf("ingest: unknown OTLP encoding %d", enc)
	}
	if err != nil {
		what := "protobuf"
		if enc == OTLPJSON {
			what = "JSON"
		}
		return nil, &DecodeError{Format: "otlp", Problems: []Problem{{Index: -1,
			Message: "the body is not an OTLP ExportMetricsServiceRequest in " + what + ": " + err.Error()}}}
	}
	d := otlpDecoder{c: newChecker(opt), done: opt.Done, batch: &OTLPBatch{}}
	md := req.Metrics()
	ready, running := estimate(md)
	d.batch.Samples = make([]Sample, 0, min(ready, d.c.lim.MaxSamples))
	d.batch.Cumulative = make([]CumulativePoint, 0, min(running, d.c.lim.MaxSamples))
	if err := d.metrics(md); err != nil {
		return nil, err
	}
	return d.batch, nil
}

// estimate guesses how many ready samples and running totals md gives, so
// that their slices are made once: a histogram point is taken as 3 plus
// its first point's buckets.
func estimate(md pmetric.Metrics) (ready, running int) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				n, cum := 0, false
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					n = m.Gauge().DataPoints().Len()
				case pmetric.MetricTypeSum:
					n = m.Sum().DataPoints().Len()
					cum = m.Sum().IsMonotonic() && m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
				case pmetric.MetricTypeHistogram:
					dps := m.Histogram().DataPoints()
					if dps.Len() > 0 {
						n = dps.Len() * (3 + dps.At(0).BucketCounts().Len())
					}
					cum = m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
				case pmetric.MetricTypeExponentialHistogram:
					n = m.ExponentialHistogram().DataPoints().Len() * 16
					cum = m.ExponentialHistogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
				case pmetric.MetricTypeSummary:
					n = m.Summary().DataPoints().Len() * 4
					running += m.Summary().DataPoints().Len() * 2
				}
				if cum {
					running += n
				} else {
					ready += n
				}
			}
		}
	}
	return ready, running
}

// otlpDecoder walks one request.
type otlpDecoder struct {
	c     checker
	done  <-chan struct{}
	batch *OTLPBatch
	n     int // samples emitted, against MaxSamples
	point int // data points seen, the Index of a Problem

	// Per resource and scope.
	resTags []Tag
	resHash uint64
	where   string // resource_metrics[i].scope_metrics[j]

	// arena is where the tags of points are cut from (one allocation for
	// many points); a cut slice has its capacity cut to its length, so no
	// append reaches the next point's tags.
	arena []Tag
}

// tagSlice returns an empty slice with room for n tags, cut from the arena.
func (d *otlpDecoder) tagSlice(n int) []Tag {
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]Tag, 0, max(n, 4096))
	}
	l := len(d.arena)
	d.arena = d.arena[:l+n]
	return d.arena[l : l : l+n]
}

func (d *otlpDecoder) metrics(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		d.resource(rm.Resource().Attributes())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			d.where = "resource_metrics[" + strconv.Itoa(i) + "].scope_metrics[" + strconv.Itoa(j) + "]"
			h := newFNV().u64(d.resHash).str(sm.Scope().Name()).byte(0).str(sm.Scope().Version())
			scopeHash := uint64(h)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				if err := d.metric(ms.At(k), k, scopeHash); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// resource keeps the tags a resource gives and a hash of all its
// attributes. Only service.name, service.namespace and service.instance.id
// become tags: the other attributes would multiply the series of every
// chart; they still tell the cumulative series of two senders apart.
func (d *otlpDecoder) resource(attrs pcommon.Map) {
	d.resTags = d.resTags[:0]
	for _, key := range [...]string{"service.name", "service.namespace", "service.instance.id"} {
		if v, ok := attrs.Get(key); ok {
			if s := v.AsString(); s != "" {
				d.resTags = append(d.resTags, Tag{Key: key, Value: s})
			}
		}
	}
	h := newFNV()
	for k, v := range attrs.All() {
		h = h.str(k).byte(0).str(v.AsString()).byte(0)
	}
	d.resHash = uint64(h)
}

// reject counts a point left out and says why.
func (d *otlpDecoder) reject(loc string, msg string) {
	d.batch.Rejected++
	if len(d.batch.Problems) < maxProblems {
		d.batch.Problems = append(d.batch.Problems, Problem{Index: d.point, Message: loc + ": " + msg})
	}
}

// tooMany reports (as the error to return) that the request gives more
// samples than the limit.
func (d *otlpDecoder) tooMany(more int) error {
	d.n += more
	if d.c.tooMany(d.n) {
		return tooManySamples("otlp", d.c.lim.MaxSamples)
	}
	return nil
}

func (d *otlpDecoder) metric(m pmetric.Metric, k int, scopeHash uint64) error {
	name := m.Name()
	loc := d.where + ".metrics[" + strconv.Itoa(k) + "] " + strconv.Quote(clipName(name))
	var points int
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		points = m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		points = m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		points = m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		points = m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		points = m.Summary().DataPoints().Len()
	default:
		return nil // no data: nothing to take or reject
	}
	// A bad name rejects every point of the metric; the derived names
	// (NAME_bucket, …) must fit the limit too.
	suffix := ""
	switch m.Type() {
	case pmetric.MetricTypeHistogram, pmetric.MetricTypeExponentialHistogram:
		suffix = "_bucket"
	case pmetric.MetricTypeSummary:
		suffix = "_count"
	}
	msg := d.c.metricName("metric name", name+suffix)
	if msg == "" && suffix != "" && len(name) == 0 {
		msg = "metric name is empty"
	}
	if msg != "" {
		for p := 0; p < points; p++ {
			d.reject(loc+".data_points["+strconv.Itoa(p)+"]", msg)
			d.point++
		}
		return nil
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return d.numbers(loc, name, m.Gauge().DataPoints(), false, scopeHash)
	case pmetric.MetricTypeSum:
		s := m.Sum()
		switch s.AggregationTemporality() {
		case pmetric.AggregationTemporalityDelta:
			return d.numbers(loc, name, s.DataPoints(), false, scopeHash)
		case pmetric.AggregationTemporalityCumulative:
			return d.numbers(loc, name, s.DataPoints(), s.IsMonotonic(), scopeHash)
		}
		d.unknownTemporality(loc, points)
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		cum, ok := d.temporality(loc, h.AggregationTemporality(), points)
		if ok {
			return d.histograms(loc, name, h.DataPoints(), cum, scopeHash)
		}
	case pmetric.MetricTypeExponentialHistogram:
		h := m.ExponentialHistogram()
		cum, ok := d.temporality(loc, h.AggregationTemporality(), points)
		if ok {
			return d.expHistograms(loc, name, h.DataPoints(), cum, scopeHash)
		}
	case pmetric.MetricTypeSummary:
		return d.summaries(loc, name, m.Summary().DataPoints(), scopeHash)
	}
	return nil
}

func (d *otlpDecoder) temporality(loc string, t pmetric.AggregationTemporality, points int) (cumulative, ok bool) {
	switch t {
	case pmetric.AggregationTemporalityDelta:
		return false, true
	case pmetric.AggregationTemporalityCumulative:
		return true, true
	}
	d.unknownTemporality(loc, points)
	return false, false
}

func (d *otlpDecoder) unknownTemporality(loc string, points int) {
	for p := 0; p < points; p++ {
		d.reject(loc+".data_points["+strconv.Itoa(p)+"]", "aggregation_temporality is unspecified (expected delta or cumulative)")
		d.point++
	}
}

// pointTags builds and checks a point's tags: its attributes plus the
// resource's tags. The result is a fresh slice with room for extra more
// tags (le, quantile) at the end.
//
// The tags are gathered, sorted and checked in a scratch array on the
// stack and then copied once into the arena: sorting in the arena moved
// each string several times, and with the GC running every move of a
// pointer on the heap is a write barrier (a fifth of the mapping's time).
func (d *otlpDecoder) pointTags(attrs pcommon.Map, extra int) ([]Tag, string) {
	n := attrs.Len() + len(d.resTags)
	if n > d.c.lim.MaxTags {
		return nil, fmt.Sprintf("%d tags (attributes and resource tags), more than the limit of %d", n, d.c.lim.MaxTags)
	}
	var scratch [16]Tag
	ts := scratch[:0]
	if n > len(scratch) {
		ts = make([]Tag, 0, n)
	}
	for k, v := range attrs.All() {
		s := v.AsString()
		if s == "" {
			continue
		}
		ts = append(ts, Tag{Key: k, Value: s})
	}
	for _, rt := range d.resTags {
		dup := false
		for i := range ts {
			if ts[i].Key == rt.Key {
				dup = true
				break
			}
		}
		if !dup {
			ts = append(ts, rt)
		}
	}
	if msg := d.c.tags(ts); msg != "" {
		return nil, msg
	}
	return append(d.tagSlice(len(ts)+extra), ts...), ""
}

// withTag returns base plus key=value, sorted, sharing nothing with base's
// future appends (its capacity is cut to its length).
func withTag(base []Tag, key, value string) ([]Tag, string) {
	for i := range base {
		if base[i].Key == key {
			return nil, fmt.Sprintf("attribute %q clashes with the tag dashd adds", key)
		}
	}
	ts := make([]Tag, len(base)+1)
	copy(ts, base)
	ts[len(base)] = Tag{Key: key, Value: value}
	sortTags(ts)
	return ts, ""
}

// pointTime reads a point's time (opt.Now when unset) and checks it.
// pointHead reads the time and tags of data point p of the metric at loc;
// a problem rejects the point and reports false.
func (d *otlpDecoder) pointHead(loc string, p int, ts pcommon.Timestamp, attrs pcommon.Map) (time.Time, []Tag, bool) {
	t, msg := d.pointTime(ts)
	if msg == "" {
		var tags []Tag
		if tags, msg = d.pointTags(attrs, 0); msg == "" {
			return t, tags, true
		}
	}
	d.reject(pointLoc(loc, p), msg)
	return time.Time{}, nil, false
}

func (d *otlpDecoder) pointTime(ts pcommon.Timestamp) (time.Time, string) {
	if ts == 0 {
		return d.c.now, ""
	}
	t := ts.AsTime()
	return t, d.c.time(t)
}

func startTime(ts pcommon.Timestamp) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return ts.AsTime()
}

// seriesHash identifies a cumulative series: scope (and resource), metric,
// tags.
func (d *otlpDecoder) seriesHash(scopeHash uint64, metric string, tags []Tag) uint64 {
	h := newFNV().u64(scopeHash).str(metric)
	for _, t := range tags {
		h = h.byte(0).str(t.Key).byte(1).str(t.Value)
	}
	return uint64(h)
}

// fnv64 is FNV-1a, 64 bits: deterministic (the same series hashes alike in
// every request and process) and allocation-free. Its collisions can be
// made on purpose, which would only let a sender that may write anyway mix
// two of its own cumulative series.
type fnv64 uint64

func newFNV() fnv64 { return 14695981039346656037 }

func (h fnv64) byte(b byte) fnv64 { return (h ^ fnv64(b)) * 1099511628211 }

func (h fnv64) str(s string) fnv64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv64(s[i])) * 1099511628211
	}
	return h
}

func (h fnv64) u64(v uint64) fnv64 {
	for i := 0; i < 8; i++ {
		h = h.byte(byte(v >> (8 * i)))
	}
	return h
}

func (d *otlpDecoder) checkStop() error {
	if d.point&stopEvery == 0 && stopped(d.done) {
		return ErrStopped
	}
	return nil
}

func (d *otlpDecoder) numbers(loc, name string, dps pmetric.NumberDataPointSlice, cumulative bool, scopeHash uint64) error {
	for p := 0; p < dps.Len(); p, d.point = p+1, d.point+1 {
		if err := d.checkStop(); err != nil {
			return err
		}
		dp := dps.At(p)
		if dp.Flags().NoRecordedValue() {
			d.batch.NoValue++
			continue
		}
		var v float64
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeDouble:
			v = dp.DoubleValue()
		case pmetric.NumberDataPointValueTypeInt:
			v = float64(dp.IntValue())
		default:
			d.reject(pointLoc(loc, p), "the data point has no value")
			continue
		}
		if msg := d.c.value(v); msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		t, tags, ok := d.pointHead(loc, p, dp.Timestamp(), dp.Attributes())
		if !ok {
			continue
		}
		if err := d.tooMany(1); err != nil {
			return err
		}
		s := Sample{Metric: name, Field: DefaultField, Tags: tags, Value: v, Time: t}
		if !cumulative {
			d.batch.Samples = append(d.batch.Samples, s)
			continue
		}
		d.batch.Cumulative = append(d.batch.Cumulative, CumulativePoint{Sample: s,
			Start: startTime(dp.StartTimestamp()), Series: d.seriesHash(scopeHash, name, tags)})
	}
	return nil
}

func pointLoc(loc string, p int) string { return loc + ".data_points[" + strconv.Itoa(p) + "]" }

// family emits the samples of one histogram or summary point: count first
// (the head of the group), then the others. Every value was checked.
type family struct {
	d          *otlpDecoder
	cumulative bool
	start      time.Time
	scopeHash  uint64
	t          time.Time
	head       bool
	// scale, for an exponential histogram, is part of each of its series:
	// after a change of scale the buckets mean other ranges (even where an
	// le is the same), so every series starts again from a baseline, and
	// the head is new too, so that no bucket counts its whole total as if
	// it had been 0 until now.
	scale int64
}

func (f *family) add(metric string, tags []Tag, v float64) {
	s := Sample{Metric: metric, Field: DefaultField, Tags: tags, Value: v, Time: f.t}
	if !f.cumulative {
		f.d.batch.Samples = append(f.d.batch.Samples, s)
		return
	}
	series := f.d.seriesHash(f.scopeHash, metric, tags)
	if f.scale != 0 {
		series = uint64(fnv64(series).u64(uint64(f.scale)))
	}
	f.d.batch.Cumulative = append(f.d.batch.Cumulative, CumulativePoint{Sample: s, Start: f.start,
		Series: series, Head: !f.head, Grouped: f.head})
	f.head = true
}

func (d *otlpDecoder) histograms(loc, name string, dps pmetric.HistogramDataPointSlice, cumulative bool, scopeHash uint64) error {
	for p := 0; p < dps.Len(); p, d.point = p+1, d.point+1 {
		if err := d.checkStop(); err != nil {
			return err
		}
		dp := dps.At(p)
		if dp.Flags().NoRecordedValue() {
			d.batch.NoValue++
			continue
		}
		bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
		if counts.Len() != 0 && counts.Len() != bounds.Len()+1 {
			d.reject(pointLoc(loc, p), fmt.Sprintf("%d bucket_counts for %d explicit_bounds (expected %d)", counts.Len(), bounds.Len(), bounds.Len()+1))
			continue
		}
		msg := ""
		for i := 0; i < bounds.Len() && msg == ""; i++ {
			if b := bounds.At(i); math.IsNaN(b) || (i > 0 && b <= bounds.At(i-1)) {
				msg = fmt.Sprintf("explicit_bounds[%d] = %v is not above the bound before it", i, b)
			}
		}
		if msg == "" && dp.HasSum() {
			if m := d.c.value(dp.Sum()); m != "" {
				msg = "sum: " + m
			}
		}
		if msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		t, tags, ok := d.pointHead(loc, p, dp.Timestamp(), dp.Attributes())
		if !ok {
			continue
		}
		bucketTags := make([][]Tag, counts.Len())
		for i := range bucketTags {
			le := "+Inf"
			if i < bounds.Len() {
				le = formatBound(bounds.At(i))
			}
			if bucketTags[i], msg = withTag(tags, "le", le); msg != "" {
				break
			}
		}
		if msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		n := 1 + counts.Len()
		if dp.HasSum() {
			n++
		}
		if err := d.tooMany(n); err != nil {
			return err
		}
		f := family{d: d, cumulative: cumulative, start: startTime(dp.StartTimestamp()), scopeHash: scopeHash, t: t}
		f.add(name+"_count", tags, float64(dp.Count()))
		for i := range bucketTags {
			f.add(name+"_bucket", bucketTags[i], float64(counts.At(i)))
		}
		if dp.HasSum() {
			f.add(name+"_sum", tags, dp.Sum())
		}
	}
	return nil
}

func (d *otlpDecoder) expHistograms(loc, name string, dps pmetric.ExponentialHistogramDataPointSlice, cumulative bool, scopeHash uint64) error {
	for p := 0; p < dps.Len(); p, d.point = p+1, d.point+1 {
		if err := d.checkStop(); err != nil {
			return err
		}
		dp := dps.At(p)
		if dp.Flags().NoRecordedValue() {
			d.batch.NoValue++
			continue
		}
		msg := ""
		if dp.HasSum() {
			if m := d.c.value(dp.Sum()); m != "" {
				msg = "sum: " + m
			}
		}
		if sc := dp.Scale(); msg == "" && (sc < -10 || sc > 20) {
			msg = fmt.Sprintf("scale %d is outside OTLP's -10 to 20", sc)
		}
		if zt := dp.ZeroThreshold(); msg == "" && (zt < 0 || math.IsNaN(zt) || math.IsInf(zt, 0)) {
			msg = fmt.Sprintf("zero_threshold %v is not a finite number of 0 or more", zt)
		}
		if msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		t, tags, ok := d.pointHead(loc, p, dp.Timestamp(), dp.Attributes())
		if !ok {
			continue
		}
		neg, pos := dp.Negative(), dp.Positive()
		nb := neg.BucketCounts().Len() + 1 + pos.BucketCounts().Len()
		if err := d.tooMany(nb + 2); err != nil {
			return err
		}
		type bucket struct {
			le    string
			count uint64
		}
		buckets := make([]bucket, 0, nb)
		scale := int(dp.Scale())
		bound := func(index int64) float64 { return expBound(index, scale) }
		nc := neg.BucketCounts()
		for i := nc.Len() - 1; i >= 0; i-- { // most negative first
			buckets = append(buckets, bucket{formatBound(-bound(int64(neg.Offset()) + int64(i))), nc.At(i)})
		}
		buckets = append(buckets, bucket{formatBound(dp.ZeroThreshold()), dp.ZeroCount()})
		pc := pos.BucketCounts()
		for i := 0; i < pc.Len(); i++ {
			buckets = append(buckets, bucket{formatBound(bound(int64(pos.Offset()) + int64(i) + 1)), pc.At(i)})
		}
		bucketTags := make([][]Tag, len(buckets))
		for i := range buckets {
			if bucketTags[i], msg = withTag(tags, "le", buckets[i].le); msg != "" {
				break
			}
			if i > 0 && buckets[i].le == buckets[i-1].le {
				// Bounds that round to one float (a huge scale or offset).
				msg = fmt.Sprintf("buckets %d and %d have the same upper bound %s at scale %d", i-1, i, buckets[i].le, dp.Scale())
				break
			}
		}
		if msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		f := family{d: d, cumulative: cumulative, start: startTime(dp.StartTimestamp()), scopeHash: scopeHash, t: t,
			scale: int64(dp.Scale()) + 1<<32} // never 0
		f.add(name+"_count", tags, float64(dp.Count()))
		for i := range buckets {
			f.add(name+"_bucket", bucketTags[i], float64(buckets[i].count))
		}
		if dp.HasSum() {
			f.add(name+"_sum", tags, dp.Sum())
		}
	}
	return nil
}

func (d *otlpDecoder) summaries(loc, name string, dps pmetric.SummaryDataPointSlice, scopeHash uint64) error {
	for p := 0; p < dps.Len(); p, d.point = p+1, d.point+1 {
		if err := d.checkStop(); err != nil {
			return err
		}
		dp := dps.At(p)
		if dp.Flags().NoRecordedValue() {
			d.batch.NoValue++
			continue
		}
		msg := d.c.value(dp.Sum())
		if msg != "" {
			msg = "sum: " + msg
		}
		qs := dp.QuantileValues()
		for i := 0; i < qs.Len() && msg == ""; i++ {
			q := qs.At(i)
			if math.IsNaN(q.Quantile()) || q.Quantile() < 0 || q.Quantile() > 1 {
				msg = fmt.Sprintf("quantile_values[%d].quantile %v is not between 0 and 1", i, q.Quantile())
			} else if m := d.c.value(q.Value()); m != "" {
				msg = fmt.Sprintf("quantile_values[%d].%s", i, m)
			}
		}
		if msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		t, tags, ok := d.pointHead(loc, p, dp.Timestamp(), dp.Attributes())
		if !ok {
			continue
		}
		qtags := make([][]Tag, qs.Len())
		for i := range qtags {
			if qtags[i], msg = withTag(tags, "quantile", formatBound(qs.At(i).Quantile())); msg != "" {
				break
			}
		}
		if msg != "" {
			d.reject(pointLoc(loc, p), msg)
			continue
		}
		if err := d.tooMany(qs.Len() + 2); err != nil {
			return err
		}
		for i := range qtags {
			d.batch.Samples = append(d.batch.Samples, Sample{Metric: name, Field: DefaultField, Tags: qtags[i], Value: qs.At(i).Value(), Time: t})
		}
		f := family{d: d, cumulative: true, start: startTime(dp.StartTimestamp()), scopeHash: scopeHash, t: t}
		f.add(name+"_count", tags, float64(dp.Count()))
		f.add(name+"_sum", tags, dp.Sum())
	}
	return nil
}

// expBound is 2^(index × 2^-scale), the lower bound of bucket index at
// scale (-10 ≤ scale ≤ 20), as exactly as a float64 holds it: the integer
// part of the exponent exactly (Ldexp), the fraction by Pow, so that
// scale 1 gives √2 and not a neighbour of it.
func expBound(index int64, scale int) float64 {
	if scale <= 0 {
		return math.Ldexp(1, int(index<<uint(-scale)))
	}
	q, r := index>>uint(scale), index&(1<<uint(scale)-1) // floor division
	return math.Ldexp(math.Pow(2, float64(r)/float64(int64(1)<<uint(scale))), int(q))
}

// clipName keeps a metric name short enough to quote in a message.
func clipName(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// otlpMessage is partial_success.error_message: how many points were left
// out and the first few reasons.
func otlpMessage(b *OTLPBatch) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d data points rejected: ", b.Rejected)
	for i, p := range b.Problems {
		if i == 3 {
			fmt.Fprintf(&sb, "; and %d more", b.Rejected-3)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(clipMessage(p.Message))
	}
	return sb.String()
}

// checkOTLPType reads the encoding of an OTLP/HTTP request.
func checkOTLPType(ct string) (OTLPEncoding, *refusal) {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case "application/x-protobuf":
			return OTLPProtobuf, nil
		case "application/json":
			return OTLPJSON, nil
		}
	}
	return 0, &refusal{status: http.StatusUnsupportedMediaType,
		msg: fmt.Sprintf("unsupported Content-Type %q; OTLP/HTTP sends application/x-protobuf or application/json", ct)}
}

// writeOTLPResponse answers a request taken: an ExportMetricsServiceResponse
// in the request's encoding, with partial_success when points were left out.
func writeOTLPResponse(w http.ResponseWriter, enc OTLPEncoding, b *OTLPBatch) {
	resp := pmetricotlp.NewExportResponse()
	if b.Rejected > 0 {
		ps := resp.PartialSuccess()
		ps.SetRejectedDataPoints(int64(b.Rejected))
		ps.SetErrorMessage(otlpMessage(b))
	}
	var body []byte
	var err error
	ct := "application/x-protobuf"
	if enc == OTLPJSON {
		ct = "application/json"
		body, err = resp.MarshalJSON()
	} else {
		body, err = resp.MarshalProto()
	}
	if err != nil {
		// Cannot happen for these two fields; the samples are stored, so
		// the answer is still a success.
		body = nil
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// writeOTLPStatus writes a refusal as OTLP/HTTP wants it: a google.rpc.Status
// in the request's encoding, its message dashd's located error.
func writeOTLPStatus(w http.ResponseWriter, ref *refusal) {
	code := codes.Internal
	switch ref.status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = codes.InvalidArgument
	case http.StatusUnauthorized:
		code = codes.Unauthenticated
	case http.StatusMethodNotAllowed:
		code = codes.Unimplemented
	case http.StatusTooManyRequests:
		code = codes.ResourceExhausted
	case http.StatusServiceUnavailable, StatusClientClosedRequest:
		code = codes.Unavailable
	}
	st := &spb.Status{Code: int32(code), Message: ref.msg}
	var body []byte
	var err error
	ct := "application/x-protobuf"
	if ref.otlp == OTLPJSON {
		ct = "application/json"
		body, err = protojson.Marshal(st)
	} else {
		body, err = proto.Marshal(st)
	}
	if err != nil {
		body = nil
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ref.status)
	w.Write(body)
}
