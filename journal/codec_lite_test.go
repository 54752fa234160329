package journal

import (
	"math"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// FuzzDecodeLite: the lite decoding of a table's warm-up accepts exactly
// what the full one accepts, with the same times, values and running
// totals, so that a warm-up skips the messages every reader skips.
func FuzzDecodeLite(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0})
	f.Add(EncodeBatch([]ingest.Sample{{Metric: "m", Field: "value", Tags: []ingest.Tag{{Key: "a", Value: "b"}}, Value: 1, Time: time.Unix(1, 2),
		Running: &ingest.Running{Series: 9, Start: time.Unix(1, 0), Head: true}}, {Metric: "n", Value: 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		full, errFull := decodeBatch(b, false)
		lite, errLite := decodeBatch(b, true)
		if (errFull == nil) != (errLite == nil) {
			t.Fatalf("full: %v, lite: %v", errFull, errLite)
		}
		if len(full) != len(lite) {
			t.Fatalf("%d samples, lite %d", len(full), len(lite))
		}
		for i := range full {
			f, l := full[i], lite[i]
			if !f.Time.Equal(l.Time) || math.Float64bits(f.Value) != math.Float64bits(l.Value) || (f.Running == nil) != (l.Running == nil) ||
				(f.Running != nil && *f.Running != *l.Running) {
				t.Fatalf("sample %d: full %+v, lite %+v", i, f, l)
			}
		}
	})
}
