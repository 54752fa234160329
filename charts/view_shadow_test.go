package charts

import (
	"fmt"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// The shadow dictionary (names): kept only by a chart's view with
// filtered views, bounded by shadowPerLimit × the limit, a key for each
// name in it and none past it, and forgotten with the names' window.
func TestShadowDictionaryBounded(t *testing.T) {
	t.Parallel()
	def := Chart{ID: "c", Type: Stacked, Metric: "m", Field: "value", X: "host", Series: "status", Window: Duration(30 * time.Second)}
	now := time.Unix(1_700_000_000, 0)
	add := func(v *View, host string) cell {
		s := ingest.Sample{Metric: "m", Field: "value", Value: 1, Time: now,
			Tags: []ingest.Tag{{Key: "host", Value: host}, {Key: "status", Value: "ok"}}}
		a, key, _ := v.add(&s, now)
		if a == nil {
			t.Fatalf("%s: not added", host)
		}
		return key
	}
	limits := Limits{MaxCategories: 4}
	most := shadowPerLimit * 4

	plain := NewView(def, limits)
	for i := range 1000 {
		add(plain, fmt.Sprint("h", i))
	}
	if plain.categories.shadow != nil {
		t.Errorf("a view without filtered views keeps %d shadow names", len(plain.categories.shadow))
	}

	v := NewView(def, limits)
	v.fsets = []*keySet{{keys: []string{"tenant"}}}
	keys := map[cell]string{}
	for i := range 1000 {
		host := fmt.Sprint("h", i)
		key := add(v, host)
		switch {
		case i < 4 && key.category&shadowBit != 0:
			t.Errorf("%s (kept by the chart) has shadow key %x", host, key.category)
		case i >= 4 && i < 4+most && key.category&shadowBit == 0:
			t.Errorf("%s (folded, the dictionary has room) has key %x", host, key.category)
		case i >= 4+most && key.category != noKey:
			t.Errorf("%s (the dictionary is full) has key %x", host, key.category)
		}
		if key.category != noKey {
			if other, dup := keys[key]; dup {
				t.Errorf("%s and %s have the same key %v", host, other, key)
			}
			keys[key] = host
		}
		if again := add(v, host); again != key {
			t.Errorf("%s: key %v, then %v", host, key, again)
		}
	}
	if n := len(v.categories.shadow); n != most {
		t.Errorf("%d shadow names, want the bound %d", n, most)
	}
	gen := v.gen
	now = now.Add(time.Minute)
	v.Frame(now)
	if n := len(v.categories.shadow); n != 0 || v.gen == gen {
		t.Errorf("a minute on: %d shadow names left, gen %d → %d", n, gen, v.gen)
	}
}
