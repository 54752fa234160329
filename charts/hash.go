package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// stateDefinition is the part of a Chart that its View's state, and the
// bars drawn from it, depend on; Chart.Hash hashes it. Its JSON encoding
// is stable: fixed field order, map keys sorted, durations in ns. A field
// added to Chart stays out of the hash unless it is added here.
type stateDefinition struct {
	Metric    string            `json:"metric"`
	Field     string            `json:"field"`
	Where     map[string]string `json:"where"`
	X         string            `json:"x"`
	Bucket    int64             `json:"bucket"`
	Series    string            `json:"series"`
	Agg       Agg               `json:"agg"`
	Window    int64             `json:"window"`
	Top       int               `json:"top"`
	Sort      string            `json:"sort"`
	Histogram string            `json:"histogram"`
}

// Hash names what changes the state of the chart's View: two definitions
// with the same hash fold the same samples into the same state, on any
// node and in any version that keeps this encoding, so a checkpointed
// state may be restored under either. It covers metric, field, where, x,
// bucket, series, agg and window (what a sample is folded into), and top,
// sort and histogram (which act when a frame is built, but change which
// bars it holds). It leaves out the id (a checkpoint keys states by it),
// title, type, horizontal, unit, thresholds and anything else of layout
// or presentation: changing those keeps a chart's checkpointed state. The
// chart is normalized first, so a default spelled out or left out hashes
// alike. The hash is 32 hex digits (128 bits of SHA-256).
func (c Chart) Hash() string {
	c.Normalize()
	if len(c.Where) == 0 {
		c.Where = nil // none, however spelled
	}
	b, err := json.Marshal(stateDefinition{
		Metric: c.Metric, Field: c.Field, Where: c.Where, X: c.X, Bucket: int64(c.Bucket),
		Series: c.Series, Agg: c.Agg, Window: int64(c.Window), Top: c.Top, Sort: c.Sort, Histogram: c.Histogram,
	})
	if err != nil {
		panic(fmt.Sprintf("charts: a chart definition does not encode: %v", err)) // only plain data types
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
