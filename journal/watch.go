package journal

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// kvEntry is one change of a key-value bucket as watchBucket reads it.
type kvEntry struct {
	key     string
	value   []byte
	deleted bool // a delete or a purge
	rev     uint64
}

// watchBucket follows the bucket's stream with an ordered pull consumer,
// from the newest value of every key on: fn gets each entry, and
// settled(initial) is called whenever nothing more is waiting, with initial
// true the first time (at once for an empty bucket). It returns nil when
// ctx ends.
//
// It replaces the bucket's own WatchAll for long-lived watches: that one
// notices a consumer lost with a NATS server of a cluster only by missed
// heartbeats every 5 s, a constant in nats.go, which stalled definition
// changes for up to 17 s; here the heartbeat is a second, as in Follow.
func (j *Journal) watchBucket(ctx context.Context, bucket string, fn func(kvEntry), settled func(initial bool)) error {
	stream, err := j.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("journal: watch the bucket %s: %w", bucket, err)
	}
	prefix := "$KV." + bucket + "."
	initial := true
	if stream.CachedInfo().State.Msgs == 0 {
		settled(true)
		initial = false
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{prefix + ">"},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("journal: watch the bucket %s: %w", bucket, err)
	}
	it, err := cons.Messages(jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return fmt.Errorf("journal: watch the bucket %s: %w", bucket, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("journal: watch the bucket %s: %w", bucket, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("journal: watch the bucket %s: %w", bucket, err)
		}
		op := msg.Headers().Get("KV-Operation")
		// A key that expired (a per-key TTL or the bucket's) leaves a
		// marker with no KV-Operation but a reason.
		marker := msg.Headers().Get(jetstream.MarkerReasonHeader) != ""
		fn(kvEntry{
			key:     strings.TrimPrefix(msg.Subject(), prefix),
			value:   msg.Data(),
			deleted: op == "DEL" || op == "PURGE" || marker,
			rev:     meta.Sequence.Stream,
		})
		if meta.NumPending == 0 {
			settled(initial)
			initial = false
		}
	}
}
