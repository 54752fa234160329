package journal

import (
	"context"
	"fmt"
)

// Connected says whether the connection to NATS is up (it reconnects on
// its own; while it is down, Accept fails and followers wait).
func (j *Journal) Connected() bool { return j.nc != nil && j.nc.IsConnected() }

// LogState is the size of the log of samples as JetStream reports it,
// and the most it may hold (Config.MaxBytes, as the stream has it).
type LogState struct {
	Messages, Bytes uint64
	MaxBytes        int64
}

// State asks JetStream how large the log is.
func (j *Journal) State(ctx context.Context) (LogState, error) {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return LogState{}, fmt.Errorf("journal: read the stream: %w", err)
	}
	return LogState{Messages: info.State.Msgs, Bytes: info.State.Bytes, MaxBytes: info.Config.MaxBytes}, nil
}
