package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the histogram's resolution: 2^subBits linear sub-buckets per
// power of two, so a recorded value is known to within 1/64 (1.6 %).
const subBits = 6

// numBuckets covers every uint64 value.
const numBuckets = (64 - subBits + 1) << subBits

// bucketOf maps v to its bucket. Values below 2^(subBits+1) have a bucket
// each; above, each power of two is cut into 2^subBits equal parts.
func bucketOf(v uint64) int {
	if v < 1<<(subBits+1) {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	mant := v >> shift
	return (shift+1)<<subBits + int(mant-1<<subBits)
}

// bucketBounds returns the smallest and largest value that fall in bucket i.
func bucketBounds(i int) (lo, hi uint64) {
	if i < 1<<(subBits+1) {
		return uint64(i), uint64(i)
	}
	shift := i>>subBits - 1
	mant := uint64(i&(1<<subBits-1)) + 1<<subBits
	lo = mant << shift
	return lo, lo + (1 << shift) - 1
}

// histogram counts latencies in microseconds. Record is safe from many
// goroutines; readers call snapshot once the writers are done, or accept a
// slightly torn view while they run.
type histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Uint64
	sum    atomic.Uint64
}

func (h *histogram) record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// latencies is a merged, read-only view of histograms.
type latencies struct {
	counts [numBuckets]uint64
	n      uint64
	max    uint64
	sum    uint64
}

// merge adds every histogram of hs into one view.
func merge(hs []*histogram) *latencies {
	l := &latencies{}
	for _, h := range hs {
		for i := range h.counts {
			l.counts[i] += h.counts[i].Load()
		}
		l.n += h.n.Load()
		l.sum += h.sum.Load()
		l.max = max(l.max, h.max.Load())
	}
	return l
}

// percentile returns the value at or below which a fraction q (0 < q ≤ 1)
// of the recorded values lie, as the upper bound of the bucket holding the
// value of that rank (the nearest-rank method), never above the maximum.
// With no values it returns 0.
func (l *latencies) percentile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(l.n)))
	rank = min(max(rank, 1), l.n)
	var seen uint64
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			return time.Duration(min(hi, l.max)) * time.Microsecond
		}
	}
	return time.Duration(l.max) * time.Microsecond
}

func (l *latencies) mean() time.Duration {
	if l.n == 0 {
		return 0
	}
	return time.Duration(l.sum/l.n) * time.Microsecond
}
