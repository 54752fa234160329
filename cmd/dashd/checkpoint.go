package main

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/journal"
)

// Checkpoints (checkpoints.interval, checkpoints.keep): at start the board
// starts from the newest usable checkpoint and the follower reads the log
// after it; while running, a checkpoint is written every interval when the
// board moved, and old ones are removed. A checkpoint missing, damaged,
// of another version or older than the log costs a longer replay, never
// correctness: the journal refuses such a one and the log is read instead.

// checkpointMetrics are the checkpoint metrics cmd/dashd adds to the
// journal's (dashd_journal_checkpoint_writes_total, _bytes_total,
// _size_bytes, _checkpoints_unusable_total).
type checkpointMetrics struct {
	write    prometheus.Histogram // seconds to take, encode and store one
	failures prometheus.Counter   // writes or prunes that failed
	startSeq prometheus.Gauge     // the seq of the checkpoint the board started from, 0 for none
	load     prometheus.Gauge     // seconds it took to find and load it
}

func (m *Main) registerCheckpointMetrics() {
	c := &m.ckpt.metrics
	c.write = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dashd_checkpoint_write_seconds",
		Help:    "Time to take a checkpoint of the charts (a copy in the board's goroutine), encode it and store it.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}})
	c.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_checkpoint_failures_total",
		Help: "Checkpoint writes or prunes that failed (logged; the next interval tries again)."})
	c.startSeq = prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_checkpoint_start_seq",
		Help: "The log sequence of the checkpoint the charts started from at start; 0 when they started from the log alone."})
	c.load = prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_checkpoint_load_seconds",
		Help: "Time taken at start to find, read and check the checkpoint the charts started from."})
	m.registry.MustRegister(c.write, c.failures, c.startSeq, c.load)
}

// checkpointState is what Main keeps of checkpoints.
type checkpointState struct {
	metrics checkpointMetrics
	// start is the position of the checkpoint the board started from (zero:
	// none); the follower reads the log after it.
	start charts.Position
	// moved is the board's Applied+Filled at the last checkpoint written:
	// the board has not moved while it stays so. Only the writer's
	// goroutine uses it.
	moved uint64
	// wrote is the position of the last checkpoint written (writer's goroutine).
	wrote charts.Position
	// noFinal skips the checkpoint at shutdown (tests and benchmarks of
	// a start after a crash set it before Run).
	noFinal bool
}

// checkpointsOn says whether checkpoints are written and read.
func (m *Main) checkpointsOn() bool { return m.cfg.File.Checkpoints.Interval > 0 }

// startCheckpoint is the checkpoint the board starts from: the newest one
// whose version and checksum are right and whose position the log still
// holds (the journal checks each), or nil. It never fails: without one,
// the board is filled from the log, which takes longer and ends the same.
// Called from New, before the board is made.
func (m *Main) startCheckpoint() *charts.Checkpoint {
	if !m.checkpointsOn() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	cp, err := m.store.CheckpointBefore(ctx, math.MaxUint64)
	took := time.Since(begin)
	switch {
	case err != nil:
		m.log.Warn("no checkpoint could be read; the charts are filled from the log (slower, same result)", "err", err)
		return nil
	case cp == nil:
		m.log.Info("no usable checkpoint; the charts are filled from the log")
		return nil
	}
	m.ckpt.start, m.ckpt.wrote = cp.At, cp.At
	m.ckpt.metrics.startSeq.Set(float64(cp.At.Seq))
	m.ckpt.metrics.load.Set(took.Seconds())
	m.log.Info("the charts start from a checkpoint", "seq", cp.At.Seq, "at", cp.At.Time, "charts", len(cp.Charts), "took", took.Round(time.Millisecond))
	return cp
}

