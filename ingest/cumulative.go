package ingest

import (
	"math"
	"slices"
	"sync"
	"time"
)

// CumulativeConfig bounds a Cumulative table; zero fields take defaults.
type CumulativeConfig struct {
	// MaxSeries is how many series the table remembers (100,000); the one
	// idle longest is forgotten first.
	MaxSeries int
	// IdleTTL forgets a series not seen for this long (1h): its next point
	// is then a first point again.
	IdleTTL time.Duration
	// FreshStart is how recent a first point's start time must be for its
	// whole value to count as the increase since the start (5m): a sender
	// that began within it is new, and everything it counted is news. An
	// older start means the sender ran before dashd saw it: that point only
	// sets the baseline.
	FreshStart time.Duration
}

// Defaults of CumulativeConfig.
const (
	DefaultCumulativeSeries     = 100_000
	DefaultCumulativeIdleTTL    = time.Hour
	DefaultCumulativeFreshStart = 5 * time.Minute
)

// Cumulative turns the running totals of cumulative OTLP series into
// increases. It remembers, per series, the start time, the last total and
// its time. It is the only state an OTLP handler keeps across requests, in
// memory and per process: on a restart, or on another dashd node, a series
// starts again from a baseline. Safe for concurrent use (one mutex; the
// work under it is a map look-up per point).
type Cumulative struct {
	cfg CumulativeConfig

	mu     sync.Mutex
	series map[uint64]*cumEntry
	// LRU list: head.next is the most recently used, head.prev the least.
	head cumEntry
	gen  uint64
}

type cumEntry struct {
	key        uint64
	start      time.Time
	last       time.Time // the last point's time
	seen       time.Time // when it arrived, for IdleTTL
	value      float64
	gen        uint64 // which update wrote it, for Undo
	prev, next *cumEntry
}

// NewCumulative makes an empty table.
func NewCumulative(cfg CumulativeConfig) *Cumulative {
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = DefaultCumulativeSeries
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = DefaultCumulativeIdleTTL
	}
	if cfg.FreshStart <= 0 {
		cfg.FreshStart = DefaultCumulativeFreshStart
	}
	c := &Cumulative{cfg: cfg, series: make(map[uint64]*cumEntry)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// Len is the number of series remembered.
func (c *Cumulative) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.series)
}

// Undo puts back what one Increases call changed, for a request that is
// then refused: a retry of it counts the same increases again. A series
// updated since by another request is left as that request made it.
type Undo func()

// Increases appends to out one sample per point that has a known increase,
// and returns out and the Undo of the table's changes. now is the arrival
// time (the reference for FreshStart and IdleTTL). Per series, in order:
//
//   - a first point (or the first after IdleTTL) counts its whole total
//     when its start is set and within FreshStart before now, or when it
//     is Grouped after a Head that was already known (a bucket that was 0
//     until now); otherwise it only sets the baseline and gives no sample;
//   - a point no later than the last one seen is a repeat (a retried
//     request) or out of order: no sample;
//   - a start later than the remembered one (the sender restarted), or a
//     total lower than the last (a reset), counts the whole total;
//   - otherwise the increase is the total minus the last one.
func (c *Cumulative) Increases(points []CumulativePoint, now time.Time, out []Sample) ([]Sample, Undo) {
	type saved struct {
		e     *cumEntry
		was   cumEntry // its fields before, when existed
		gen   uint64
		fresh bool // the entry was added by this call
	}
	undo := make([]saved, 0, len(points))
	out = slices.Grow(out, len(points))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	gen := c.gen
	headKnown := false
	for i := range points {
		p := &points[i]
		t := p.Sample.Time
		e := c.series[p.Series]
		if e != nil && now.Sub(e.seen) > c.cfg.IdleTTL {
			c.remove(e)
			e = nil
		}
		known := e != nil && (p.Start.IsZero() || p.Start.Equal(e.start)) && e.last.Before(t)
		if p.Head {
			headKnown = known
		}
		inc, emit := 0.0, false
		switch {
		case e == nil:
			if (!p.Start.IsZero() && !p.Start.Before(now.Add(-c.cfg.FreshStart))) || (p.Grouped && headKnown) {
				inc, emit = p.Sample.Value, true
			}
		case !e.last.Before(t):
			continue // a repeat or out of order: the table keeps its newer total
		case !p.Start.IsZero() && !e.start.IsZero() && p.Start.After(e.start):
			inc, emit = p.Sample.Value, true // the sender restarted
		case p.Sample.Value < e.value:
			inc, emit = p.Sample.Value, true // a reset
		default:
			inc, emit = p.Sample.Value-e.value, true
			if math.IsInf(inc, 0) { // totals of opposite signs near the float limits
				inc = p.Sample.Value
			}
		}
		if e == nil {
			e = &cumEntry{key: p.Series}
			c.series[p.Series] = e
			c.pushFront(e)
			undo = append(undo, saved{e: e, gen: gen, fresh: true})
		} else {
			if e.gen != gen {
				undo = append(undo, saved{e: e, was: *e, gen: gen})
			}
			c.moveFront(e)
		}
		if !p.Start.IsZero() {
			e.start = p.Start
		}
		e.last, e.seen, e.value, e.gen = t, now, p.Sample.Value, gen
		c.evict(now)
		if emit {
			s := p.Sample
			s.Value = inc
			out = append(out, s)
		}
	}
	return out, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := len(undo) - 1; i >= 0; i-- {
			u := undo[i]
			cur, ok := c.series[u.e.key]
			if !ok || cur != u.e || cur.gen != u.gen {
				continue // evicted or changed since
			}
			if u.fresh {
				c.remove(cur)
				continue
			}
			cur.start, cur.last, cur.seen, cur.value, cur.gen = u.was.start, u.was.last, u.was.seen, u.was.value, u.was.gen
		}
	}
}

// evict keeps the table within MaxSeries, forgetting the least recently
// used series, and drops idle ones from the tail on the way.
func (c *Cumulative) evict(now time.Time) {
	for tail := c.head.prev; tail != &c.head; tail = c.head.prev {
		if len(c.series) <= c.cfg.MaxSeries && now.Sub(tail.seen) <= c.cfg.IdleTTL {
			return
		}
		c.remove(tail)
	}
}

func (c *Cumulative) remove(e *cumEntry) {
	delete(c.series, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *Cumulative) pushFront(e *cumEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func (c *Cumulative) moveFront(e *cumEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	c.pushFront(e)
}
