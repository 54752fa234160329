package ingest

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// pdata decodes every attribute into objects of their own (a KeyValue, an
// AnyValue and the value's box), about 200 bytes for an empty attribute of
// 2 bytes on the wire: a 10 MiB body of empty attributes would take over a
// gigabyte. otlpCost bounds that before pdata runs, from one pass over the
// body that decodes no value: protobuf by its tags and lengths (the OTLP
// schema's message fields only), JSON by its objects.
//
// The costs are measured with pdata v1.71: 490 KB for 1,000 points of 3
// short attributes (about 150 bytes a point, 110 an attribute with its
// strings), 210 bytes for an empty attribute; a limit of 16 times the body
// lets such typical bodies through at about 6 times their size.
const (
	otlpObjectCost = 128 // per message: attribute (its value included), point, exemplar, metric, …
	otlpFixedCost  = 2   // per byte of packed fixed64 or double (8 bytes on the wire, 16 in a grown slice)
	otlpVarintCost = 16  // per byte of packed varints (at least one byte a number)
	otlpJSONCost   = 96  // per JSON object ({): an attribute is two of them
	// otlpCostFactor times MaxBodyBytes is the most a request may take.
	otlpCostFactor = 16
)

// checkOTLPCost refuses (TooLarge) a body whose decoding would take more
// than otlpCostFactor times Limits.MaxBodyBytes of memory.
func checkOTLPCost(body []byte, enc OTLPEncoding, lim Limits) error {
	var cost int64
	if enc == OTLPJSON {
		cost = int64(bytes.Count(body, []byte("{"))) * otlpJSONCost
	} else {
		cost = protoCost(body, otlpRequestSchema())
	}
	if max := otlpCostFactor * lim.MaxBodyBytes; cost > max {
		return &DecodeError{Format: "otlp", TooLarge: true, Problems: []Problem{{Index: -1, Message: fmt.Sprintf(
			"the request would take about %d MB to decode (it holds that many attributes, points or buckets), more than %d times the body limit of %d bytes; split it into smaller requests",
			cost>>20, otlpCostFactor, lim.MaxBodyBytes)}}}
	}
	return nil
}

// protoMsg is the part of the OTLP schema the cost pass walks: what one
// message costs, for each field number that holds a message that
// message's schema, and the cost per byte of its packed number fields.
// Indexed by field number (OTLP's messages number theirs below
// protoMaxField; a field beyond costs nothing): the pass looks one up for
// every field of the body, where a map look-up was a third of its time.
type protoMsg struct {
	cost   int64
	sub    [protoMaxField]*protoMsg
	packed [protoMaxField]int64
}

const protoMaxField = 16

// otlpRequestSchema is ExportMetricsServiceRequest as far as the cost pass
// needs it (field numbers from opentelemetry-proto's metrics.proto and
// common.proto). Made per call (about 7 KB), and no package state.
func otlpRequestSchema() *protoMsg {
	m := func() *protoMsg {
		return &protoMsg{cost: otlpObjectCost}
	}
	anyValue, kvValue, kv, arr, kvlist := m(), m(), m(), m(), m()
	kvValue.cost = 0 // part of its attribute's cost
	anyValue.sub[5], anyValue.sub[6] = arr, kvlist
	kvValue.sub[5], kvValue.sub[6] = arr, kvlist
	arr.sub[1] = anyValue
	kvlist.sub[1] = kv
	kv.sub[2] = kvValue
	exemplar := m()
	exemplar.sub[7] = kv
	number := m()
	number.sub[7], number.sub[5] = kv, exemplar
	hist := m()
	hist.sub[9], hist.sub[8] = kv, exemplar
	hist.packed[6], hist.packed[7] = otlpFixedCost, otlpFixedCost
	buckets := m()
	buckets.packed[2] = otlpVarintCost
	exp := m()
	exp.sub[1], exp.sub[8], exp.sub[9], exp.sub[11] = kv, buckets, buckets, exemplar
	quantile := m()
	summary := m()
	summary.sub[7], summary.sub[6] = kv, quantile
	points := func(p *protoMsg) *protoMsg { x := m(); x.sub[1] = p; return x }
	metric := m()
	metric.sub[5], metric.sub[7], metric.sub[9], metric.sub[10], metric.sub[11], metric.sub[12] =
		points(number), points(number), points(hist), points(exp), points(summary), kv
	scope := m()
	scope.sub[3] = kv
	scopeMetrics := m()
	scopeMetrics.sub[1], scopeMetrics.sub[2] = scope, metric
	resource := m()
	resource.sub[1] = kv
	resourceMetrics := m()
	resourceMetrics.sub[1], resourceMetrics.sub[2] = resource, scopeMetrics
	req := m()
	req.sub[1] = resourceMetrics
	return req
}

// protoCost adds up the cost of every message found in b (of schema) and
// of its packed numbers. It stops where the wire format
// breaks: pdata then refuses the body with its own message.
func protoCost(b []byte, schema *protoMsg) int64 {
	var cost int64
	protoWalk(b, schema, 0, &cost)
	return cost
}

func protoWalk(b []byte, s *protoMsg, depth int, cost *int64) {
	for len(b) > 0 {
		var num protowire.Number
		var v []byte
		if len(b) >= 2 && b[0]&7 == 2 && b[0] >= 8 && b[0] < 0x80 && b[1] < 0x80 {
			// A message or string of field 1 to 15 shorter than 128 bytes
			// (most of an OTLP body: attributes, their keys and values,
			// points), read without protowire's general path.
			l := int(b[1])
			if l > len(b)-2 {
				return
			}
			num, v, b = protowire.Number(b[0]>>3), b[2:2+l], b[2+l:]
		} else {
			var typ protowire.Type
			var n int
			num, typ, n = protowire.ConsumeTag(b)
			if n < 0 {
				return
			}
			b = b[n:]
			if typ != protowire.BytesType {
				if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
					return
				}
				b = b[n:]
				continue
			}
			v, n = protowire.ConsumeBytes(b)
			if n < 0 {
				return
			}
			b = b[n:]
		}
		if num >= protoMaxField {
			continue
		}
		if per := s.packed[num]; per != 0 {
			*cost += int64(len(v)) * per
		} else if sub := s.sub[num]; sub != nil {
			*cost += sub.cost
			if depth < 256 { // deeper, pdata refuses (100 nested AnyValues at most)
				protoWalk(v, sub, depth+1, cost)
			}
		}
	}
}
