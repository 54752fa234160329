package ingest_test

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/dashd/dashd/ingest"
)

// The 1.0 reader takes the encoding senders write (label name then value,
// sample value then timestamp, lengths under 128) inline and every other
// one field by field: each such encoding must read as prompb reads it.
func TestRemoteWriteV1EncodingsReadAlike(t *testing.T) {
	t.Parallel()
	str := func(b []byte, num protowire.Number, s string) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, m)
	}
	label := func(k, v string) []byte { return str(str(nil, 1, k), 2, v) }
	fixed := func(b []byte, v float64) []byte {
		return protowire.AppendFixed64(protowire.AppendTag(b, 1, protowire.Fixed64Type), math.Float64bits(v))
	}
	varint := func(b []byte, v int64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), uint64(v))
	}
	sample := func(v float64, ms int64) []byte { return varint(fixed(nil, v), ms) }
	at := int64(ms)
	body := func(labels [][]byte, samples ...[]byte) []byte {
		var ts []byte
		for _, l := range labels {
			ts = msg(ts, 1, l)
		}
		for _, s := range samples {
			ts = msg(ts, 2, s)
		}
		return snappy.Encode(nil, msg(nil, 1, ts))
	}
	name := label("__name__", "up")
	long := strings.Repeat("x", 200)
	for _, c := range []struct {
		name string
		body []byte
		tags []ingest.Tag // nil: compare with prompb only
	}{
		{"usual", body([][]byte{name, label("job", "node")}, sample(1, at)), []ingest.Tag{{Key: "job", Value: "node"}}},
		{"value of 200 bytes", body([][]byte{name, label("job", long)}, sample(1, at)), []ingest.Tag{{Key: "job", Value: long}}},
		{"name of 200 bytes", body([][]byte{name, label("l"+long, "v")}, sample(1, at)), nil},
		{"value before name", body([][]byte{name, str(str(nil, 2, "node"), 1, "job")}, sample(1, at)), []ingest.Tag{{Key: "job", Value: "node"}}},
		{"name given twice", body([][]byte{name, str(label("job", "node"), 1, "role")}, sample(1, at)), nil},
		{"label without value", body([][]byte{name, str(nil, 1, "job")}, sample(1, at)), []ingest.Tag{}},
		{"timestamp before value", body([][]byte{name}, fixed(varint(nil, at), 1)), []ingest.Tag{}},
		{"value given twice", body([][]byte{name}, fixed(sample(1, at), 2)), nil},
		{"sample without timestamp", body([][]byte{name}, fixed(nil, 1)), nil},
		{"timestamp of 10 bytes", body([][]byte{name}, sample(1, -1)), nil},
		{"label with a field 0", body([][]byte{name, append(label("job", "node"), 0x00, 0x00)}, sample(1, at)), nil},
		{"sample with a varint field 3", body([][]byte{name}, protowire.AppendVarint(protowire.AppendTag(sample(1, at), 3, protowire.VarintType), 7)), nil},
		{"label cut short", body([][]byte{name, label("job", "node")[:5]}, sample(1, at)), nil},
		{"sample cut short", body([][]byte{name}, sample(1, at)[:10]), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opt := ingest.DecodeOptions{Now: now}
			got, gotNoValue, gotErr := ingest.DecodeRemoteWrite(c.body, ingest.RemoteWriteV1, opt)
			want, wantNoValue, wantErr := ingest.DecodeRemoteWriteWithPrompb(c.body, opt)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || gotNoValue != wantNoValue || !reflect.DeepEqual(got, want) {
				t.Fatalf("the decoders differ:\nfast   %+v %d %v\nprompb %+v %d %v", got, gotNoValue, gotErr, want, wantNoValue, wantErr)
			}
			if c.tags == nil {
				return
			}
			if gotErr != nil || len(got) != 1 || got[0].Metric != "up" || len(got[0].Tags) != len(c.tags) || (len(c.tags) > 0 && !reflect.DeepEqual(got[0].Tags, c.tags)) {
				t.Fatalf("got %+v, %v; want one sample of up with tags %v", got, gotErr, c.tags)
			}
		})
	}
}

// A sample's time is checked against the allowed range in whole ms before
// time.Time comparisons: at each edge of the range, with a clock between
// two ms and on one, it must be accepted or refused as the range says.
func TestRemoteWriteTimeRangeEdges(t *testing.T) {
	t.Parallel()
	for _, clock := range []time.Time{now, now.Add(500 * time.Microsecond), now.Add(-1)} {
		lim := ingest.Limits{MaxAge: time.Hour, MaxFuture: time.Minute}
		oldest, newest := clock.Add(-lim.MaxAge), clock.Add(lim.MaxFuture)
		for _, edge := range []time.Time{oldest, newest} {
			for _, ms := range []int64{edge.UnixMilli() - 1, edge.UnixMilli(), edge.UnixMilli() + 1} {
				at := time.UnixMilli(ms)
				want := !at.Before(oldest) && !at.After(newest)
				body := rwV1(t, rwSeries([]string{"__name__", "up"}, 1, float64(ms)))
				got, _, err := ingest.DecodeRemoteWrite(body, ingest.RemoteWriteV1, ingest.DecodeOptions{Now: clock, Limits: lim})
				if (err == nil) != want || (want && len(got) != 1) {
					t.Errorf("clock %s, sample at %s (range %s to %s): got %d samples, %v; want accepted %v", clock.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), oldest.Format(time.RFC3339Nano), newest.Format(time.RFC3339Nano), len(got), err, want)
				}
			}
		}
	}
}
