package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/rewind"
)

// Speeds are the replay speeds ?speed= takes.
var Speeds = []int{1, 2, 5, 10, 30, 60}

// replayStep is the real time between two frames of a replay: the moment
// shown moves by replayStep × speed each step.
const replayStep = 250 * time.Millisecond

// liveMessage tells a replay's viewer that the frames after it are live
// (their seqs start again: take the next frame of each chart whatever its
// seq). On a WebSocket the replay then ends with close 1000, reason
// "live", for the client to open the live stream (without ?from=); an SSE
// stream goes on live in the same response.
var liveMessage = []byte(`{"type":"live"}`)

// speedOf reads ?speed= (default 1).
func speedOf(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("speed")
	if raw == "" {
		return 1, nil
	}
	s, err := strconv.Atoi(raw)
	if err != nil || !slices.Contains(Speeds, s) {
		return 0, fmt.Errorf("?speed=%q: expected one of %v (times real time)", raw, Speeds)
	}
	return s, nil
}

// replaySet is the set a replay of topics rolls forward: the charts named
// (a dashboard's topic is skipped: its announcements are live only).
func (a *API) replaySet(topics []string) rewind.Set {
	set := rewind.Set{Key: "stream"}
	for _, id := range topics {
		if c, ok := a.cfg.Board.Chart(id); ok {
			set.Charts = append(set.Charts, c)
		}
	}
	return set
}

// startReplay answers ?from=T on a stream: it checks the moment and the
// speed and starts the replay, or answers the refusal itself (nil). A
// filtered reader replays the charts seen through its filters
// (narrowSet; dashboard names the dashboard streamed, if one is).
func (a *API) startReplay(w http.ResponseWriter, r *http.Request, topics []string, dashboard string) (*rewind.Replay, int, bool) {
	from, present, handled := a.momentOf(w, r, "from")
	if !present || handled {
		return nil, 0, handled
	}
	speed, err := speedOf(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, access.JSON, Error{Error: err.Error(), Reason: "bad_speed"}, 0)
		return nil, 0, true
	}
	if a.cfg.Replays == nil {
		writeError(w, http.StatusNotImplemented, "this dashd has no replay: drop ?from=", nil)
		return nil, 0, true
	}
	set := a.replaySet(topics)
	if a.filteredReader(r) {
		var err error
		if set, err = a.narrowSet(r, set, dashboard); err != nil {
			filterError(w, "stream", err)
			return nil, 0, true
		}
	}
	rp, err := a.cfg.Replays.Replay(r.Context(), set, from)
	if err != nil {
		rewindError(w, err)
		return nil, 0, true
	}
	return rp, speed, true
}

// replayFrames runs rp from its moment at speed× real time until it
// reaches now, handing each step's changed frames, encoded with their
// moment, to send (nil frames: nothing changed). It returns nil once it
// has reached the present.
func replayFrames(ctx context.Context, rp *rewind.Replay, speed int, now func() time.Time, send func(frames [][]byte) error) error {
	to := rp.At()
	tick := time.NewTicker(replayStep)
	defer tick.Stop()
	for {
		present := !to.Before(now())
		if present {
			to = now()
		}
		fs, err := rp.Step(ctx, to)
		if err != nil {
			return err
		}
		if len(fs) > 0 {
			msgs := make([][]byte, len(fs))
			for i := range fs {
				msgs[i] = rewind.AppendJSON(make([]byte, 0, 256), &fs[i], to, rp.Through().Seq)
			}
			if err := send(msgs); err != nil {
				return err
			}
		}
		if present {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		to = to.Add(replayStep * time.Duration(speed))
	}
}

// batchOf is one stream message of frames: the frame alone, or a batch.
func batchOf(frames [][]byte) []byte {
	if len(frames) == 1 {
		return frames[0]
	}
	b := []byte(`{"type":"batch","frames":[`)
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f...)
	}
	return append(b, "]}"...)
}

