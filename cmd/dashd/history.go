package main

import (
	"context"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// historyOf is the journal as the board's charts.History. charts.History
// now hands apply each batch's log position; until the journal's
// ReplayThrough takes it (branch ckpt-journal), the journal's older form
// is adapted, with the position left zero (the board reads none from a
// backfill). This builds against either form of the journal; once both
// branches are merged, replace the call with m.store and put back
// `_ charts.History = (*journal.Journal)(nil)` in journal.go.
func historyOf(j *journal.Journal) charts.History {
	switch h := any(j).(type) {
	case charts.History:
		return h
	case replayerWithoutPosition:
		return historyWithoutPosition{h}
	}
	panic("dashd: the journal has no ReplayThrough the board can use")
}

type replayerWithoutPosition interface {
	ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample) error) error
}

type historyWithoutPosition struct{ r replayerWithoutPosition }

func (h historyWithoutPosition) ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	return h.r.ReplayThrough(ctx, since, through, func(batch []ingest.Sample) error { return apply(batch, charts.Position{}) })
}
