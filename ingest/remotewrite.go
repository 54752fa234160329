package ingest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/easyproto"
	"github.com/klauspost/compress/snappy"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"
)

// RemoteWriteMessage is the protobuf message a Prometheus remote-write
// request carries, named by the proto parameter of its Content-Type.
type RemoteWriteMessage int

const (
	// RemoteWriteV1 is prometheus.WriteRequest (remote write 1.0), read
	// with github.com/VictoriaMetrics/easyproto (zero-copy), or decoded
	// with github.com/prometheus/prometheus/prompb for a request the two
	// would read differently or that is not valid.
	RemoteWriteV1 RemoteWriteMessage = iota + 1
	// RemoteWriteV2 is io.prometheus.write.v2.Request (remote write 2.0),
	// decoded with github.com/prometheus/client_golang/exp's generated types.
	RemoteWriteV2
)

func (m RemoteWriteMessage) String() string {
	switch m {
	case RemoteWriteV1:
		return "prometheus.WriteRequest"
	case RemoteWriteV2:
		return "io.prometheus.write.v2.Request"
	}
	return "RemoteWriteMessage(" + strconv.Itoa(int(m)) + ")"
}

// DecodeRemoteWrite decodes a Prometheus remote-write body as sent: a
// snappy block-compressed protobuf message of the kind msg names. Each float
// sample of a series gives one Sample: Metric = the series' __name__, Tags =
// its other labels, Field = "value", Value and Time (ms) as sent. Classic
// histograms and summaries arrive as plain series (NAME_bucket{le},
// NAME{quantile}, NAME_sum, NAME_count) and are taken so; their le and
// quantile values are written as the Prometheus text decoder writes them
// ("1.0" becomes "1", "+Inf" stays), so a histogram reads the same whichever
// way it came. Labels with an empty value are dropped, as Prometheus does.
//
// NaN (Prometheus's staleness marker, or "no value") is left out and
// counted in noValue, as in DecodePrometheus; ±Inf is refused as in every
// format. Native histograms are refused: dashd has no bucket layout for them
// yet (send classic histograms, or drop them with write_relabel_configs).
// Exemplars and metadata are ignored. Given DecodeOptions.Done, it stops
// within about a thousand series once Done is closed (not while a library
// decodes the message, which the memory bound keeps short) and returns
// ErrStopped.
//
// The snappy header's decoded length is checked against MaxBodyBytes before
// anything is decompressed (413). Problems carry the Index of the time
// series in the request (not of a sample) and a message that names the
// series and the label at fault. The error is a *DecodeError.
func DecodeRemoteWrite(body []byte, msg RemoteWriteMessage, opt DecodeOptions) (samples []Sample, noValue int, err error) {
	return decodeRemoteWrite(body, msg, opt, true)
}

