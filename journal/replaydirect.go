package journal

import (
	"context"
	"errors"
	"fmt"

	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// Batched direct gets (nats-server 2.11+, ADR-31): one request asks the
// stream for up to directBatch messages from a sequence on, and the
// server answers with the messages themselves, read from its store. No
// consumer is created, stored, or deleted (each of which is a JetStream
// API request, and, in a cluster, a Raft proposal), and a read ends when
// the reader stops asking. Any replica may answer (AllowDirect).
const (
	directBatch    = 512     // messages per request
	directMaxBytes = 4 << 20 // bytes per request, at most
)

// errNoDirect says that the direct reads stopped short of through; the
// caller reads the rest another way.
var errNoDirect = errors.New("direct reads stopped short")

// replayDirect hands apply, in order and merged as replay merges them,
// the samples of every message from stream sequence from up to through,
// read by batched direct gets. It returns the sequence it would read next
// and errNoDirect (wrapped) when the reads stopped short of through: no
// answer, an answer without messages while through was not reached (a
// replica that lags behind the leader answers so), or a server that
// cannot batch. Everything read before is applied by then, so the caller
// carries on from next. Any other error (apply's, ctx's) ends the replay.
func (j *Journal) replayDirect(ctx context.Context, from, through uint64, running *runningTable, apply func([]ingest.Sample, charts.Position) error) (next uint64, err error) {
	next = from
	var (
		batch []ingest.Sample
		pos   charts.Position
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := apply(batch, pos)
		batch = nil
		return err
	}
	for next <= through {
		if err := ctx.Err(); err != nil {
			return next, err
		}
		msgs, err := jetstreamext.GetBatch(ctx, j.js, StreamName, int(min(through-next+1, directBatch)),
			jetstreamext.GetBatchSeq(next), jetstreamext.GetBatchMaxBytes(directMaxBytes))
		if err != nil {
			if ctx.Err() != nil {
				return next, ctx.Err()
			}
			return next, errors.Join(flush(), fmt.Errorf("%w: %w", errNoDirect, err))
		}
		got, end := 0, false
		for m, err := range msgs {
			if err != nil {
				if ctx.Err() != nil {
					return next, ctx.Err()
				}
				return next, errors.Join(flush(), fmt.Errorf("%w at seq %d: %w", errNoDirect, next, err))
			}
			if m.Sequence > through {
				end = true
				break
			}
			got++
			next = m.Sequence + 1
			pos = charts.Position{Seq: m.Sequence, Time: m.Time}
			if samples, ok := j.decode(m.Data, m.Subject, m.Sequence, m.Time); ok {
				batch = append(batch, running.apply(samples, m.Sequence, m.Time)...)
			}
			if len(batch) >= maxMerge {
				if err := flush(); err != nil {
					return next, err
				}
			}
		}
		if end {
			break
		}
		if got == 0 {
			return next, errors.Join(flush(), fmt.Errorf("%w at seq %d: an answer without messages", errNoDirect, next))
		}
	}
	return next, flush()
}
