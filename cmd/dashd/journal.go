package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
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

// openStore opens the log and the dashboard bucket: the embedded NATS
// under --data (in memory with --data ""), or nats.url.
func (m *Main) openStore() error {
	f := m.cfg.File
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := journal.Open(ctx, journal.Config{
		URL:        f.NATS.URL,
		Dir:        f.Data,
		Replicas:   f.NATS.Replicas,
		Logger:     m.log.With("component", "journal"),
		Registerer: m.registry,
	})
	if err != nil {
		return err
	}
	m.store = store
	return nil
}

// startStore provisions the configured dashboards into the bucket, makes
// the board follow the bucket's definitions and the log's samples, and
// marks dashd ready once the replay caught up. stop ends both loops.
func (m *Main) startStore(ctx context.Context, provisioned []charts.Dashboard) (stop func(), err error) {
	if err := m.provision(ctx, provisioned); err != nil {
		return nil, err
	}
	m.provMu.Lock()
	m.provisioned = map[string]bool{}
	for _, d := range provisioned {
		m.provisioned[d.ID] = true
	}
	m.provMu.Unlock()

	loopCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	first := make(chan []charts.Dashboard, 1)
	wg.Go(func() {
		err := m.store.WatchDashboards(loopCtx, func(ds []charts.Dashboard) {
			// Keep the log as long as the longest window first, so what
			// the charts will need is not dropped meanwhile.
			if err := m.store.Retain(loopCtx, journal.Retention(ds)); err != nil && loopCtx.Err() == nil {
				m.log.Warn("the log's max age could not follow the longest chart window; a restart may show less of it", "err", err)
			}
			m.applyDashboards(loopCtx, ds)
			m.reapplyPushData(loopCtx) // a redefined push chart starts empty
			select {
			case first <- ds:
			default:
			}
		})
		if err != nil {
			m.log.Error("dashboard definitions are no longer followed", "err", err)
		}
	})
	var ds []charts.Dashboard
	select {
	case ds = <-first:
	case <-ctx.Done():
		cancel()
		wg.Wait()
		return nil, ctx.Err()
	}

	dataReady := make(chan struct{})
	wg.Go(func() {
		if err := m.watchPushData(loopCtx, func() { close(dataReady) }); err != nil {
			m.log.Error("push charts' data is no longer followed", "err", err)
		}
	})
	select {
	case <-dataReady:
	case <-ctx.Done():
		cancel()
		wg.Wait()
		return nil, ctx.Err()
	}

	maxAge, err := m.store.MaxAge(ctx)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	since := journal.ReplaySince(ds, time.Now(), maxAge)
	wg.Go(func() {
		err := m.store.Follow(loopCtx, m.board, journal.FollowConfig{Since: since, CaughtUp: func(r journal.ReplayResult) {
			// Ready once the board has taken every replayed batch and had
			// one frame interval to publish what they changed.
			for m.board.Stats().Queued > 0 && loopCtx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Second/time.Duration(max(m.cfg.File.Stream.MaxFPS, 1)) + 10*time.Millisecond)
			// Not once shutdown has begun, whatever began it (ctx, or the
			// server failing): stopping cancels loopCtx.
			if ctx.Err() == nil && loopCtx.Err() == nil {
				m.log.Info("replayed the log", "samples", r.Samples, "messages", r.Messages, "since", since, "took", r.Took.Round(time.Millisecond))
				m.ops.replay.Set(r.Took.Seconds())
				m.ops.replayed.Set(float64(r.Samples))
				m.ready.Store(true)
			}
		}})
		if err != nil {
			m.ready.Store(false)
			m.log.Error("the board no longer follows the log: charts stop moving", "err", err)
		}
	})
	return func() { cancel(); wg.Wait() }, nil
}

// provision stores the dashboards of the configuration file (and --demo):
// for the ids they name, the file wins over what the bucket holds.
func (m *Main) provision(ctx context.Context, ds []charts.Dashboard) error {
	stored, err := m.store.Dashboards(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		i := slices.IndexFunc(stored, func(s charts.Dashboard) bool { return s.ID == d.ID })
		switch {
		case i < 0:
		case reflect.DeepEqual(stored[i], d):
			continue
		default:
			m.log.Warn("the configuration replaces the stored definition of a dashboard (the file wins for the ids it names)", "dashboard", d.ID)
		}
		if err := m.store.PutDashboard(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// applyDashboards gives the board the bucket's definitions. Should they
// clash (two nodes stored dashboards whose chart ids collide at the same
// moment), the dashboards that fit are kept, in id order, and the others
// are left out with an error in the log.
func (m *Main) applyDashboards(ctx context.Context, ds []charts.Dashboard) {
	err := m.board.SetDashboards(ctx, ds)
	if err == nil || errors.Is(err, charts.ErrClosed) || ctx.Err() != nil {
		return
	}
	var kept []charts.Dashboard
	for _, d := range ds {
		if err := checkDashboard(kept, &d); err != nil {
			m.log.Error("a stored dashboard is left out: it does not fit with the others", "dashboard", d.ID, "err", err)
			continue
		}
		kept = append(kept, d)
	}
	if err := m.board.SetDashboards(ctx, kept); err != nil && ctx.Err() == nil {
		m.log.Error("the stored dashboards cannot be shown; the previous ones stay", "err", err)
	}
}

// checkDashboard normalizes and validates d as the board would, next to the
// dashboards of current with another id.
func checkDashboard(current []charts.Dashboard, d *charts.Dashboard) error {
	var errs []error
	if err := d.Check(); err != nil {
		errs = append(errs, err)
	}
	owner := map[string]string{}
	for _, o := range current {
		if o.ID == d.ID {
			continue
		}
		for _, c := range o.Charts {
			owner[c.ID] = o.ID
		}
	}
	for i, c := range d.Charts {
		if other, ok := owner[c.ID]; ok {
			errs = append(errs, &charts.FieldError{Field: fmt.Sprintf("charts[%d].id", i), Message: fmt.Sprintf("%q is already a chart of dashboard %q (chart ids are unique across dashboards)", c.ID, other)})
		}
	}
	return errors.Join(errs...)
}

// awaitBoard waits (briefly) until the board shows what was just stored, so
// a client that reads after its write sees it on this node.
func awaitBoard(ctx context.Context, done func() bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for !done() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}