// decodeRemoteWrite is DecodeRemoteWrite; fast false makes 1.0 take
// prompb's path always, so that a test can hold the two paths' answers
// side by side.
func decodeRemoteWrite(body []byte, msg RemoteWriteMessage, opt DecodeOptions, fast bool) (samples []Sample, noValue int, err error) {
	ck := newChecker(opt)
	ps := problems{format: "remote write"}
	n, err := snappy.DecodedLen(body)
	if err != nil {
		ps.add(Problem{Index: -1, Message: "the body is not snappy block-compressed (Content-Encoding: snappy): " + err.Error()})
		return nil, 0, ps.err()
	}
	if int64(n) > ck.lim.MaxBodyBytes {
		return nil, 0, &DecodeError{Format: ps.format, TooLarge: true, Problems: []Problem{{Index: -1,
			Message: fmt.Sprintf("the body decompresses to %d bytes, more than the limit of %d; send smaller batches (queue_config.max_samples_per_send)", n, ck.lim.MaxBodyBytes)}}}
	}
	raw, err := snappy.Decode(make([]byte, n), body)
	if err != nil {
		ps.add(Problem{Index: -1, Message: "the body is not valid snappy: " + err.Error()})
		return nil, 0, ps.err()
	}
	if msg != RemoteWriteV1 && msg != RemoteWriteV2 {
		return nil, 0, fmt.Errorf("ingest: unknown remote-write message %v", msg)
	}
	total, plain, p, tooLarge := scanRemoteWrite(raw, msg, &ck.lim)
	if p != nil {
		return nil, 0, &DecodeError{Format: ps.format, TooLarge: tooLarge, Problems: []Problem{*p}}
	}
	if stopped(opt.Done) {
		return nil, 0, ErrStopped
	}
	d := newRWDecoder(ck, &ps, opt.Done)
	switch msg {
	case RemoteWriteV1:
		if !fast || !plain || !d.v1Fast(raw, total) {
			d.v1(raw, total)
		}
	case RemoteWriteV2:
		var req writev2.Request
		if err := req.UnmarshalVT(raw); err != nil {
			ps.add(Problem{Index: -1, Message: "the body is not a valid io.prometheus.write.v2.Request protobuf: " + err.Error()})
			return nil, 0, ps.err()
		}
		if len(req.Timeseries) == 0 && len(req.ProtoReflect().GetUnknown()) > 0 {
			ps.add(wrongMessage(msg))
			return nil, 0, ps.err()
		}
		d.v2(&req)
	default:
		return nil, 0, fmt.Errorf("ingest: unknown remote-write message %v", msg)
	}
	if d.stopped {
		return nil, 0, ErrStopped
	}
	if d.tooMany {
		return nil, 0, tooManySamples(ps.format, ck.lim.MaxSamples)
	}
	if err := ps.err(); err != nil {
		return nil, 0, err
	}
	return d.out, d.noValue, nil
}

// wrongMessage is the problem of a body that decodes to no series and only
// fields msg does not have: most likely the other version's message, which
// would otherwise be answered with a success that wrote nothing.
func wrongMessage(msg RemoteWriteMessage) Problem {
	return Problem{Index: -1, Message: fmt.Sprintf("the body has no time series of a %s, only fields it does not have; is the proto parameter of the Content-Type right (none or prometheus.WriteRequest for remote write 1.0, io.prometheus.write.v2.Request for 2.0)?", msg)}
}

// rwDecoder turns the series of one decoded request into samples.
type rwDecoder struct {
	ck      checker
	ps      *problems
	out     []Sample
	noValue int
	tooMany bool
	done    <-chan struct{} // DecodeOptions.Done
	stopped bool
	tags    []Tag   // scratch for the series being read
	arena   []Tag   // the tags of the samples, series after series
	refs    []int   // 2.0: the symbols of d.tags' keys and values; 1.0: -1
	sym     []uint8 // 2.0: per symbol, what it was checked as (symbolBad)
	// A sample time in [msLo, msHi] (ms) is within the checker's range
	// for certain, without the time.Time comparisons; one outside it is
	// checked by ck.time, which writes the message.
	msLo, msHi int64
}

// newRWDecoder returns a decoder whose checks are ck's.
func newRWDecoder(ck checker, ps *problems, done <-chan struct{}) rwDecoder {
	d := rwDecoder{ck: ck, ps: ps, done: done, msLo: math.MinInt64, msHi: math.MaxInt64}
	// UnixMilli rounds down: a ms above oldest's is after oldest, one at
	// or below newest's is not after newest.
	if ck.checkOld {
		d.msLo = ck.oldest.UnixMilli() + 1
	}
	if ck.checkNew {
		d.msHi = ck.newest.UnixMilli()
	}
	return d
}

