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
	// After, if not zero, starts the follower at the message after this
	// stream sequence instead of at Since (which it then ignores): a board
	// started from a checkpoint taken at After follows on from there.
	After uint64
	// CaughtUp, if set, is called once, from the follower's goroutine,
	// when every message the log held when Follow started has been
	// delivered (at once when there was none).
	CaughtUp func(ReplayResult)
	// RestartBackoff is, for FollowSupervised, the wait before the first
	// restart after a failure (default 100 ms); it doubles with each
	// failure in a row, up to 5 s, and starts again once a follower has
	// delivered a batch.
	RestartBackoff time.Duration
}

// maxRestartBackoff caps FollowSupervised's wait between restarts.
const maxRestartBackoff = 5 * time.Second

// Follow reads the log from fc.Since on, in order, and hands every batch
// to sink, then keeps following new messages until ctx is done (it then
// returns nil). A sink that answers *ingest.OverloadError is retried until
// it takes the batch: nothing read is dropped. Any other error of the sink
// ends Follow with that error. Messages that cannot be decoded are logged,
// counted and skipped.
//
// Follow runs in the caller's goroutine; several may run at once (each has
// its own ordered consumer). What it has delivered when ctx ends is all it
// delivered: a restarted follower starts again from its Since. Use
// FollowSupervised for a follower that must not stop.
func (j *Journal) Follow(ctx context.Context, sink ingest.Sink, fc FollowConfig) error {
	f := newFollower(j, sink, fc)
	if err := f.begin(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	return f.run(ctx)
}

// FollowSupervised is Follow that does not stop before ctx ends: when the
// follower fails (the stream cannot be read, the sink answers an error
// that is not an overload, NATS is away when it starts), it is started
// again after a backoff (fc.RestartBackoff) at the message after the last
// one the sink took: a PositionedSink's last accepted through, plus one.
// So every message stored is handed to the sink exactly once and in
// order, across any number of restarts, provided the sink keeps nothing
// of a batch it answered with an error (the ingest.Sink contract).
// fc.CaughtUp is called once, whatever the restarts. Each restart is
// logged and counted in dashd_journal_follow_restarts_total.
//
// It returns nil when ctx ends, and charts.ErrClosed (wrapped) at once
// when the sink answers it: a board that has stopped takes nothing more.
func (j *Journal) FollowSupervised(ctx context.Context, sink ingest.Sink, fc FollowConfig) error {
	first := fc.RestartBackoff
	if first <= 0 {
		first = 100 * time.Millisecond
	}
	f := newFollower(j, sink, fc)
	wait := first
	for {
		delivered := f.res.Samples
		err := f.begin(ctx)
		if err == nil && ctx.Err() == nil {
			err = f.run(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, charts.ErrClosed) {
			return err
		}
		if f.res.Samples > delivered {
			wait = first // it made progress: not a failure in a row
		}
		j.m.restarts.Inc()
		j.log.Warn("the log follower stopped; it starts again after the last batch the board took",
			"err", err, "from_seq", f.pos+1, "after", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRestartBackoff)
	}
}

// follower is the state of one Follow or FollowSupervised: what it has
// handed the sink, which survives a restart of its consumer. Only its
// goroutine uses it.
type follower struct {
	j     *Journal
	sink  ingest.Sink
	fc    FollowConfig
	start time.Time

	begun  bool
	target uint64 // the log's last sequence when it began: CaughtUp's mark
	caught bool   // CaughtUp was called (or had nothing to wait for)

	res ReplayResult // what it delivered
	// pos is the stream sequence up to which every message has been
	// handed to the sink (or skipped as undecodable), 0 for none: a
	// restart reads from pos+1. posRes is res at pos.
	pos    uint64
	posRes ReplayResult
	// running is the table of running totals, through running.seq: a
	// restart at another place than where it is warms a new one.
	running *runningTable
	evicted uint64 // running's evictions already counted in the metric
}

func newFollower(j *Journal, sink ingest.Sink, fc FollowConfig) *follower {
	// Everything up to After is in the sink already (a checkpoint): a
	// restart, like the start, reads from After+1.
	return &follower{j: j, sink: sink, fc: fc, start: time.Now(), pos: fc.After}
}

// begin reads the log's extent once, the first time, to know when the
// follower has caught up.
func (f *follower) begin(ctx context.Context) error {
	if f.begun {
		return nil
	}
	info, err := f.j.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("journal: read the stream: %w", err)
	}
	f.begun = true
	f.target = info.State.LastSeq
	caught := info.State.Msgs == 0 || f.target <= f.fc.After
	if !caught && f.fc.After == 0 && !f.fc.Since.IsZero() {
		// Nothing stored since Since: the consumer would deliver nothing.
		if last, err := f.j.stream.GetMsg(ctx, f.target); err == nil && last.Time.Before(f.fc.Since) {
			caught = true
		}
	}
	if caught {
		// Caught up already (nothing after a checkpoint): ready, once the
		// table is warm for what comes next.
		if err := f.warm(ctx); err != nil {
			return err
		}
		f.report()
	}
	return nil
}

// warm makes the follower's table of running totals hold what the log
// held at pos (see running.go), unless it does already.
func (f *follower) warm(ctx context.Context) error {
	if f.running != nil && f.running.seq == f.pos {
		return nil
	}
	var err error
	if f.pos == 0 && !f.fc.Since.IsZero() {
		f.running, err = f.j.runningSince(ctx, f.fc.Since)
	} else {
		f.running, err = f.j.runningAfter(ctx, f.pos)
	}
	f.evicted = 0
	if err != nil {
		f.running = nil // half warm: warm again
		return err
	}
	// Since a time, pos 0 stands for "before the first message stored
	// since then", which is where the table now is.
	f.running.seq = f.pos
	return nil
}

func (f *follower) report() {
	f.caught = true
	f.res.Took = time.Since(f.start)
	if f.fc.CaughtUp != nil {
		f.fc.CaughtUp(f.res)
	}
}

// run reads the log with one ordered consumer, from the start (fc.Since)
// or from pos+1 (after a restart, or fc.After), until ctx ends (nil) or it
// fails.
func (f *follower) run(ctx context.Context) error {
	j := f.j
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subjectAll}, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case f.pos > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, f.pos+1
	case !f.fc.Since.IsZero():
		since := f.fc.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	if err := f.warm(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// What was read after pos and not handed to the sink is read again.
	f.res.Messages, f.res.Skipped, f.res.LastSeq = f.posRes.Messages, f.posRes.Skipped, f.posRes.LastSeq
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
		f.res.Messages++
		f.res.LastSeq = meta.Sequence.Stream
		samples, ok := j.decode(msg.Data(), msg.Subject(), meta.Sequence.Stream, meta.Timestamp)
		if ok {
			samples = f.running.apply(samples, meta.Sequence.Stream, meta.Timestamp)
			f.countRunning()
		} else {
			f.running.seq = meta.Sequence.Stream
		}
		if !ok {
			f.res.Skipped++
		} else if len(samples) == 0 {
			// Only running totals that set a baseline: nothing to hand.
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
		reached := !f.caught && (f.res.LastSeq >= f.target || meta.NumPending == 0)
		if len(pending) > 0 && (meta.NumPending == 0 || len(pending) >= maxMerge || reached) {
			if err := j.deliver(ctx, f.sink, pending, charts.Position{Seq: f.res.LastSeq, Time: meta.Timestamp}); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			f.res.Samples += uint64(len(pending))
			pending = nil
		}
		if len(pending) == 0 {
			f.pos, f.posRes = f.res.LastSeq, f.res
		}
		if reached {
			f.report()
		}
	}
}

// countRunning puts the follower's table in the metrics.
func (f *follower) countRunning() {
	m := &f.j.m.running
	m.series.Set(float64(f.running.cum.Len()))
	if e := f.running.cum.Evicted(); e > f.evicted {
		m.evicted.Add(float64(e - f.evicted))
		f.evicted = e
	}
}

// decode decodes the message data stored at stream sequence seq at time
// stored; one that cannot be decoded is logged, counted and reported not
// ok, for the caller to skip.
//
// The determinism rule: every sample's time is clamped to stored, the
// log's timestamp of its message (a sample without a time, or one from
// the future, gets stored). A sample's time then depends on the log
// alone, not on the clock of whoever reads it or when, so a chart's state
// is the same on every node, live or replayed, with or without a
// checkpoint. Every reader of the log (Follow, ReplayThrough,
// ReplayRange) decodes through here.
func (j *Journal) decode(data []byte, subject string, seq uint64, stored time.Time) ([]ingest.Sample, bool) {
	samples, err := DecodeBatch(data)
	if err != nil {
		j.m.undecodable.Inc()
		j.log.Error("a message of the log cannot be decoded; it is skipped", "seq", seq, "subject", subject, "err", err)
		return nil, false
	}
	clamp(samples, stored)
	return samples, true
}

// clamp sets the time of every sample of batch that has none, or one after
// stored, to stored.
func clamp(batch []ingest.Sample, stored time.Time) {
	for i := range batch {
		if t := &batch[i].Time; t.IsZero() || t.After(stored) {
			*t = stored
		}
	}
}

// PositionedSink is a sink that is told, with each batch, the position in
// the log of the batch's last message, so that it can later ask
// ReplayThrough for exactly what it has been given, and checkpoint its
// state at that position (charts.Board is one). Follow hands batches to a
// sink that implements it through AcceptAt.
type PositionedSink interface {
	AcceptAt(ctx context.Context, batch []ingest.Sample, pos charts.Position) error
}

// deliver hands batch, which ends at pos, to sink, waiting out overloads.
func (j *Journal) deliver(ctx context.Context, sink ingest.Sink, batch []ingest.Sample, pos charts.Position) error {
	accept := sink.Accept
	if ps, ok := sink.(PositionedSink); ok {
		accept = func(ctx context.Context, batch []ingest.Sample) error { return ps.AcceptAt(ctx, batch, pos) }
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := accept(ctx, batch)
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

// ReplayThrough hands apply, in order, the samples of every message stored
// at or after since (zero: the whole log) up to stream sequence through,
// merged into batches of up to maxMerge samples each with the position of
// its last message, and returns once it has
// handed the one at through (or the last before it, were that one gone).
// It implements charts.History: a board fed by Follow knows the sequence
// of the last batch it took, and fills a chart defined later with exactly
// what came before. Messages that cannot be decoded are skipped, as Follow
// skips them, and times are clamped as Follow clamps them. It reads
// through an ephemeral consumer of its own, deleted when it returns.
func (j *Journal) ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	if through == 0 {
		return nil
	}
	cc := jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	running, err := j.runningAfter(ctx, 0)
	if !since.IsZero() {
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
		running, err = j.runningSince(ctx, since)
	}
	if err != nil {
		return err
	}
	return j.replay(ctx, cc, through, running, apply)
}

// ReplayRange hands apply, in order, the samples of every message after
// stream sequence after up to through, merged into batches of up to
// maxMerge samples, each with the position of its last message, and
// returns once it has handed the one at through (or the last before it,
// were that one gone). A board started from a checkpoint taken at after
// is brought to through by it; nothing is handed when through <= after.
// It decodes and clamps as Follow does; messages that cannot be decoded
// are skipped (a batch's position may then be that of a skipped message).
// Messages before the log's first are gone: it starts at the first.
//
// It reads by batched direct gets (ADR-31; replaydirect.go): no consumer
// is made, so a rewind costs the server the reads alone, and the reads
// stop the moment ctx ends. Should they stop short, a consumer reads the
// rest.
func (j *Journal) ReplayRange(ctx context.Context, after, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	if through <= after {
		return nil
	}
	running, err := j.runningAfter(ctx, after)
	if err != nil {
		return err
	}
	next, err := j.replayDirect(ctx, after+1, through, running, apply)
	if !errors.Is(err, errNoDirect) {
		return err
	}
	// The direct reads stopped short (a replica that lags behind, a server
	// without batched direct gets): a consumer, which the stream's leader
	// serves, reads the rest.
	j.log.Debug("journal: a range of the log is read by a consumer", "from", next, "through", through, "err", err)
	cc := jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: next}
	return j.replay(ctx, cc, through, running, apply)
}

// readOnce makes a short-lived consumer of cc for one read (no acks, in
// memory, one replica; the server removes it after a minute should dashd
// vanish) and returns it and its messages, and stop, which ends them and
// deletes the consumer. It returns a nil iterator (and no stop to call)
// when nothing is pending from where cc starts. what names the read in
// errors.
func (j *Journal) readOnce(ctx context.Context, cc jetstream.ConsumerConfig, what string) (jetstream.Consumer, jetstream.MessagesContext, func(), error) {
	cc.AckPolicy = jetstream.AckNonePolicy
	cc.InactiveThreshold = time.Minute
	cc.MemoryStorage = true
	cc.Replicas = 1
	cons, err := j.stream.CreateConsumer(ctx, cc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("journal: a consumer of %s: %w", what, err)
	}
	name := cons.CachedInfo().Name
	remove := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = j.stream.DeleteConsumer(ctx, name) // else InactiveThreshold does it
	}
	if cons.CachedInfo().NumPending == 0 {
		remove()
		return cons, nil, nil, nil
	}
	it, err := cons.Messages(jetstream.PullMaxBytes(16 << 20))
	if err != nil {
		remove()
		return nil, nil, nil, fmt.Errorf("journal: read %s: %w", what, err)
	}
	return cons, it, func() { it.Stop(); remove() }, nil
}