// replayWS serves a WebSocket replay: the frames from the moment on, then
// liveMessage and close 1000 "live". Only pages of dashd's own origin may
// open it (gorilla's same-origin check).
func (a *API) replayWS(w http.ResponseWriter, r *http.Request, rp *rewind.Replay, speed int, lease context.Context) {
	defer rp.Close()
	up := websocket.Upgrader{HandshakeTimeout: 10 * time.Second, Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
		WriteError(w, status, access.JSON, Error{Error: "the replay stream's WebSocket handshake: " + reason.Error() + " (a replay opens from dashd's own pages only; use the SSE stream elsewhere)"}, 0)
	}}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	// The server's deadlines end with the handler's: a replay sets its own.
	_ = conn.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if lease != nil {
		stop := context.AfterFunc(lease, cancel)
		defer stop()
	}
	go func() {
		// Reads control frames; ends the replay when the viewer goes.
		defer cancel()
		conn.SetReadLimit(512)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	write := func(msg []byte) error {
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteMessage(websocket.TextMessage, msg)
	}
	err = replayFrames(ctx, rp, speed, time.Now, func(frames [][]byte) error { return write(batchOf(frames)) })
	deadline := time.Now().Add(time.Second)
	switch {
	case err == nil:
		if write(liveMessage) == nil {
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "live"), deadline)
		}
	case lease != nil && lease.Err() != nil:
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, closeReason(context.Cause(lease))), deadline)
	case ctx.Err() == nil:
		a.log.Warn("a replay failed", "err", err)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "the replay failed; open the live stream"), deadline)
	}
}

// closeReason cuts a cause to the 123 bytes a close reason holds.
func closeReason(err error) string {
	s := "ended"
	if err != nil {
		s = err.Error()
	}
	if len(s) > 123 {
		s = s[:123]
		for !utf8.ValidString(s) { // a rune cut in half
			s = s[:len(s)-1]
		}
	}
	return s
}

// replaySSE serves an SSE replay: the frames from the moment on as
// "event: frame" (without ids: a reconnect starts the replay again), then
// "event: live" with liveMessage, then the live stream in the same
// response (Streams.ServeSSE).
func (a *API) replaySSE(w http.ResponseWriter, r *http.Request, rp *rewind.Replay, speed int, topics []string, lease context.Context) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	ctx := r.Context()
	if lease != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(lease, cancel)()
	}
	event := func(name string, msg []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		b := append([]byte("event: "+name+"\ndata: "), msg...)
		if _, err := w.Write(append(b, "\n\n"...)); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := event("open", []byte(`{"type":"replay"}`)); err != nil {
		rp.Close()
		return
	}
	err := replayFrames(ctx, rp, speed, time.Now, func(frames [][]byte) error {
		for _, f := range frames {
			if err := event("frame", f); err != nil {
				return err
			}
		}
		return nil
	})
	rp.Close()
	if err != nil {
		if lease != nil && lease.Err() != nil {
			end, _ := json.Marshal(map[string]string{"type": "end", "reason": context.Cause(lease).Error()})
			_ = event("end", end)
			return
		}
		if !errors.Is(err, context.Canceled) {
			a.log.Warn("a replay failed", "err", err)
		}
		return
	}
	if event("live", liveMessage) != nil {
		return
	}
	a.cfg.Streams.ServeSSE(&continued{ResponseWriter: w}, r, topics, lease)
}

// continued is a ResponseWriter whose header is already sent: the live
// stream goes on in the replay's response.
type continued struct {
	http.ResponseWriter
	spare http.Header
}

func (c *continued) Header() http.Header {
	if c.spare == nil {
		c.spare = http.Header{}
	}
	return c.spare
}
func (c *continued) WriteHeader(int)             {}
func (c *continued) Unwrap() http.ResponseWriter { return c.ResponseWriter }
func (c *continued) Write(b []byte) (int, error) { return c.ResponseWriter.Write(b) }