// v1Fast decodes a prometheus.WriteRequest with easyproto
// (github.com/VictoriaMetrics/easyproto, the reader under VictoriaMetrics'
// own remote-write decoder): one pass, no allocation of its own, every
// label a string that points into raw. Those strings must not outlive the
// call (the samples go to the log and the board, and would keep the whole
// body alive), so each distinct string is copied once per request:
// rwSymbols turns it into a symbol, as 2.0's symbol table does, and the
// checks of a symbol run once per request (symbolBad).
//
// The caller takes this path only for a plain request (scanRemoteWrite:
// only series with samples, no exemplars or native histograms), whose
// series prompb would read alike. Where easyproto refuses something, or a
// label or sample holds a field number prompb refuses (protoNumber),
// v1Fast undoes what it did and reports false; v1 then decodes the body
// with prompb, which says where it is wrong. FuzzRemoteWrite holds the two
// paths' answers side by side.
//
// (VictoriaMetrics' lib/prompb does the same decoding, but importing it
// brings its lib/logger, lib/memory, lib/cgroup and lib/fasttime, whose
// init functions start a goroutine, may change GOMAXPROCS and add about
// fifteen flags to flag.CommandLine.)
func (d *rwDecoder) v1Fast(raw []byte, total int) bool {
	d.out = make([]Sample, 0, total)
	in := rwSymbols{index: make(map[string]int32, 256), syms: make([]string, 0, 256)}
	// recent holds the strings met last, two per hash of their first
	// and last 8 bytes (the newer first): most label names and values of
	// a batch recur, and a hit (a comparison or two) costs a fraction of
	// a map look-up. It lives on the stack, so that storing into it is
	// not a write barrier.
	var recent [1024]rwSymbol
	lookup := func(s string) rwSymbol {
		h := uint64(len(s))
		if n := len(s); n >= 8 {
			h ^= le64(s[:8]) ^ bits.RotateLeft64(le64(s[n-8:]), 31)
		} else {
			for i := 0; i < n; i++ {
				h = h<<8 | uint64(s[i])
			}
		}
		h = (h ^ h>>32) * 0x9E3779B97F4A7C15 >> 55 << 1 // the top 9 bits: 512 pairs
		if c := recent[h]; c.s == s && c.ref >= 0 && len(s) > 0 {
			return c
		}
		if c := recent[h+1]; c.s == s && c.ref >= 0 && len(s) > 0 {
			recent[h], recent[h+1] = c, recent[h]
			return c
		}
		sym := in.intern(s)
		recent[h], recent[h+1] = sym, recent[h]
		return sym
	}
	undo := func() bool {
		d.out, d.arena, d.noValue, d.stopped = nil, nil, 0, false
		d.ps.list, d.ps.trunc = d.ps.list[:0], false
		return false
	}
	// prev holds the symbols of the previous series' labels, by position
	// (name, value; -1: none), for the comparison above the cache.
	var prev [16][2]int32
	for k := range prev {
		prev[k] = [2]int32{-1, -1}
	}
	var samples []rwPoint // of the series being read, reused
	var fc easyproto.FieldContext
	i := 0
	for src := raw; len(src) > 0; {
		var err error
		if src, err = fc.NextField(src); err != nil {
			return undo()
		}
		if fc.FieldNum != 1 { // metadata (3): the scan let nothing else through
			continue
		}
		series, ok := fc.MessageData()
		if !ok {
			return undo()
		}
		if i&stopEvery == stopEvery && stopped(d.done) {
			d.stopped = true
			return true
		}
		if d.ps.full() {
			d.ps.trunc = true
			return true
		}
		name, hasName, nameRef, j := "", false, -1, 0
		d.refs = d.refs[:0]
		samples = samples[:0]
		at := d.reserve(8)
		for series := series; len(series) > 0; {
			// A label or a sample shorter than 128 bytes (all of them,
			// in practice) is cut out here; other fields go through
			// easyproto.
			num, b := uint32(0), []byte(nil)
			if len(series) >= 2 && (series[0] == 1<<3|2 || series[0] == 2<<3|2) && series[1] < 0x80 && int(series[1])+2 <= len(series) {
				num, b, series = uint32(series[0]>>3), series[2:2+int(series[1])], series[2+int(series[1]):]
			} else {
				if series, err = fc.NextField(series); err != nil {
					return undo()
				}
				num = fc.FieldNum
				if num == 1 || num == 2 {
					var ok bool
					if b, ok = fc.MessageData(); !ok {
						return undo()
					}
				}
			}
			switch num {
			case 1: // labels
				k, v, ok := rwLabel(b)
				if !ok {
					return undo()
				}
				// The previous series' label at this position is usually
				// the same name, often the same value: one comparison
				// instead of a hash and a probe.
				var ks, vs rwSymbol
				if j < len(prev) {
					pk, pv := prev[j][0], prev[j][1]
					if pk >= 0 && in.syms[pk] == k {
						ks = rwSymbol{s: in.syms[pk], ref: pk}
					} else {
						ks = lookup(k)
					}
					if pv >= 0 && in.syms[pv] == v {
						vs = rwSymbol{s: in.syms[pv], ref: pv}
					} else {
						vs = lookup(v)
					}
					prev[j] = [2]int32{ks.ref, vs.ref}
				} else {
					ks, vs = lookup(k), lookup(v)
				}
				j++
				if ks.s == "__name__" {
					name, hasName, nameRef = vs.s, true, int(vs.ref)
					continue
				}
				if len(d.arena) == cap(d.arena) {
					// More labels than reserved: move this series' tags
					// to a chunk of their own.
					n := len(d.arena) - at
					grown := make([]Tag, n, max(2048, 2*n))
					copy(grown, d.arena[at:])
					d.arena, at = grown, 0
				}
				d.arena = append(d.arena, Tag{Key: ks.s, Value: vs.s})
				d.refs = append(d.refs, int(ks.ref), int(vs.ref))
			case 2: // samples
				p, ok := rwSample(b)
				if !ok {
					return undo()
				}
				samples = append(samples, p)
			}
		}
		if n := len(in.syms); n > len(d.sym) {
			d.sym = append(d.sym, make([]uint8, n-len(d.sym))...)
		}
		tags, ok := d.series(i, at, name, hasName, nameRef, 0)
		i++
		if !ok {
			continue
		}
		for _, p := range samples {
			d.sample(i-1, name, tags, p.v, p.ms)
		}
	}
	return true
}