// replay reads the log from where cc starts up to stream sequence through
// with an ephemeral consumer, and hands apply merged batches, their running
// totals turned into increases by running (warmed up to where cc starts).
func (j *Journal) replay(ctx context.Context, cc jetstream.ConsumerConfig, through uint64, running *runningTable, apply func([]ingest.Sample, charts.Position) error) error {
	cc.FilterSubject = subjectAll
	_, it, stop, err := j.readOnce(ctx, cc, "the stream")
	if err != nil || it == nil {
		return err // nil, nil: nothing stored from where it starts
	}
	defer stop()

	var (
		batch []ingest.Sample
		pos   charts.Position
	)
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("journal: read the stream: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("journal: read the stream: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq > through {
			break
		}
		pos = charts.Position{Seq: seq, Time: meta.Timestamp}
		if samples, ok := j.decode(msg.Data(), msg.Subject(), seq, meta.Timestamp); ok {
			batch = append(batch, running.apply(samples, seq, meta.Timestamp)...)
		}
		// NumPending 0: the stream's last message, so nothing up to
		// through is left (through was gone).
		end := seq == through || meta.NumPending == 0
		if len(batch) >= maxMerge || (end && len(batch) > 0) {
			if err := apply(batch, pos); err != nil {
				return err
			}
			batch = nil
		}
		if end {
			break
		}
	}
	if len(batch) > 0 {
		return apply(batch, pos)
	}
	return nil
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

// Retention is how long the log must keep samples for the charts of ds:
// the longest window that has a bound, plus the ingest limits' MaxFuture.
// Charts without a bound (tag categories without a window) show what the
// log holds and ask for nothing.
func Retention(ds []charts.Dashboard) time.Duration {
	var longest time.Duration
	for _, d := range ds {
		for _, c := range d.Charts {
			longest = max(longest, c.Lookback())
		}
	}
	if longest == 0 {
		return 0
	}
	return longest + ingest.DefaultMaxFuture
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
			w := c.Lookback()
			if w == 0 {
				return now.Add(-maxAge)
			}
			longest = max(longest, w)
		}
	}
	return now.Add(-min(longest+ingest.DefaultMaxFuture, maxAge))
}
