package journal

import (
	"context"

	"github.com/dashd/dashd/charts"
)

// PutCheckpointBytes stores data as it is, for tests of what the journal
// does with checkpoints that do not decode.
func (j *Journal) PutCheckpointBytes(ctx context.Context, at charts.Position, version int, data []byte) error {
	return j.putCheckpoint(ctx, at, version, data)
}