// le64 reads the first 8 bytes of s, little-endian (one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// protoNumber reports whether n is a field number that protobuf allows
// (1 to 2^29-1). easyproto reads any; prompb refuses 0 (and numbers past
// 2^31), so a label or sample holding one goes to prompb's path.
func protoNumber(n uint32) bool { return n >= 1 && n <= 1<<29-1 }

// rwPoint is a sample of a remote write 1.0 series.
type rwPoint struct {
	v  float64
	ms int64
}

// rwLabel reads a prometheus.Label (name = 1, value = 2, strings); its
// strings point into b.
func rwLabel(b []byte) (name, value string, ok bool) {
	// The encoding every sender writes: name (field 1) then value (field
	// 2), each shorter than 128 bytes, read here without a call per field;
	// anything else is read field by field below, with the same result.
	if len(b) >= 4 && b[0] == 1<<3|2 {
		if n := int(b[1]); n < 0x80 && n+4 <= len(b) && b[n+2] == 2<<3|2 {
			if m := int(b[n+3]); m < 0x80 && n+4+m == len(b) {
				return unsafe.String(unsafe.SliceData(b[2:]), n), unsafe.String(unsafe.SliceData(b[n+4:]), m), true
			}
		}
	}
	var fc easyproto.FieldContext
	for len(b) > 0 {
		var err error
		if b, err = fc.NextField(b); err != nil || !protoNumber(fc.FieldNum) {
			return "", "", false
		}
		switch fc.FieldNum {
		case 1:
			if name, ok = fc.String(); !ok {
				return "", "", false
			}
		case 2:
			if value, ok = fc.String(); !ok {
				return "", "", false
			}
		}
	}
	return name, value, true
}

// rwSample reads a prometheus.Sample (value = 1, double; timestamp = 2,
// int64 ms).
func rwSample(b []byte) (p rwPoint, ok bool) {
	// The usual encoding: value (field 1, fixed64) then timestamp (field
	// 2, varint) and nothing else; anything else is read below.
	if len(b) >= 11 && b[0] == 1<<3|1 && b[9] == 2<<3|0 {
		if ms, n := protowire.ConsumeVarint(b[10:]); n == len(b)-10 {
			return rwPoint{v: math.Float64frombits(binary.LittleEndian.Uint64(b[1:9])), ms: int64(ms)}, true
		}
	}
	var fc easyproto.FieldContext
	for len(b) > 0 {
		var err error
		if b, err = fc.NextField(b); err != nil || !protoNumber(fc.FieldNum) {
			return p, false
		}
		switch fc.FieldNum {
		case 1:
			if p.v, ok = fc.Double(); !ok {
				return p, false
			}
		case 2:
			if p.ms, ok = fc.Int64(); !ok {
				return p, false
			}
		}
	}
	return p, true
}

