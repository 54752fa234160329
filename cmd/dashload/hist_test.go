package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketsCoverAndOrder(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<40 + 12345, 1<<63 + 1, ^uint64(0)} {
		i := bucketOf(v)
		if i < prev || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d (previous %d, %d buckets)", v, i, prev, numBuckets)
		}
		lo, hi := bucketBounds(i)
		if v < lo || v > hi {
			t.Fatalf("bucketOf(%d) = %d, whose bounds are [%d, %d]", v, i, lo, hi)
		}
		if hi-lo > hi/64 {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/64 of its values", i, lo, hi)
		}
		prev = i
	}
}

func TestPercentiles(t *testing.T) {
	tests := map[string]struct {
		values []time.Duration
		want   map[float64]time.Duration
	}{
		"empty": {values: nil, want: map[float64]time.Duration{0.5: 0, 0.99: 0}},
		"one value": {
			values: []time.Duration{3 * time.Millisecond},
			want:   map[float64]time.Duration{0.5: 3 * time.Millisecond, 0.99: 3 * time.Millisecond, 1: 3 * time.Millisecond},
		},
		"small values are exact": {
			values: []time.Duration{10 * time.Microsecond, 20 * time.Microsecond, 30 * time.Microsecond, 40 * time.Microsecond},
			want:   map[float64]time.Duration{0.25: 10 * time.Microsecond, 0.5: 20 * time.Microsecond, 0.75: 30 * time.Microsecond, 0.99: 40 * time.Microsecond},
		},
		"1..10000 µs": {
			values: func() []time.Duration {
				var v []time.Duration
				for i := 1; i <= 10000; i++ {
					v = append(v, time.Duration(i)*time.Microsecond)
				}
				rand.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
				return v
			}(),
			want: map[float64]time.Duration{0.5: 5000 * time.Microsecond, 0.9: 9000 * time.Microsecond, 0.99: 9900 * time.Microsecond, 1: 10000 * time.Microsecond},
		},
		"tail outlier": {
			values: append(make([]time.Duration, 99), 2*time.Second), // 99 zeros, one 2 s
			want:   map[float64]time.Duration{0.5: 0, 0.99: 0, 0.995: 2 * time.Second, 1: 2 * time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var h histogram
			for _, v := range tc.values {
				h.record(v)
			}
			l := merge([]*histogram{&h})
			for q, want := range tc.want {
				got := l.percentile(q)
				// The nearest rank, reported as its bucket's upper bound:
				// never below the exact value, at most 1/64 above it.
				if got < want || got > want+want/64 {
					t.Errorf("percentile(%v) = %v, want %v (+1/64 at most)", q, got, want)
				}
			}
		})
	}
}

func TestMergeAddsShards(t *testing.T) {
	var a, b histogram
	for i := 0; i < 90; i++ {
		a.record(time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		b.record(100 * time.Millisecond)
	}
	l := merge([]*histogram{&a, &b})
	if l.n != 100 || l.max != 100_000 {
		t.Fatalf("merged n=%d max=%dµs, want 100 and 100000", l.n, l.max)
	}
	if p := l.percentile(0.9); p > time.Millisecond+time.Millisecond/64 {
		t.Errorf("p90 = %v, want about 1ms", p)
	}
	if p := l.percentile(0.91); p < 100*time.Millisecond {
		t.Errorf("p91 = %v, want about 100ms", p)
	}
	if m := l.mean(); m != 10900*time.Microsecond {
		t.Errorf("mean = %v, want 10.9ms", m)
	}
}
