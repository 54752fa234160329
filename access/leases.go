package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dashd/dashd/embed"
)

// Leases turns the embed tokens that allowed streams into contexts that end
// when the token expires or is revoked, with an *embed.Error as the cause,
// so that every stream the token opened ends with it (package stream closes
// a WebSocket with 1008 and the cause as its reason).
//
// All streams of one token share one context: the memory held is one entry
// per token in use, dropped when it ends. Safe for concurrent use.
type Leases struct {
	// after runs f once d has passed; stop cancels it (time.AfterFunc).
	after func(d time.Duration, f func()) (stop func() bool)
	now   func() time.Time

	mu   sync.Mutex
	byID map[string]*lease
	gone map[string]bool // revoked ids, so a lease asked for later ends at once
}

type lease struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func() bool
}

// NewLeases returns Leases on the wall clock.
func NewLeases() *Leases {
	return NewLeasesWithClock(time.Now, func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop })
}

// NewLeasesWithClock returns Leases that read now and wait with after
// (tests drive both).
func NewLeasesWithClock(now func() time.Time, after func(d time.Duration, f func()) (stop func() bool)) *Leases {
	return &Leases{after: after, now: now, byID: map[string]*lease{}, gone: map[string]bool{}}
}

// Lease returns the context of the token c: done when c expires or is
// revoked. nil c (a read allowed without an embed token) has no end.
func (l *Leases) Lease(c *embed.Claims) context.Context {
	if c == nil {
		return context.Background()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if le, ok := l.byID[c.ID]; ok {
		return le.ctx
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	le := &lease{ctx: ctx, cancel: cancel}
	if l.gone[c.ID] {
		cancel(&embed.Error{Reason: embed.Revoked, Message: fmt.Sprintf("token %s was revoked", c.ID)})
		return ctx
	}
	exp := c.ExpiresAt()
	id := c.ID
	le.stop = l.after(exp.Sub(l.now()), func() {
		l.end(id, &embed.Error{Reason: embed.Expired, Message: fmt.Sprintf("it expired at %s; mint a new one", exp.UTC().Format(time.RFC3339))})
	})
	l.byID[id] = le
	return ctx
}

// Revoke ends the streams of the token jti now, and those it would open
// later while this process runs.
func (l *Leases) Revoke(jti string) {
	l.mu.Lock()
	l.gone[jti] = true
	l.mu.Unlock()
	l.end(jti, &embed.Error{Reason: embed.Revoked, Message: fmt.Sprintf("token %s was revoked", jti)})
}

// Len is the number of tokens with open leases.
func (l *Leases) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byID)
}

func (l *Leases) end(jti string, cause error) {
	l.mu.Lock()
	le, ok := l.byID[jti]
	delete(l.byID, jti)
	l.mu.Unlock()
	if ok {
		if le.stop != nil {
			le.stop()
		}
		le.cancel(cause)
	}
}
