package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// maxMerge is how many samples of consecutive messages Follow hands to the
// sink as one batch while more messages are waiting (replay); a message
// read with nothing behind it (live) goes alone, at once.
const maxMerge = 16384

// ReplayResult says what a follower delivered up to the point it reports.
type ReplayResult struct {
	Messages uint64        // messages read
	Samples  uint64        // samples delivered to the sink
	Skipped  uint64        // messages that could not be decoded (logged, skipped)
	LastSeq  uint64        // the stream sequence of the last message read
	Took     time.Duration // since Follow started
}

// FollowConfig says where a follower starts and whom it tells.
type FollowConfig struct {
	// Since is the earliest store time delivered; zero means the whole log.
	Since time.Time
	// CaughtUp, if set, is called once, from the follower's goroutine,
	// when every message the log held when Follow started has been
	// delivered (at once when there was none).
	CaughtUp func(ReplayResult)
}

// Follow reads the log from fc.Since on, in order, and hands every batch
// to sink, then keeps following new messages until ctx is done (it then
// returns nil). A sink that answers *ingest.OverloadError is retried until
// it takes the batch: nothing read is dropped. Any other error of the sink
// ends Follow with that error. Messages that cannot be decoded are logged,
// counted and skipped.
//
// Follow runs in the caller's goroutine; several may run at once (each has
// its own ordered consumer). What it has delivered when ctx ends is all it
// delivered: a restarted follower starts again from its Since.
func (j *Journal) Follow(ctx context.Context, sink ingest.Sink, fc FollowConfig) error {
	start := time.Now()
	info, err := j.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("journal: read the stream: %w", err)
	}
	target := info.State.LastSeq
	caught := info.State.Msgs == 0
	if !caught && !fc.Since.IsZero() {
		// Nothing stored since Since: the consumer would deliver nothing.
		if last, err := j.stream.GetMsg(ctx, target); err == nil && last.Time.Before(fc.Since) {
			caught = true
		}
	}
	var res ReplayResult
	report := func() {
		caught = true
		res.Took = time.Since(start)
		if fc.CaughtUp != nil {
			fc.CaughtUp(res)
		}
	}
	if caught {
		report()
	}
	if ctx.Err() != nil {
		return nil
	}

	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subjectAll}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !fc.Since.IsZero() {
		since := fc.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := j.stream.OrderedConsumer(ctx, cc)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("journal: a consumer of the stream: %w", err)
	}
	// Buffer up to 64 MiB of messages ahead of the sink. A heartbeat every
	// second lets the ordered consumer notice within about two seconds that
	// the server holding it is gone (in a cluster) and start again where it
	// was; the default of 5 s stalled the charts for 10 to 20 s.
	it, err := cons.Messages(jetstream.PullMaxBytes(64<<20), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return fmt.Errorf("journal: read the stream: %w", err)
	}
	defer it.Stop()

	var pending []ingest.Sample
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("journal: read the stream: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("journal: read the stream: %w", err)
		}
		res.Messages++
		res.LastSeq = meta.Sequence.Stream
		samples, err := DecodeBatch(msg.Data())
		if err != nil {
			res.Skipped++
			j.m.undecodable.Inc()
			j.log.Error("a message of the log cannot be decoded; it is skipped", "seq", meta.Sequence.Stream, "subject", msg.Subject(), "err", err)
		} else if pending == nil && meta.NumPending == 0 {
			pending = samples
		} else {
			if pending == nil {
				// Replay: merge into one batch sized once.
				pending = make([]ingest.Sample, 0, max(maxMerge, len(samples)))
			}
			pending = append(pending, samples...)
		}
		// Caught up: at the last message that existed at the start, or
		// (were that one gone by now) at nothing more to read.
		reached := !caught && (res.LastSeq >= target || meta.NumPending == 0)
		if len(pending) > 0 && (meta.NumPending == 0 || len(pending) >= maxMerge || reached) {
			if err := j.deliver(ctx, sink, pending); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			res.Samples += uint64(len(pending))
			pending = nil
		}
		if reached {
			report()
		}
	}
}

// deliver hands batch to sink, waiting out overloads.
func (j *Journal) deliver(ctx context.Context, sink ingest.Sink, batch []ingest.Sample) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := sink.Accept(ctx, batch)
		if err == nil {
			j.m.delivered.Add(float64(len(batch)))
			return nil
		}
		var over *ingest.OverloadError
		if !errors.As(err, &over) {
			return fmt.Errorf("journal: the board refused a batch from the log: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Replay delivers what the log holds from since on, up to its last message
// when Replay starts, and returns what it delivered.
func (j *Journal) Replay(ctx context.Context, sink ingest.Sink, since time.Time) (ReplayResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res ReplayResult
	done := false
	err := j.Follow(ctx, sink, FollowConfig{Since: since, CaughtUp: func(r ReplayResult) {
		res, done = r, true
		cancel()
	}})
	if err == nil && !done {
		err = ctx.Err()
	}
	return res, err
}

// ReplaySince is where a follower feeding a board of ds should start at
// now: the longest window of any chart back, plus the ingest limits'
// MaxFuture (a sample may carry a time up to that far past its arrival).
// A chart whose tag categories have no window shows everything since the
// start, so then it is the whole log (maxAge back).
func ReplaySince(ds []charts.Dashboard, now time.Time, maxAge time.Duration) time.Time {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	var longest time.Duration
	for _, d := range ds {
		for _, c := range d.Charts {
			if c.Metric == "" {
				continue
			}
			w := time.Duration(c.Window)
			if w == 0 && c.X == charts.TimeAxis {
				w = 60 * time.Duration(c.Bucket)
			}
			if w == 0 {
				return now.Add(-maxAge)
			}
			longest = max(longest, w)
		}
	}
	return now.Add(-min(longest+ingest.DefaultMaxFuture, maxAge))
}
