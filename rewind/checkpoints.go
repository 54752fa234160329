package rewind

import (
	"context"
	"time"

	"github.com/dashd/dashd/charts"
)

// Reading a checkpoint costs the server several JetStream requests (the
// object store's listing and its content are read through consumers it
// makes and deletes) and the rewinder a decode of up to megabytes: paid
// once per rewind, that is most of what a scrubbing page costs beyond its
// replay. A checkpoint is immutable once stored, so the rewinder keeps the
// few it read last, with the range of log positions it is known to be the
// answer of CheckpointBefore for.
//
// The memo is exact where it answers: CheckpointBefore(seq) was this
// checkpoint for a seq at or after seq, and no checkpoint after this one
// at or before seq existed then; one stored since, at or before seq,
// could only be an older position than the live board's, which takes
// them — and were it missed, the rewind replays further from the older
// one: slower, never different (a moment's frames are the same with or
// without a checkpoint). An entry is trusted for cpMemoTTL, so that a
// pruned checkpoint, or a log that aged past it, is seen again soon.
const (
	cpMemoTTL     = 10 * time.Second
	cpMemoEntries = 2
	// cpMemoMaxBytes: a larger checkpoint is not kept (its states' bytes).
	cpMemoMaxBytes = 64 << 20
)

// cpMemo is one answer of CheckpointBefore: cp (nil: none) for every seq
// in [lo, hi], read at read.
type cpMemo struct {
	cp     *charts.Checkpoint
	lo, hi uint64
	read   time.Time
}

// checkpointBefore is Checkpoints.CheckpointBefore(seq), from the memo
// where it knows the answer.
func (r *Rewinder) checkpointBefore(ctx context.Context, seq uint64) (*charts.Checkpoint, error) {
	now := time.Now()
	r.mu.Lock()
	for _, m := range r.cps {
		if m.lo <= seq && seq <= m.hi && now.Sub(m.read) < cpMemoTTL && !now.Before(m.read) {
			r.mu.Unlock()
			r.met.checkpoints.WithLabelValues("memo").Inc()
			return m.cp, nil
		}
	}
	r.mu.Unlock()
	cp, err := r.cfg.Checkpoints.CheckpointBefore(ctx, seq)
	if err != nil {
		return nil, err
	}
	r.met.checkpoints.WithLabelValues("read").Inc()
	lo := uint64(0)
	if cp != nil {
		lo = cp.At.Seq
		size := 0
		for _, cs := range cp.Charts {
			size += len(cs.State)
		}
		if size > cpMemoMaxBytes {
			return cp, nil
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.cps {
		m := &r.cps[i]
		if m.lo == lo && (m.cp == nil) == (cp == nil) && (cp == nil || m.cp.At == cp.At) {
			// The same answer for a further seq: it holds for all between.
			m.cp, m.hi, m.read = cp, max(m.hi, seq), now
			return cp, nil
		}
	}
	if len(r.cps) == cpMemoEntries {
		// The oldest read goes.
		old := 0
		for i := range r.cps {
			if r.cps[i].read.Before(r.cps[old].read) {
				old = i
			}
		}
		r.cps = append(r.cps[:old], r.cps[old+1:]...)
	}
	r.cps = append(r.cps, cpMemo{cp: cp, lo: lo, hi: seq, read: now})
	return cp, nil
}
