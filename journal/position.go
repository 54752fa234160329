package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
)

// Bounds is the position of the first and of the last message the log
// holds now; both are zero when it holds none.
func (j *Journal) Bounds(ctx context.Context) (first, last charts.Position, err error) {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return first, last, fmt.Errorf("journal: read the stream: %w", err)
	}
	st := info.State
	if st.Msgs == 0 {
		return first, last, nil
	}
	return charts.Position{Seq: st.FirstSeq, Time: st.FirstTime}, charts.Position{Seq: st.LastSeq, Time: st.LastTime}, nil
}

// maxGap bounds how many missing sequences PositionAt steps back over (a
// message removed from the middle of the log) before it gives up.
const maxGap = 16

// PositionAt is the position of the last message the log stored at or
// before t; the zero Position when the log holds none that old (t is
// before its first message, or it is empty). It asks the stream for the
// first message stored after t (a get by time, which the server answers
// by a binary search of its store, not by reading the log) and takes the
// message before it: a few requests whatever the log's size.
func (j *Journal) PositionAt(ctx context.Context, t time.Time) (charts.Position, error) {
	first, last, err := j.Bounds(ctx)
	if err != nil || first.Seq == 0 {
		return charts.Position{}, err
	}
	if !last.Time.After(t) {
		return last, nil
	}
	after, found, err := j.firstAtOrAfter(ctx, t.Add(time.Nanosecond))
	if err != nil {
		return charts.Position{}, err
	}
	if !found {
		// The last message came after Bounds read it: what was last then
		// is the answer still, unless that too is after t (a clock that
		// stepped back); then look again from the top.
		if !last.Time.After(t) {
			return last, nil
		}
		after = charts.Position{Seq: last.Seq + 1}
	}
	for seq := after.Seq - 1; seq >= first.Seq && seq+maxGap >= after.Seq; seq-- {
		msg, err := j.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // removed, or aged out just now
		}
		if err != nil {
			return charts.Position{}, fmt.Errorf("journal: read the log at seq %d: %w", seq, err)
		}
		return charts.Position{Seq: seq, Time: msg.Time}, nil
	}
	return charts.Position{}, nil
}

// firstAtOrAfter asks JetStream for the first message stored at or after
// t: the stream's message get with start_time, which nats.go does not
// offer, so the request is made here (the message data comes along and is
// dropped).
func (j *Journal) firstAtOrAfter(ctx context.Context, t time.Time) (pos charts.Position, found bool, err error) {
	req, err := json.Marshal(struct {
		StartTime time.Time `json:"start_time"`
		NoHeaders bool      `json:"no_hdr"`
	}{t.UTC(), true})
	if err != nil {
		return pos, false, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	resp, err := j.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+StreamName, req)
	if err != nil {
		return pos, false, fmt.Errorf("journal: find the message at %s: %w", t.Format(time.RFC3339Nano), err)
	}
	var ans struct {
		Message *struct {
			Seq  uint64    `json:"seq"`
			Time time.Time `json:"time"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &ans); err != nil {
		return pos, false, fmt.Errorf("journal: find the message at %s: unreadable answer: %w", t.Format(time.RFC3339Nano), err)
	}
	switch {
	case ans.Error != nil && ans.Error.Code == 404:
		return pos, false, nil
	case ans.Error != nil:
		return pos, false, fmt.Errorf("journal: find the message at %s: %s (code %d, err_code %d)", t.Format(time.RFC3339Nano), ans.Error.Description, ans.Error.Code, ans.Error.ErrCode)
	case ans.Message == nil:
		return pos, false, fmt.Errorf("journal: find the message at %s: an answer without a message", t.Format(time.RFC3339Nano))
	}
	return charts.Position{Seq: ans.Message.Seq, Time: ans.Message.Time}, true, nil
}
