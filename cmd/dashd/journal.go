package main

import (
	"context"
	"sync"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// The journal is the sink of every ingest route; the board is fed from it,
// with the position of each batch, and fills new charts from it.
var (
	_ ingest.Sink            = (*journal.Journal)(nil)
	_ journal.PositionedSink = (*charts.Board)(nil)
	_ charts.History         = (*journal.Journal)(nil)
)

// openStore opens the log and the buckets: the embedded NATS under --data
// (in memory with --data ""), or nats.url.
func (m *Main) openStore() error {
	f := m.cfg.File
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := journal.Open(ctx, journal.Config{
		URL:        f.NATS.URL,
		Dir:        f.Data,
		Replicas:   f.NATS.Replicas,
		MaxBytes:   f.NATS.MaxBytes,
		Logger:     m.log.With("component", "journal"),
		Registerer: m.registry,
	})
	if err != nil {
		return err
	}
	m.store = store
	return nil
}

// startStore provisions the configured dashboards, makes the board follow
// the stored definitions, push data and revocations and the log's
// samples, and marks dashd ready once the replay caught up. stop ends
// every loop.
func (m *Main) startStore(ctx context.Context, provisioned []charts.Dashboard) (stop func(), err error) {
	if _, err := m.defs.Provision(ctx, provisioned, false); err != nil {
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	fail := func(err error) (func(), error) {
		cancel()
		wg.Wait()
		return nil, err
	}
	// waitFor runs watch in its own goroutine until loopCtx ends, and
	// returns once it called its ready function.
	waitFor := func(what string, watch func(ctx context.Context, ready func()) error) error {
		ready := make(chan struct{})
		wg.Go(func() {
			if err := watch(loopCtx, sync.OnceFunc(func() { close(ready) })); err != nil {
				m.log.Error(what+" is no longer followed", "err", err)
			}
		})
		select {
		case <-ready:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var ds []charts.Dashboard
	if err := waitFor("the dashboards' definitions", func(ctx context.Context, ready func()) error {
		return m.defs.Watch(ctx, func(first []charts.Dashboard) { ds = first; ready() })
	}); err != nil {
		return fail(err)
	}
	if err := waitFor("push charts' data", m.push.Watch); err != nil {
		return fail(err)
	}
	if err := waitFor("embed-token revocations", func(ctx context.Context, ready func()) error {
		return m.store.WatchRevocations(ctx, m.revoke, ready)
	}); err != nil {
		return fail(err)
	}

	maxAge, err := m.store.MaxAge(ctx)
	if err != nil {
		return fail(err)
	}
	since := journal.ReplaySince(ds, time.Now(), maxAge)
	// From a checkpoint, the log after it; else every window's span.
	start := m.ckpt.start
	wg.Go(func() {
		err := m.store.FollowSupervised(loopCtx, m.board, journal.FollowConfig{Since: since, After: start.Seq, CaughtUp: func(r journal.ReplayResult) {
			// Ready once the board has taken every replayed batch, filled
			// every chart that changed since the checkpoint it started
			// from, and had one frame interval to publish what they
			// changed.
			for st := m.board.Stats(); (st.Queued > 0 || st.Filling > 0) && loopCtx.Err() == nil; st = m.board.Stats() {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Second/time.Duration(max(m.cfg.File.Stream.MaxFPS, 1)) + 10*time.Millisecond)
			// Not once shutdown has begun, whatever began it (ctx, or the
			// server failing): stopping cancels loopCtx.
			if ctx.Err() == nil && loopCtx.Err() == nil {
				if start.Seq != 0 {
					m.log.Info("started from the checkpoint and replayed the log after it", "checkpoint_seq", start.Seq,
						"samples", r.Samples, "messages", r.Messages, "took", r.Took.Round(time.Millisecond))
				} else {
					m.log.Info("replayed the log", "samples", r.Samples, "messages", r.Messages, "since", since, "took", r.Took.Round(time.Millisecond))
				}
				m.ops.replay.Set(r.Took.Seconds())
				m.ops.replayed.Set(float64(r.Samples))
				m.ready.Store(true)
			}
		}})
		if err != nil {
			m.ready.Store(false)
			m.log.Error("the board no longer follows the log (it has stopped): charts stop moving", "err", err)
		}
	})
	wg.Go(func() { m.writeCheckpoints(loopCtx) })
	// The board still runs when stop is called (Run stops it after).
	return func() { cancel(); wg.Wait(); m.finalCheckpoint() }, nil
}

// revoke refuses the embed token jti from now on and ends its streams; it
// is called for every revocation stored by any node.
func (m *Main) revoke(jti string) {
	if m.keys != nil {
		m.keys.Revoke(jti)
	}
	m.leases.Revoke(jti)
}
