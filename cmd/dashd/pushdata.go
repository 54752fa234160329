package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/journal"
)

// pushData holds the data of push charts as the bucket dashd_pushdata
// has it, so that every node shows the same data, a restart keeps it, and
// a push chart redefined (its view rebuilt empty) gets it back.
type pushData struct {
	mu   sync.Mutex
	data map[string]journal.PushData // by chart id
	// rev is the newest revision of the bucket applied to the board; a
	// PUT waits for its own revision, so its client reads what it wrote.
	rev atomic.Uint64
}

// watchPushData applies the stored data, then every change from any node,
// until ctx ends. ready is called once the data stored at the start is on
// the board.
func (m *Main) watchPushData(ctx context.Context, ready func()) error {
	return m.store.WatchData(ctx, func(id string, d journal.PushData, rev uint64) {
		m.push.mu.Lock()
		if m.push.data == nil {
			m.push.data = map[string]journal.PushData{}
		}
		m.push.data[id] = d
		m.push.mu.Unlock()
		m.setPushData(ctx, id, d)
		m.push.rev.Store(rev)
	}, ready)
}

// reapplyPushData gives the board the stored data of every push chart
// again, after the definitions changed.
func (m *Main) reapplyPushData(ctx context.Context) {
	m.push.mu.Lock()
	all := make(map[string]journal.PushData, len(m.push.data))
	for id, d := range m.push.data {
		all[id] = d
	}
	m.push.mu.Unlock()
	for id, d := range all {
		m.setPushData(ctx, id, d)
	}
}

// setPushData hands d to the board. Data of a chart that is not (or no
// longer) a push chart, or does not fit its definition, stays in the
// bucket and is shown once a definition fits it.
func (m *Main) setPushData(ctx context.Context, id string, d journal.PushData) {
	cats, series := d.Categories, make([]charts.FrameSeries, len(d.Series))
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
	err := m.board.SetData(ctx, id, cats, series)
	switch {
	case err == nil, ctx.Err() != nil, errors.Is(err, charts.ErrClosed):
	case errors.Is(err, charts.ErrNotFound), errors.Is(err, charts.ErrNotPush):
		m.log.Debug("stored push data waits for a push chart with its id", "chart", id, "err", err)
	default:
		m.log.Warn("stored push data does not fit its chart; it is not shown", "chart", id, "err", err)
	}
}

// checkPushData says whether d can be the data of the chart id as defined
// now: the errors the board would answer, without changing it.
func checkPushData(board *charts.Board, id string, d journal.PushData) error {
	def, ok := board.Chart(id)
	if !ok {
		return charts.ErrNotFound
	}
	if def.Metric != "" {
		return charts.ErrNotPush
	}
	for i, s := range d.Series {
		if len(s.Data) != len(d.Categories) {
			return &charts.FieldError{Field: fmt.Sprintf("series[%d].data", i), Message: fmt.Sprintf("has %d values for %d categories", len(s.Data), len(d.Categories))}
		}
	}
	return nil
}