// writeCheckpoints writes a checkpoint every checkpoints.interval while
// ctx lasts, when the board moved since the last one, and prunes old ones.
// Failures are logged and counted; the next tick tries again.
func (m *Main) writeCheckpoints(ctx context.Context) {
	if !m.checkpointsOn() {
		return
	}
	tick := time.NewTicker(time.Duration(m.cfg.File.Checkpoints.Interval))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := m.checkpoint(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, charts.ErrNotFromLog) {
				m.log.Error("the board holds samples that are not in the log: no checkpoint can name its state, so none is written from now on", "err", err)
				return
			}
			m.ckpt.metrics.failures.Inc()
			m.log.Warn("a checkpoint was not written; the next interval tries again", "err", err)
		}
	}
}

// finalCheckpoint writes a checkpoint at shutdown, once the follower has
// stopped and before the board does, so that the next start replays
// nothing: a rolling restart is ready as soon as the store is open. It is
// bounded in time; a failure costs the next start a replay of the log
// after the last checkpoint, nothing more.
func (m *Main) finalCheckpoint() {
	if !m.checkpointsOn() || m.ckpt.noFinal {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wrote, err := m.checkpoint(ctx)
	switch {
	case err != nil:
		m.ckpt.metrics.failures.Inc()
		m.log.Warn("no checkpoint at shutdown: the next start replays the log after the last one", "err", err)
	case wrote:
		m.log.Info("wrote a checkpoint at shutdown", "seq", m.ckpt.wrote.Seq)
	}
}

// checkpoint writes one checkpoint of the board if it moved since the
// last, then prunes: it reports whether it wrote one. Only one goroutine
// may call it at a time (writeCheckpoints', then finalCheckpoint's, or a
// test's).
func (m *Main) checkpoint(ctx context.Context) (bool, error) {
	st := m.board.Stats()
	moved := st.Applied + st.Filled
	if moved == m.ckpt.moved && m.ckpt.wrote.Seq != 0 {
		return false, nil
	}
	begin := time.Now()
	cp, err := m.board.Checkpoint(ctx)
	if err != nil {
		return false, err
	}
	if cp.At.Seq == 0 {
		return false, nil // nothing from the log applied yet
	}
	if err := m.store.PutCheckpoint(ctx, cp); err != nil {
		return false, err
	}
	m.ckpt.metrics.write.Observe(time.Since(begin).Seconds())
	m.ckpt.moved, m.ckpt.wrote = moved, cp.At
	m.log.Debug("wrote a checkpoint", "seq", cp.At.Seq, "charts", len(cp.Charts), "took", time.Since(begin).Round(time.Millisecond))

	return true, m.pruneCheckpoints(ctx, cp.At)
}

// pruneCheckpoints keeps the checkpoints inside the log (an older one could
// not be used), at most checkpoints.keep of them and, newest first, as
// many as fit in checkpoints.max_bytes (the newest, at, always).
func (m *Main) pruneCheckpoints(ctx context.Context, at charts.Position) error {
	first, _, err := m.store.Bounds(ctx)
	if err != nil {
		return err
	}
	keepAfter := first.Time
	if first.Seq == 0 {
		keepAfter = at.Time // an empty log: the one just written is as old as can be kept
	}
	infos, err := m.store.Checkpoints(ctx)
	if err != nil {
		return err
	}
	keep := keepWithin(infos, m.cfg.File.Checkpoints.Keep, m.cfg.File.Checkpoints.MaxBytes)
	_, err = m.store.PruneCheckpoints(ctx, keepAfter, keep)
	return err
}

// keepWithin is how many of the newest checkpoints of infos (oldest first)
// to keep: at most keep, and no more than fit in maxBytes, but at least one.
func keepWithin(infos []journal.CheckpointInfo, keep int, maxBytes int64) int {
	n, total := 0, int64(0)
	for i := len(infos) - 1; i >= 0 && n < keep; i-- {
		total += infos[i].Size
		if total > maxBytes && n > 0 {
			break
		}
		n++
	}
	return max(n, 1)
}
