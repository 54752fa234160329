package ingest

import (
	"fmt"
	"unsafe"

	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"
)

// rwMemoryFactor bounds the Go values the protobuf libraries may build for
// one remote-write request: about rwMemoryFactor × Limits.MaxBodyBytes. A
// Prometheus-like request passes with MaxBodyBytes set to its own
// decompressed size (TestRemoteWriteMemoryIsBounded); a crafted one of
// empty labels allocated 337 times its size (3.3 GB for a 512 KB body)
// before this bound.
const rwMemoryFactor = 16

// rwScan is what one pass over the wire format finds before a library
// decodes the message: the samples, the labels of each series and an
// estimate of the memory decoding will take. It reads tags and lengths
// only (google.golang.org/protobuf/encoding/protowire) and decodes no
// value; the libraries do that. It exists for the same reason as promScan:
// the libraries decode the whole message before any limit can be checked,
// and their Go values (a prompb.Label is 64 bytes) can be many times the
// bytes that encode them.
type rwScan struct {
	lim     *Limits
	samples int
	memory  int64 // bytes, estimated
	series  int
	problem *Problem
	// odd is set by a 1.0 request that the zero-copy decoder might read
	// differently from prompb: a top-level field other than timeseries and
	// metadata, a series with exemplars or native histograms (prompb checks
	// them; dashd refuses the latter), or without samples. Such a request
	// takes prompb's path, which says where it is wrong. (Labels and
	// samples are not walked here: v1Fast gives up on what prompb would
	// refuse in them.)
	odd bool
}

// scanRemoteWrite counts the samples of a request and returns a problem
// for one the decoder must refuse before a library decodes it, and whether
// it is too large (413). A body that is not valid protobuf passes: the
// decoder says what is wrong.
//
// plain is true for a 1.0 request that rwDecoder.v1Fast reads exactly as
// prompb would (see rwScan.odd).
func scanRemoteWrite(raw []byte, msg RemoteWriteMessage, lim *Limits) (samples int, plain bool, p *Problem, tooLarge bool) {
	s := rwScan{lim: lim}
	var err error
	if msg == RemoteWriteV2 {
		err = eachField(raw, s.v2Request)
	} else {
		err = eachField(raw, s.v1Request)
	}
	switch {
	case err != nil:
		return 0, false, nil, false
	case s.problem != nil:
		return 0, false, s.problem, false
	case lim.MaxSamples > 0 && s.samples > lim.MaxSamples:
		return 0, false, &Problem{Index: lim.MaxSamples, Message: fmt.Sprintf("more than %d samples in one request; split it into smaller requests", lim.MaxSamples)}, true
	case s.memory > rwMemoryFactor*lim.MaxBodyBytes:
		return 0, false, &Problem{Index: -1, Message: fmt.Sprintf("decoding the request would take about %d MB, more than %d times the body limit of %d bytes: it holds many empty or tiny elements; send smaller batches", s.memory>>20, rwMemoryFactor, lim.MaxBodyBytes)}, true
	}
	return s.samples, msg == RemoteWriteV1 && !s.odd, nil, false
}

// eachField calls f for each field of the message in b, with the payload
// of length-delimited ones; it stops at the first field that is not valid
// protobuf and returns protowire's error for it.
func eachField(b []byte, f func(protowire.Number, protowire.Type, []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		f(num, typ, v)
		b = b[n:]
	}
	return nil
}

// nested is the estimate for a message that is not walked (exemplars,
// histograms, metadata): its struct, and up to 32 bytes of Go values per
// byte (a nested prompb.Label of two bytes is 64).
func nested(size uintptr, v []byte) int64 { return 2*int64(size) + 32*int64(len(v)) }

// The sizes of the generated types; slices of them grow by doubling, so
// each element is counted twice.

