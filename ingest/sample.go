package ingest

import (
	"context"
	"fmt"
	"time"
)

// DefaultField is the field name of a sample whose format has no field keys
// (JSON, Prometheus text).
const DefaultField = "value"

// Tag is one key=value label of a sample.
type Tag struct {
	Key   string
	Value string
}

// Sample is one measured number.
//
// Tags are sorted by key with no key repeated; decoders guarantee this, so
// readers may look a tag up with Tag and compare tag sets element by element.
// A Sample owns none of its memory exclusively: once handed to a Sink it must
// not be modified by anyone.
type Sample struct {
	Metric string
	Field  string
	Tags   []Tag
	Value  float64
	Time   time.Time
	// Running, when set, says that Value is a running total (an OTLP
	// cumulative point) as the sender sent it, not an amount of its own.
	// Such a sample is stored in the log as it came and turned into an
	// increase where the log is read, in order (Cumulative.Apply): no
	// chart ever sees a sample with Running set. nil for every other
	// sample. Shared like Tags: never modified once set.
	Running *Running
}

// Running is what marks a running total: the series it belongs to and
// when its total began.
type Running struct {
	// Series identifies the series: a 64-bit hash of its metric, tags,
	// every attribute of its resource and its scope (so that two senders
	// with the same tags still count apart).
	Series uint64
	// Start is when the total began at 0 (OTLP's StartTimeUnixNano); zero
	// when the sender did not say.
	Start time.Time
	// Head marks the first running total of a histogram or summary point
	// (its _count); Grouped the ones after it in the same message
	// (buckets, _sum), which may be new to a table only because they were
	// 0 until now while the head was known before.
	Head, Grouped bool
}

// Tag returns the value of the tag named key.
func (s *Sample) Tag(key string) (string, bool) {
	for i := range s.Tags {
		if s.Tags[i].Key == key {
			return s.Tags[i].Value, true
		}
	}
	return "", false
}

// Sink receives decoded batches. Accept takes ownership of the slice.
//
// A nil error means every sample of the batch is accepted: it will be shown
// (and, where persistence is on, it is already stored). An error means none
// of them is; an *OverloadError says the sink is full for now and when to
// try again. Accept may be called from many goroutines at once.
type Sink interface {
	Accept(ctx context.Context, batch []Sample) error
}

// idempotencyKey is the context key of a request's Idempotency-Key.
type idempotencyKey struct{}

// WithIdempotencyKey returns ctx carrying the client's key for the batch
// that will be accepted with it: a sink that stores batches (the journal)
// stores a batch only once per key within its duplicate window, so a client
// that retries after a lost answer does not count its samples twice.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// IdempotencyKey is the key WithIdempotencyKey put in ctx, or "".
func IdempotencyKey(ctx context.Context) string {
	k, _ := ctx.Value(idempotencyKey{}).(string)
	return k
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = 255

// OverloadError is returned by a Sink that cannot take more samples now.
// Handlers answer it with 429 (full for now) or, when Unavailable is set,
// 503 (the store itself is down), and a Retry-After header of RetryAfter
// rounded up to whole seconds (at least 1).
type OverloadError struct {
	RetryAfter time.Duration
	Reason     string
	// Unavailable says the store cannot take samples at all (e.g. the log
	// is unreachable), rather than being busy.
	Unavailable bool
	// MaybeStored says the store may have kept the samples all the same
	// (it was sent them but did not confirm): the answer must not say
	// that nothing was stored.
	MaybeStored bool
}

func (e *OverloadError) Error() string {
	return fmt.Sprintf("overloaded: %s (retry after %s)", e.Reason, e.RetryAfter)
}
