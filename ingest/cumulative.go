package ingest

import (
	"math"
	"time"
)

// CumulativeLookback is how far back, in log time, a running total looks
// for the previous point of its series. It is a constant, not a setting:
// the increases are a function of the log only if every node and every
// version reads it with the same rule. Five minutes hold five exports of
// an OpenTelemetry SDK at its default interval (60 s).
const CumulativeLookback = 5 * time.Minute

// DefaultCumulativeSeries is the default series cap of a Cumulative table.
const DefaultCumulativeSeries = 100_000

// CumulativeConfig bounds a Cumulative table; zero fields take defaults.
type CumulativeConfig struct {
	// MaxSeries is how many series the table remembers (100,000). Past it
	// the series seen longest ago (in log order) is forgotten: its next
	// point is a first point again. Which one that is depends only on the
	// order of the log, so every reader forgets the same series.
	MaxSeries int
}

// Cumulative turns the running totals of a log (samples with Running set)
// into increases, as the log is read in order. The rule, for a point P of
// series S read from a message stored at log time L (its sample time is
// at most L, the journal clamps it):
//
//   - the previous point of S is the last one read whose message was
//     stored at most CumulativeLookback before L (older ones are
//     forgotten), among the MaxSeries series seen last;
//   - with no previous point, P counts its whole total if its start time
//     is set and no more than CumulativeLookback before L (the sender
//     began within it: everything it counted is news), or if P is Grouped
//     after a Head of the same message that had a previous point (a bucket
//     that was 0 until now); otherwise P only sets the baseline (no
//     sample: the sender ran before, for an unknown time);
//   - a P no later (sample time) than the previous point, or with an
//     earlier start, is a repeat or out of order: no sample (a repeat is
//     harmless; after a point out of order, the next one counts from it,
//     so a sender's points are expected in order, as OTLP exporters send
//     them);
//   - a P with another (later) start, or a total below the previous one,
//     is a reset: it counts its whole total;
//   - otherwise the increase is P's total minus the previous total.
//
// Every point read becomes the previous point of its series, whatever it
// gave. So the table at a log position depends only on the messages
// stored in the CumulativeLookback before it: a reader that starts at a position
// and first reads (Warm) what was stored in that span before it holds
// exactly the table of a reader that read the whole log.
//
// A Cumulative is owned by one reader (one goroutine); it is not safe for
// concurrent use.
type Cumulative struct {
	cfg    CumulativeConfig
	series map[uint64]*cumEntry
	// LRU list in log order: head.next was seen last, head.prev first.
	head    cumEntry
	now     int64 // the latest log time read (Unix ns): the table's clock
	evicted uint64
}

type cumEntry struct {
	key   uint64
	start int64 // Unix ns; 0: not said
	t     int64 // the point's sample time
	logT  int64 // when its message was stored
	value float64

	prev, next *cumEntry
}

// NewCumulative makes an empty table.
func NewCumulative(cfg CumulativeConfig) *Cumulative {
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = DefaultCumulativeSeries
	}
	c := &Cumulative{cfg: cfg, series: make(map[uint64]*cumEntry)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// Len is the number of series remembered (forgotten ones older than the
// lookback may still be counted until the table next moves).
func (c *Cumulative) Len() int { return len(c.series) }

// Evicted counts the series forgotten because the table was full (not
// the ones that fell out of the lookback).
func (c *Cumulative) Evicted() uint64 { return c.evicted }

// Apply turns the running totals of batch, the samples of one message of
// the log stored at logTime, into increases in place, and returns batch
// without the running totals that give no increase (order kept). Other
// samples pass as they are. A sample that comes out has Running nil.
func (c *Cumulative) Apply(batch []Sample, logTime time.Time) []Sample {
	return c.apply(batch, logTime, true)
}

// Warm moves the table as Apply would with batch, the samples of one
// message stored at logTime, without giving any increase: a reader that
// starts at a position reads the CumulativeLookback before it this way.
func (c *Cumulative) Warm(batch []Sample, logTime time.Time) {
	c.apply(batch, logTime, false)
}

func (c *Cumulative) apply(batch []Sample, logTime time.Time, emit bool) []Sample {
	if lt := logTime.UnixNano(); lt > c.now {
		// A cluster's leader change may store a message a little before
		// the one before it: the clock never goes back.
		c.now = lt
	}
	horizon := c.now - int64(CumulativeLookback)
	c.expire(horizon)
	headKnown := false
	n := 0
	for i := range batch {
		s := &batch[i]
		r := s.Running
		if r == nil {
			if emit {
				batch[n] = *s
				n++
			}
			continue
		}
		inc, ok := c.point(s, r, horizon, &headKnown)
		if ok && emit {
			batch[n] = *s
			batch[n].Value, batch[n].Running = inc, nil
			n++
		}
	}
	if !emit {
		return nil
	}
	clear(batch[n:]) // let what was dropped go
	return batch[:n]
}

// point moves the table with one running total and says its increase,
// if it has one.
func (c *Cumulative) point(s *Sample, r *Running, horizon int64, headKnown *bool) (float64, bool) {
	t := s.Time.UnixNano()
	start := int64(0)
	if !r.Start.IsZero() {
		start = r.Start.UnixNano()
	}
	e := c.series[r.Series]
	if e != nil && e.logT < horizon {
		c.remove(e)
		e = nil
	}
	changed := e != nil && start != 0 && e.start != 0 && start != e.start
	if r.Head {
		*headKnown = e != nil && !changed
	}
	var inc float64
	ok := true
	switch {
	case e == nil:
		if !(start != 0 && start >= horizon) && !(r.Grouped && *headKnown) {
			ok = false // only the baseline
		}
		inc = s.Value
	case changed && start < e.start, !changed && t <= e.t:
		ok = false // a repeat, out of order, or from a sender's earlier life
	case changed, s.Value < e.value:
		inc = s.Value // the sender restarted, or the total was reset
	default:
		inc = s.Value - e.value
		if math.IsInf(inc, 0) { // totals of opposite signs near the float limits
			inc = s.Value
		}
	}
	if e == nil {
		e = &cumEntry{key: r.Series}
		c.series[r.Series] = e
		c.pushFront(e)
		c.evict()
	} else {
		c.moveFront(e)
	}
	// What the table keeps of a series is its last point alone, counted or
	// not (its own start, said or not): so the table depends on nothing
	// older than that point, which the lookback bounds.
	e.start, e.t, e.logT, e.value = start, t, c.now, s.Value
	return inc, ok
}

// expire drops, from the tail, the series not seen since horizon: they
// are forgotten anyway, and must not count against MaxSeries (else what
// is forgotten would depend on what was read before the lookback).
func (c *Cumulative) expire(horizon int64) {
	for tail := c.head.prev; tail != &c.head && tail.logT < horizon; tail = c.head.prev {
		c.remove(tail)
	}
}

// evict keeps the table within MaxSeries, forgetting the series seen
// longest ago.
func (c *Cumulative) evict() {
	for len(c.series) > c.cfg.MaxSeries {
		c.remove(c.head.prev)
		c.evicted++
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

// RunningSamples appends to out one sample per point, marked Running with
// the point's series, start and place in its group, for the log to store
// as it came. The Running values are allocated once for all of points.
func RunningSamples(out []Sample, points []CumulativePoint) []Sample {
	if len(points) == 0 {
		return out
	}
	runs := make([]Running, len(points))
	for i := range points {
		p := &points[i]
		runs[i] = Running{Series: p.Series, Start: p.Start, Head: p.Head, Grouped: p.Grouped}
		s := p.Sample
		s.Running = &runs[i]
		out = append(out, s)
	}
	return out
}
