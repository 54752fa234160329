package catalog

import (
	"context"
	"sync"
	"time"
)

// maxApplyWait bounds how long a write waits for this node's board to show
// it; past it the write has been stored and answers anyway.
const maxApplyWait = 5 * time.Second

// applied wakes the writers waiting for an apply: each apply closes the
// current channel and makes a new one.
type applied struct {
	mu      sync.Mutex
	changed chan struct{}
}

// notify wakes every waiter.
func (a *applied) notify() {
	a.mu.Lock()
	if a.changed != nil {
		close(a.changed)
	}
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

func (a *applied) next() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return a.changed
}

// await returns once done reports true (checked after every apply), ctx
// ends or maxApplyWait passed.
func (a *applied) await(ctx context.Context, done func() bool) {
	ctx, cancel := context.WithTimeout(ctx, maxApplyWait)
	defer cancel()
	for {
		ch := a.next() // before the check, so an apply in between wakes us
		if done() {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}