// rwSymbols gives each distinct string of one request a copy of its own,
// so that nothing decoded keeps the request's body alive, and a symbol
// under which symbolBad remembers its checks. Its map is keyed by the
// copies. It holds at most maxInterned strings, so that a request of
// unique strings costs a copy each and no more (their symbol is -1: they
// are checked each time they are met).
type rwSymbols struct {
	index map[string]int32 // keyed by the copies
	syms  []string         // by symbol: the copies
}

// rwSymbol is a string of the request copied out of the body, and its
// symbol (-1: none).
type rwSymbol struct {
	s   string
	ref int32
}

func (in *rwSymbols) intern(s string) rwSymbol {
	if r, ok := in.index[s]; ok {
		return rwSymbol{s: in.syms[r], ref: r} // never s: it points into the body
	}
	c := strings.Clone(s)
	if len(in.syms) >= maxInterned {
		return rwSymbol{s: c, ref: -1}
	}
	r := int32(len(in.syms))
	in.index[c] = r
	in.syms = append(in.syms, c)
	return rwSymbol{s: c, ref: r}
}

// v1 decodes a prometheus.WriteRequest one series at a time: protowire
// finds each timeseries field (1) of the request, and prompb's generated
// TimeSeries.Unmarshal decodes it into one TimeSeries reused for every
// series, so that its label and sample slices are allocated once per
// request, not grown once per series (17 allocations per series of six
// labels became 12: the label strings). Metadata (field 3) is skipped.
func (d *rwDecoder) v1(raw []byte, total int) {
	d.out = make([]Sample, 0, total)
	var ts prompb.TimeSeries
	i, unknown, done := 0, false, false
	err := eachField(raw, func(num protowire.Number, typ protowire.Type, v []byte) {
		switch {
		case done:
			return
		case num == 3: // metadata
			return
		case num != 1 || typ != protowire.BytesType:
			unknown = true
			return
		}
		if i&stopEvery == stopEvery && stopped(d.done) {
			d.stopped, done = true, true
			return
		}
		if d.ps.full() {
			d.ps.trunc, done = true, true
			return
		}
		ts.Labels, ts.Samples, ts.Exemplars, ts.Histograms, ts.XXX_unrecognized = ts.Labels[:0], ts.Samples[:0], ts.Exemplars[:0], ts.Histograms[:0], ts.XXX_unrecognized[:0]
		if err := ts.Unmarshal(v); err != nil {
			d.ps.add(Problem{Index: i, Message: fmt.Sprintf("series %d is not a valid prometheus.TimeSeries protobuf: %v", i, err)})
			i++
			return
		}
		d.v1Series(i, &ts)
		i++
	})
	switch {
	case err != nil && !done:
		d.ps.add(Problem{Index: -1, Message: fmt.Sprintf("the body is not a valid prometheus.WriteRequest protobuf after %d series: %v", i, err)})
	case i == 0 && unknown:
		d.ps.add(wrongMessage(RemoteWriteV1))
	}
}

func (d *rwDecoder) v1Series(i int, ts *prompb.TimeSeries) {
	name, hasName := "", false
	d.refs = d.refs[:0]
	at := d.reserve(len(ts.Labels))
	for _, l := range ts.Labels {
		if l.Name == "__name__" {
			name, hasName = l.Value, true
			continue
		}
		d.arena = append(d.arena, Tag{Key: l.Name, Value: l.Value})
		d.refs = append(d.refs, -1, -1)
	}
	tags, ok := d.series(i, at, name, hasName, -1, len(ts.Histograms))
	if !ok {
		return
	}
	for _, s := range ts.Samples {
		d.sample(i, name, tags, s.Value, s.Timestamp)
	}
}

