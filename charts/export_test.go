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

// RouterKey is the tag key r indexes metric's views by ("" for none).
func RouterKey(r *Router, metric string) string {
	if mv := r.metrics[metric]; mv != nil {
		return mv.key
	}
	return ""
}
