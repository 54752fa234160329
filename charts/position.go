package charts

import (
	"context"
	"time"

	"github.com/dashd/dashd/ingest"
)

// Position is a place in the log: the stream sequence of a message and the
// log's timestamp of it.
//
// (Stand-in of ckpt-journal for building alone: ckpt-charts owns Position
// and Board.AcceptAt; at the merge theirs replace these.)
type Position struct {
	Seq  uint64
	Time time.Time
}

// AcceptAt is AcceptThrough for a batch read from the log, with the
// position of its last message.
func (b *Board) AcceptAt(ctx context.Context, batch []ingest.Sample, pos Position) error {
	return b.AcceptThrough(ctx, batch, pos.Seq)
}
