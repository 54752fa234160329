package journal_test

import (
	"context"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// historyOf is the journal as a charts.History while charts.History hands
// apply the batch's position and the journal's ReplayThrough may not yet
// (branch ckpt-charts before ckpt-journal). It builds against either form;
// once the journal's ReplayThrough takes the position, use j itself.
func historyOf(j *journal.Journal) charts.History {
	switch h := any(j).(type) {
	case charts.History:
		return h
	case replayerWithoutPosition:
		return historyWithoutPosition{h}
	}
	panic("the journal has no ReplayThrough")
}

type replayerWithoutPosition interface {
	ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample) error) error
}

type historyWithoutPosition struct{ r replayerWithoutPosition }

func (h historyWithoutPosition) ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	return h.r.ReplayThrough(ctx, since, through, func(batch []ingest.Sample) error { return apply(batch, charts.Position{}) })
}
