package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/ingest"
)

// Running totals (OTLP cumulative points) are stored in the log as they
// came and turned into increases here, where the log is read in order: by
// every reader of the log through the same code (Follow, ReplayThrough,
// ReplayRange), each with a table of its own (ingest.Cumulative). The
// table at a position depends only on the messages stored in the
// ingest.CumulativeLookback before it, so a reader that starts at a
// position first warms its table with the messages with running totals
// (their own subject) stored in that span before it: every node, every
// restart (from a checkpoint or from the log) and every rewind counts the
// same increases.

// runningMetrics are the live follower's table: its size and the series
// it forgot for its cap (replays forget the same ones and are not counted
// again).
type runningMetrics struct {
	series  prometheus.Gauge
	evicted prometheus.Counter
}

func newRunningMetrics(reg prometheus.Registerer) runningMetrics {
	m := runningMetrics{
		series: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_journal_running_series",
			Help: "Series of running totals (OTLP cumulative) the log follower remembers to turn them into increases."}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_running_evicted_total",
			Help: "Series of running totals the log follower forgot because its table was full (their next point is a first point again)."}),
	}
	if reg != nil {
		reg.MustRegister(m.series, m.evicted)
	}
	return m
}

// runningTable is a reader's table and how far it has read.
type runningTable struct {
	cum *ingest.Cumulative
	seq uint64 // every message up to this sequence is in cum
}

// apply turns the running totals of samples, decoded from the message at
// seq stored at stored, into increases.
func (t *runningTable) apply(samples []ingest.Sample, seq uint64, stored time.Time) []ingest.Sample {
	t.seq = seq
	return t.cum.Apply(samples, stored)
}

// runningAfter is the table of a reader that starts after stream
// sequence after (0: at the start of the log): warmed with the running
// totals stored within the lookback before message after.
func (j *Journal) runningAfter(ctx context.Context, after uint64) (*runningTable, error) {
	t := &runningTable{cum: ingest.NewCumulative(ingest.CumulativeConfig{}), seq: after}
	if after == 0 {
		return t, nil
	}
	if any, err := j.anyRunning(ctx); err != nil || !any {
		return t, err
	}
	msg, err := j.stream.GetMsg(ctx, after)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Gone: so is everything before it (the log loses its oldest
		// first), and nothing is left to warm with.
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: read the log at seq %d: %w", after, err)
	}
	if err := j.warm(ctx, t, after+1, msg.Time); err != nil {
		return nil, err
	}
	return t, nil
}

// runningSince is the table of a reader that starts with the first
// message stored at or after since, and that message's sequence (the
// log's last plus one when there is none yet).
func (j *Journal) runningSince(ctx context.Context, since time.Time) (*runningTable, error) {
	t := &runningTable{cum: ingest.NewCumulative(ingest.CumulativeConfig{})}
	if any, err := j.anyRunning(ctx); err != nil || !any {
		// Nothing to warm with; the table's seq is not read for a start
		// by time (Follow warms again only once it has a position).
		return t, err
	}
	pos, found, err := j.firstAtOrAfter(ctx, since)
	if err != nil {
		return nil, err
	}
	from := pos.Seq
	if !found {
		_, last, err := j.Bounds(ctx)
		if err != nil {
			return nil, err
		}
		from = last.Seq + 1
	}
	if from <= 1 {
		return t, nil
	}
	t.seq = from - 1
	if err := j.warm(ctx, t, from, since); err != nil {
		return nil, err
	}
	return t, nil
}

// warmQuiet is how long a warm-up waits for its next message before it
// asks its consumer whether any is left.
const warmQuiet = 2 * time.Second

// anyRunning says whether the log holds a message with running totals:
// one request, which spares a log without any (no OTLP sender) the rest
// of a warm-up at every start of a reader.
func (j *Journal) anyRunning(ctx context.Context) (bool, error) {
	_, err := j.stream.GetLastMsgForSubject(ctx, subjectRunning)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("journal: look for running totals in the log: %w", err)
	}
	return true, nil
}

// warm reads into t, without giving increases, every message with
// running totals stored from ingest.CumulativeLookback before `at` up to
// (not including) stream sequence from. Only those messages are read
// (their subject), so the cost is the running totals of the lookback.
func (j *Journal) warm(ctx context.Context, t *runningTable, from uint64, at time.Time) error {
	start := at.Add(-ingest.CumulativeLookback)
	cc := jetstream.ConsumerConfig{
		FilterSubject: subjectRunning,
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start,
	}
	cons, it, stop, err := j.readOnce(ctx, cc, "the running totals")
	if err != nil || it == nil {
		return err
	}
	defer stop()
	for {
		// A message counted pending when the consumer was made may be gone
		// by now (the log lost its oldest): a quiet wait asks the consumer
		// whether anything is left instead of waiting for the next push.
		wctx, cancel := context.WithTimeout(ctx, warmQuiet)
		msg, err := it.Next(jetstream.NextContext(wctx))
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			info, ierr := cons.Info(ctx)
			if ierr != nil {
				return fmt.Errorf("journal: read the running totals: %w", ierr)
			}
			if info.NumPending == 0 {
				return nil // nothing buffered (Next waited) and nothing left
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("journal: read the running totals: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("journal: read the running totals: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq >= from {
			return nil
		}
		// Lite: the table needs times, values and running totals only.
		// An undecodable message is skipped here as every reader skips it
		// (and logged by them, not here).
		if samples, err := decodeBatch(msg.Data(), true); err == nil {
			clamp(samples, meta.Timestamp)
			t.cum.Warm(samples, meta.Timestamp)
		}
		if meta.NumPending == 0 {
			return nil
		}
	}
}