func (d *rwDecoder) v2(req *writev2.Request) {
	syms := req.Symbols
	if len(syms) > 0 && syms[0] != "" {
		d.ps.add(Problem{Index: -1, Message: fmt.Sprintf("symbols[0] is %q; remote write 2.0 requires the empty string there", syms[0])})
		return
	}
	total := 0
	for _, ts := range req.Timeseries {
		if ts != nil {
			total += len(ts.Samples)
		}
	}
	if d.ck.tooMany(total) {
		d.tooMany = true
		return
	}
	d.out = make([]Sample, 0, total)
	d.sym = make([]uint8, len(syms))
	for i, ts := range req.Timeseries {
		if i&stopEvery == stopEvery && stopped(d.done) {
			d.stopped = true
			return
		}
		if d.ps.full() {
			d.ps.trunc = true
			return
		}
		if ts == nil {
			continue
		}
		refs := ts.LabelsRefs
		if len(refs)%2 != 0 {
			d.ps.add(Problem{Index: i, Message: fmt.Sprintf("series %d: labels_refs has %d entries; it must hold name/value pairs", i, len(refs))})
			continue
		}
		name, hasName, nameRef, bad := "", false, -1, false
		d.refs = d.refs[:0]
		at := d.reserve(len(refs) / 2)
		for j := 0; j < len(refs); j += 2 {
			k, v := refs[j], refs[j+1]
			if int(k) >= len(syms) || int(v) >= len(syms) {
				d.ps.add(Problem{Index: i, Message: fmt.Sprintf("series %d: labels_refs[%d:%d] = %d, %d refers past the %d symbols", i, j, j+2, k, v, len(syms))})
				bad = true
				break
			}
			if syms[k] == "__name__" {
				name, hasName, nameRef = syms[v], true, int(v)
				continue
			}
			d.arena = append(d.arena, Tag{Key: syms[k], Value: syms[v]})
			d.refs = append(d.refs, int(k), int(v))
		}
		if bad {
			d.arena = d.arena[:at]
			continue
		}
		tags, ok := d.series(i, at, name, hasName, nameRef, len(ts.Histograms))
		if !ok {
			continue
		}
		for _, s := range ts.Samples {
			if s != nil {
				d.sample(i, name, tags, s.Value, s.Timestamp)
			}
		}
	}
}

// series checks the name and the labels of series i, which its caller put
// in d.arena[at:], and returns the tags its samples share (nil when there
// are none), or false after reporting a problem. For 2.0, d.refs holds the
// symbol of each key and value, and nameRef that of the name, so that a
// symbol used by many series is checked once; for 1.0 they are -1.
//
// The tags are filtered, checked and sorted where they lie: each is written
// to the heap once (with GC running, every store of a string is a write
// barrier, which made a scratch slice and a copy cost a fifth of the
// decode). The samples of one series share the result (a Sample owns none
// of its memory exclusively); it is cut with a three-index slice so that no
// append reaches the next series' tags.
func (d *rwDecoder) series(i, at int, name string, hasName bool, nameRef int, histograms int) ([]Tag, bool) {
	bad := func(msg string) ([]Tag, bool) {
		d.ps.add(Problem{Index: i, Message: msg})
		d.arena = d.arena[:at]
		return nil, false
	}
	all := d.arena[at:]
	if !hasName {
		return bad(fmt.Sprintf("series %d has no __name__ label (labels %s)", i, tagList(all)))
	}
	if d.symbolBad(nameRef, symName, func() bool { return d.ck.metricName("metric name", name) != "" }) {
		return bad(fmt.Sprintf("series %d: %s", i, d.ck.metricName("metric name", name)))
	}
	if histograms > 0 {
		return bad(fmt.Sprintf("series %d (%s): native histograms are not supported; send classic histograms (NAME_bucket with le), or drop them with write_relabel_configs", i, name))
	}
	// Drop empty values (Prometheus reads them as absent), check names and
	// values, and write le and quantile as the text decoder does.
	bucket := strings.HasSuffix(name, "_bucket")
	w := 0
	for j := range all {
		t := &all[j]
		if t.Value == "" {
			continue
		}
		if d.symbolBad(d.refs[2*j], symKey, func() bool { return d.ck.tagKey(t.Key) != "" }) {
			return bad(fmt.Sprintf("series %d (%s): %s", i, name, labelWords(d.ck.tagKey(t.Key))))
		}
		if d.symbolBad(d.refs[2*j+1], symValue, func() bool { return d.ck.tagValue(t.Key, t.Value) != "" }) {
			return bad(fmt.Sprintf("series %d (%s): %s", i, name, labelWords(d.ck.tagValue(t.Key, t.Value))))
		}
		if t.Key == "quantile" || (bucket && t.Key == "le") {
			if v := normalBound(t.Value); v != t.Value {
				t.Value = v
			}
		}
		if w != j {
			all[w] = *t
		}
		w++
	}
	tags := all[:w]
	if len(tags) > d.ck.lim.MaxTags {
		return bad(fmt.Sprintf("series %d (%s): %d labels, more than the limit of %d", i, name, len(tags), d.ck.lim.MaxTags))
	}
	// Senders sort a series' labels by name (the remote-write spec says
	// they must): one pass finds them in order and without duplicates, and
	// only other series are sorted and searched for a repeated name.
	sorted := true
	for j := 1; j < len(tags); j++ {
		if tags[j-1].Key >= tags[j].Key {
			sorted = false
			break
		}
	}
	if !sorted {
		sortTags(tags)
		for j := 1; j < len(tags); j++ {
			if tags[j-1].Key == tags[j].Key {
				return bad(fmt.Sprintf("series %d (%s): label %q is given twice", i, name, tags[j].Key))
			}
		}
	}
	d.arena = d.arena[:at+w]
	if w == 0 {
		return nil, true
	}
	return d.arena[at : at+w : at+w], true
}

