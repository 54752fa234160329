package main

import (
	"github.com/dashd/dashd/api"
	"github.com/dashd/dashd/journal"
	"github.com/dashd/dashd/rewind"
)

// The log answers rewinds: where a moment is, the batches up to it, and
// the checkpoints of view state before it.
var (
	_ rewind.Log         = (*journal.Journal)(nil)
	_ rewind.Replayer    = (*journal.Journal)(nil)
	_ rewind.Checkpoints = (*journal.Journal)(nil)
	_ api.Rewind         = (*rewind.Rewinder)(nil)
	_ api.Replays        = (*rewind.Rewinder)(nil)
)

// newRewinder computes past moments from the log, with the board's limits.
func (m *Main) newRewinder() *rewind.Rewinder {
	return rewind.New(rewind.Config{
		Log:    m.store,
		Replay: m.store,
		// The checkpoints the board stores (ckpt-journal) shorten a
		// rewind to a replay from the newest one before the moment.
		Checkpoints: m.store,
		Logger:      m.log.With("component", "rewind"),
		Registerer:  m.registry,
	})
}
