package charts

import "context"

// CopyStates runs the part of Board.Checkpoint that takes the board's
// goroutine (copying every view's state), for the benchmarks, and returns
// how many cells it copied.
func CopyStates(ctx context.Context, b *Board) (cells int, err error) {
	snaps, _, _, _, err := b.copyStates(ctx)
	for i := range snaps {
		cells += len(snaps[i].cells)
	}
	return cells, err
}
