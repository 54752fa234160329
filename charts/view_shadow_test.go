package charts

import (
	"fmt"
	"runtime"
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
		t.Errorf("a view without filtered views keeps %d shadow names", len(plain.categories.shadow.ids))
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
	if n := len(v.categories.shadow.ids); n != most {
		t.Errorf("%d shadow names, want the bound %d", n, most)
	}
	gen := v.gen
	now = now.Add(time.Minute)
	v.Frame(now)
	if n := len(v.categories.shadow.ids); n != 0 || v.gen == gen {
		t.Errorf("a minute on: %d shadow names left, gen %d → %d", n, gen, v.gen)
	}
}

// A key of the chart's shadow dictionary is given again in the same slot
// of time: tenant T's host A, folded by the chart (key K), is admitted
// once the chart's other names leave the window, and T's host B, folded
// in turn, gets K. What T's view cached for A under K was learned before
// the chart forgot the names that made room: its gen tells it, the slot
// cannot (the same), and B's sample must not go into A's cell.
func TestShadowKeyGivenAgain(t *testing.T) {
	t.Parallel()
	def := Chart{ID: "c", Type: Stacked, Metric: "m", Field: "value", X: "host", Series: "status", Window: Duration(30 * time.Second)}
	limits := Limits{MaxCategories: 4}
	width := int64(30*time.Second) / windowSlots
	at := func(k int64) time.Time { return time.Unix(0, (1_000_000_000+k)*width) }
	main := NewView(def, limits)
	own := def
	own.Where = map[string]string{"tenant": "T"}
	fv, ref := NewView(own, limits), NewView(own, limits)
	fv.filter, fv.fval = own.Where, "T"
	main.fsets = []*keySet{{keys: []string{"tenant"}, views: map[string]*View{"T": fv}}}
	st := &boardState{}
	var now time.Time
	feed := func(tenant, host string, k int64, value float64) cell {
		s := ingest.Sample{Metric: "m", Field: "value", Value: value, Time: at(k),
			Tags: []ingest.Tag{{Key: "host", Value: host}, {Key: "status", Value: "ok"}, {Key: "tenant", Value: tenant}}}
		a, key, when := main.add(&s, now)
		if a == nil {
			t.Fatalf("%s: outside the window", host)
		}
		st.addFiltered(main, key, when, &s, now)
		if ref.Matches(&s) {
			ref.Add(&s, now)
		}
		return key
	}

	now = at(0)
	for _, h := range []string{"x1", "x2", "x3", "x4"} {
		feed("U", h, 0, 1) // the chart's 4 names
	}
	now = at(20)
	kA := feed("T", "A", 20, 10) // folded: a shadow key
	now = at(21)
	main.Frame(now) // the x hosts leave
	for _, h := range []string{"y1", "y2", "y3", "y4"} {
		feed("U", h, 1, 1) // late, but in the window: the chart is full again
	}
	if k := feed("T", "A", 20, 10); k != kA || k.category&shadowBit == 0 {
		t.Fatalf("A's key %v, then %v: want the same shadow key", kA, k)
	}
	now = at(22)
	main.Frame(now) // the y hosts leave: room for A
	if k := feed("T", "A", 20, 10); k.category&shadowBit != 0 {
		t.Fatalf("A's key %v: still a shadow key once the chart has room", k)
	}
	for _, h := range []string{"z1", "z2"} {
		feed("U", h, 20, 1) // the chart is full again: Other, A, z1, z2
	}
	if kB := feed("T", "B", 20, 1000); kB != kA {
		t.Fatalf("B's key %v, not A's old %v: the test no longer gives a key again", kB, kA)
	}
	if g, w := fmt.Sprint(fv.Frame(now).Series), fmt.Sprint(ref.Frame(now).Series); g != w {
		t.Errorf("T's filtered view shows %s, its own chart %s", g, w)
	}
}

// BenchmarkShadowDictionaryMemory is the heap the shadow dictionary
// holds per name: a chart (default limits) fed 5,000 hosts named as
// BenchmarkTenantIngest's (t0000-h0 …), with filtered views (4,500 of
// them in the dictionary) against without.
func BenchmarkShadowDictionaryMemory(b *testing.B) {
	def := Chart{ID: "c", Type: Stacked, Metric: "m", Field: "value", X: "host", Series: "status", Window: Duration(5 * time.Minute)}
	now := time.Now()
	samples := make([]ingest.Sample, 5000)
	for i := range samples {
		samples[i] = ingest.Sample{Metric: "m", Field: "value", Value: 1, Time: now,
			Tags: []ingest.Tag{{Key: "host", Value: fmt.Sprintf("t%04d-h%d", i%1000, i/1000)}, {Key: "status", Value: "ok"}}}
	}
	heap := func(withViews bool) (uint64, *View) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v := NewView(def, Limits{})
		if withViews {
			v.fsets = []*keySet{{keys: []string{"tenant"}}}
		}
		for i := range samples {
			v.add(&samples[i], now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		return after.HeapAlloc - before.HeapAlloc, v
	}
	for range b.N {
		without, v0 := heap(false)
		with, v1 := heap(true)
		if n := len(v1.categories.shadow.ids); n != 4500 {
			b.Fatalf("%d shadow names, want 4,500", n)
		}
		b.ReportMetric(float64(int64(with)-int64(without))/4500, "bytes/name")
		runtime.KeepAlive(v0)
		runtime.KeepAlive(v1)
	}
}
