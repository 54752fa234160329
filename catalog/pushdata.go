package catalog

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/journal"
)

// PushData owns the data of push charts on this node: it keeps what the
// store's bucket holds, so every node shows the same data, a restart keeps
// it, and a push chart redefined (its view rebuilt empty) gets it back.
type PushData struct {
	store   *journal.Journal
	board   *charts.Board
	log     *slog.Logger
	applied applied

	mu   sync.Mutex
	data map[string]journal.PushData // by chart id
	rev  uint64                      // the newest revision applied to the board
}

// NewPushData returns PushData over store and board.
func NewPushData(store *journal.Journal, board *charts.Board, log *slog.Logger) *PushData {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PushData{store: store, board: board, log: log, data: map[string]journal.PushData{}}
}

// Watch applies the stored data, then every change from any node, until
// ctx ends; ready is called once the data stored at the start is on the
// board.
func (p *PushData) Watch(ctx context.Context, ready func()) error {
	return p.store.WatchData(ctx, func(id string, d journal.PushData, rev uint64) {
		p.mu.Lock()
		p.data[id] = d
		p.mu.Unlock()
		p.show(ctx, id, d)
		p.mu.Lock()
		p.rev = rev
		p.mu.Unlock()
		p.applied.notify()
	}, ready)
}

// Reapply gives the board the stored data of every push chart again,
// after the definitions changed.
func (p *PushData) Reapply(ctx context.Context) {
	p.mu.Lock()
	all := make(map[string]journal.PushData, len(p.data))
	for id, d := range p.data {
		all[id] = d
	}
	p.mu.Unlock()
	for id, d := range all {
		p.show(ctx, id, d)
	}
}

// Put checks d against the chart id as defined now, stores it, and returns
// once this node's board shows it. Errors: charts.ErrNotFound,
// charts.ErrNotPush, a *charts.FieldError, or the store's.
func (p *PushData) Put(ctx context.Context, id string, d journal.PushData) error {
	if err := p.board.CheckData(id, d.Categories, seriesOf(d)); err != nil {
		return err
	}
	rev, err := p.store.PutData(ctx, id, d)
	if err != nil {
		return err
	}
	p.applied.await(ctx, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.rev >= rev
	})
	return nil
}

// show hands d to the board. Data of a chart that is not (or no longer) a
// push chart, or does not fit its definition, stays in the bucket and is
// shown once a definition fits it.
func (p *PushData) show(ctx context.Context, id string, d journal.PushData) {
	err := p.board.SetData(ctx, id, d.Categories, seriesOf(d))
	switch {
	case err == nil, ctx.Err() != nil, errors.Is(err, charts.ErrClosed):
	case errors.Is(err, charts.ErrNotFound), errors.Is(err, charts.ErrNotPush):
		p.log.Debug("stored push data waits for a push chart with its id", "chart", id, "err", err)
	default:
		p.log.Warn("stored push data does not fit its chart; it is not shown", "chart", id, "err", err)
	}
}

// seriesOf is d's series as the board takes them: NaN where a value is
// null.
func seriesOf(d journal.PushData) []charts.FrameSeries {
	series := make([]charts.FrameSeries, len(d.Series))
	for i, s := range d.Series {
		data := make([]float64, len(s.Data))
		for j, v := range s.Data {
			data[j] = math.NaN()
			if v != nil {
				data[j] = *v
			}
		}
		series[i] = charts.FrameSeries{Name: s.Name, Data: data}
	}
	return series
}
