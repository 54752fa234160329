package rewind

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/dashd/dashd/charts"
)

// Replay is one viewer's replay: the views of a set, rolled forward
// through the log from a past moment, one step at a time, never computed
// again from scratch. It counts against Config.MaxReplays until Close.
// A Replay is used by one goroutine.
type Replay struct {
	r      *Rewinder
	st     *state
	at     time.Time
	last   map[string][]byte // the data of each chart's last frame sent
	closed bool
}

// Replay starts a replay of set at from: the views as they were then. It
// returns a *RangeError for a moment the log cannot show and a
// *BusyError when MaxReplays are open.
func (r *Rewinder) Replay(ctx context.Context, set Set, from time.Time) (*Replay, error) {
	if err := r.Check(ctx, from); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.replays >= r.cfg.MaxReplays {
		r.mu.Unlock()
		return nil, &BusyError{RetryAfter: r.cfg.RetryAfter, What: "replays"}
	}
	r.replays++
	r.met.replays.Inc()
	r.mu.Unlock()
	st, err := r.start(ctx, set.Charts, from)
	if err != nil {
		r.release()
		return nil, err
	}
	return &Replay{r: r, st: st, at: from, last: map[string][]byte{}}, nil
}

func (r *Rewinder) release() {
	r.mu.Lock()
	r.replays--
	r.met.replays.Dec()
	r.mu.Unlock()
}

// At is the moment the replay has reached.
func (p *Replay) At() time.Time { return p.at }

// Through is the last log message applied.
func (p *Replay) Through() charts.Position { return p.st.through }

// Step rolls the views forward to the moment to (not before the moment
// reached) and returns the frames that changed since the last step (all of
// them at the first), built as of to. Their seqs rise by one each step a
// chart changes.
func (p *Replay) Step(ctx context.Context, to time.Time) ([]charts.Frame, error) {
	if p.closed {
		return nil, fmt.Errorf("rewind: the replay is closed")
	}
	if to.Before(p.at) {
		to = p.at
	}
	q, err := p.r.cfg.Log.PositionAt(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("rewind: the log position of %s: %w", to.UTC().Format(time.RFC3339Nano), err)
	}
	if q.Seq > p.st.through.Seq {
		if err := p.r.apply(ctx, p.st.views, p.st.through.Seq, q.Seq, to); err != nil {
			return nil, err
		}
		p.st.through = q
	}
	p.at = to
	var out []charts.Frame
	for _, v := range p.st.views {
		f := v.Frame(to)
		data := dataOf(&f)
		if old, ok := p.last[f.Chart]; ok && bytes.Equal(old, data) {
			continue
		}
		p.last[f.Chart] = data
		out = append(out, f)
	}
	return out, nil
}

// dataOf is what a frame shows, without its seq and time.
func dataOf(f *charts.Frame) []byte {
	g := *f
	g.Seq, g.Time = 0, time.Time{}
	return g.AppendJSON(nil)
}

// Close ends the replay and frees its place.
func (p *Replay) Close() {
	if p.closed {
		return
	}
	p.closed = true
	p.r.release()
}