const (
	v1SeriesSize = int64(unsafe.Sizeof(prompb.TimeSeries{}))
	v1LabelSize  = int64(unsafe.Sizeof(prompb.Label{}))
	v1SampleSize = int64(unsafe.Sizeof(prompb.Sample{}))
	v2SeriesSize = int64(unsafe.Sizeof(writev2.TimeSeries{})) + 16
	v2SampleSize = int64(unsafe.Sizeof(writev2.Sample{})) + 16
)

func (s *rwScan) v1Request(num protowire.Number, typ protowire.Type, v []byte) {
	switch {
	case num == 1 && typ == protowire.BytesType: // timeseries
		s.memory += 2 * v1SeriesSize
		labels, before := 0, s.samples
		// Written out rather than with eachField: this loop runs for every
		// label and sample, where a callback cost a tenth of the decode.
		for b := v; len(b) > 0; {
			var num protowire.Number
			var typ protowire.Type
			var p []byte
			if len(b) >= 2 && (b[0] == 0x0a || b[0] == 0x12) && b[1] < 0x80 && int(b[1]) <= len(b)-2 {
				// labels (1) and samples (2) shorter than 128 bytes: the usual
				num, typ, p, b = protowire.Number(b[0]>>3), protowire.BytesType, b[2:2+b[1]], b[2+b[1]:]
			} else {
				var n int
				num, typ, n = protowire.ConsumeTag(b)
				if n < 0 {
					s.odd = true
					break
				}
				b = b[n:]
				if typ == protowire.BytesType {
					p, n = protowire.ConsumeBytes(b)
				} else {
					n = protowire.ConsumeFieldValue(num, typ, b)
				}
				if n < 0 {
					s.odd = true
					break
				}
				b = b[n:]
			}
			switch num {
			case 1: // labels
				labels++
				s.memory += 2*v1LabelSize + int64(len(p))
			case 2: // samples
				s.samples++
				s.memory += 2 * v1SampleSize
			case 3: // exemplars: prompb checks them, easyproto would skip them
				s.memory += nested(unsafe.Sizeof(prompb.Exemplar{}), p)
				s.odd = true
			case 4: // histograms
				s.memory += nested(unsafe.Sizeof(prompb.Histogram{}), p)
				s.odd = true
			}
		}
		if s.samples == before {
			s.odd = true
		}
		s.labels(labels)
	case num == 3: // metadata
		s.memory += nested(unsafe.Sizeof(prompb.MetricMetadata{}), v)
	default:
		s.odd = true
	}
}

func (s *rwScan) v2Request(num protowire.Number, typ protowire.Type, v []byte) {
	switch {
	case num == 4: // symbols: a string header in a slice that grows by a quarter when large
		s.memory += 3*16 + int64(len(v))
	case num == 5 && typ == protowire.BytesType: // timeseries
		s.memory += v2SeriesSize
		refs := 0
		eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) {
			switch num {
			case 1: // labels_refs, packed (one varint ends at each byte < 0x80) or not
				if typ != protowire.BytesType {
					refs++
					s.memory += 2 * 4
					break
				}
				for _, c := range v {
					if c < 0x80 {
						refs++
					}
				}
				s.memory += 4 * int64(len(v))
			case 2: // samples
				s.samples++
				s.memory += v2SampleSize
			case 3: // histograms
				s.memory += 16 + nested(unsafe.Sizeof(writev2.Histogram{}), v)
			case 4: // exemplars
				s.memory += 16 + nested(unsafe.Sizeof(writev2.Exemplar{}), v)
			case 5: // metadata
				s.memory += nested(unsafe.Sizeof(writev2.Metadata{}), v)
			}
		})
		s.labels(refs / 2)
	}
}

// labels checks the label count of the series just scanned: at most
// MaxTags besides __name__, empty values counted (as promScan counts them).
func (s *rwScan) labels(n int) {
	i := s.series
	s.series++
	if s.problem == nil && n > s.lim.MaxTags+1 {
		s.problem = &Problem{Index: i, Message: fmt.Sprintf("series %d has %d labels (__name__ included), more than the limit of %d besides __name__", i, n, s.lim.MaxTags)}
	}
}