// reserve makes room in d.arena for the n tags of the next series, in one
// piece, and returns where they start.
func (d *rwDecoder) reserve(n int) int {
	if len(d.arena)+n > cap(d.arena) {
		d.arena = make([]Tag, 0, max(2048, n))
	}
	return len(d.arena)
}

// What a symbol has been checked as, and found wrong as (bit << 1).
const (
	symName  uint8 = 1 << 0
	symKey   uint8 = 1 << 2
	symValue uint8 = 1 << 4
)

// symbolBad runs the check of symbol ref as what (a name, a label name or
// a label value) once per request and remembers the answer; ref < 0 (1.0,
// no symbols) checks every time.
func (d *rwDecoder) symbolBad(ref int, what uint8, check func() bool) bool {
	if ref < 0 {
		return check()
	}
	st := d.sym[ref]
	if st&what == 0 {
		st |= what
		if check() {
			st |= what << 1
		}
		d.sym[ref] = st
	}
	return st&(what<<1) != 0
}

func (d *rwDecoder) sample(i int, name string, tags []Tag, v float64, ms int64) {
	if math.IsNaN(v) {
		d.noValue++
		return
	}
	t := time.UnixMilli(ms)
	msg := d.ck.value(v)
	if msg == "" && (ms < d.msLo || ms > d.msHi) {
		msg = d.ck.time(t)
	}
	if msg != "" {
		d.ps.add(Problem{Index: i, Message: fmt.Sprintf("series %d (%s), sample at %d ms: %s", i, name, ms, msg)})
		return
	}
	d.out = append(d.out, Sample{Metric: name, Field: DefaultField, Tags: tags, Value: v, Time: t})
}

// labelWords says in Prometheus's words what the checker says of tags.
func labelWords(msg string) string {
	if strings.Contains(msg, "tag key") {
		return strings.Replace(msg, "tag key", "label name", 1)
	}
	return strings.Replace(msg, "tag", "label", 1)
}

// normalBound writes a bucket bound or quantile as formatBound does, or
// returns s unchanged when it is not a number.
func normalBound(s string) string {
	switch s {
	case "+Inf", "-Inf":
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return formatBound(f)
}

// tagList writes tags as {k="v",…} for a message, cut short when long.
func tagList(ts []Tag) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		if b.Len() > 200 {
			b.WriteString("…")
			break
		}
		fmt.Fprintf(&b, "%s=%q", t.Key, t.Value)
	}
	b.WriteByte('}')
	return b.String()
}
