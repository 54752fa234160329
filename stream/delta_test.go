package stream_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
)

// deltaClient decodes a ?delta=1 stream as dashd-delta.js does: it keeps
// the text of the last frame of each chart and applies deltas to it.
type deltaClient struct {
	t      *testing.T
	c      *websocket.Conn
	texts  map[string]string // chart → text of its last frame
	deltas int               // deltas applied
	fulls  int               // whole frames read
}

// next reads one message and returns the frames it rebuilds, as texts.
func (d *deltaClient) next() []string {
	d.t.Helper()
	msg := read(d.t, d.c)
	var env struct {
		Type   string            `json:"type"`
		Frames []json.RawMessage `json:"frames"`
	}
	if err := json.Unmarshal(msg, &env); err != nil {
		d.t.Fatalf("not JSON: %s", msg)
	}
	items := []json.RawMessage{msg}
	if env.Type == "batch" {
		items = env.Frames // RawMessage keeps each item's exact bytes
	}
	var out []string
	for _, it := range items {
		var head struct{ Type, Chart string }
		if err := json.Unmarshal(it, &head); err != nil {
			d.t.Fatal(err)
		}
		switch head.Type {
		case "frame":
			d.fulls++
			d.texts[head.Chart] = string(it)
		case "delta":
			base, ok := d.texts[head.Chart]
			if !ok {
				d.t.Fatalf("delta for %s without a frame before it: %s", head.Chart, it)
			}
			full, err := stream.ApplyDelta(base, it)
			if err != nil {
				d.t.Fatal(err)
			}
			d.deltas++
			d.texts[head.Chart] = full
		default:
			continue
		}
		out = append(out, d.texts[head.Chart])
	}
	return out
}

func (e *env) dialDelta(t *testing.T, topics string, dial func(url string) *websocket.Conn) *deltaClient {
	t.Helper()
	return &deltaClient{t: t, c: dial(e.wsURL(topics) + "&delta=1"), texts: map[string]string{}}
}

// A viewer with ?delta=1 rebuilds every frame exactly from deltas, in
// single messages and in batches, after skipped frames (it was too slow:
// whole frames) and after reconnecting (a whole snapshot); a viewer
// without it gets the frames as published.
func TestDeltaStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{StuckAfter: time.Minute, WriteWait: time.Minute})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", e.log.String())
		}
	})
	published := map[string]string{} // "chart seq" → text
	pub := func(chart string, seq int, pad string) []byte {
		f := chartFrame(chart, seq)
		if pad != "" {
			f = append(f[:len(f)-1], `,"pad":"`+pad+`"}`...)
		}
		published[fmt.Sprint(chart, " ", seq)] = string(f)
		e.hub.Publish(chart, f)
		return f
	}
	check := func(d *deltaClient, texts []string) {
		t.Helper()
		for _, s := range texts {
			var h struct {
				Chart string
				Seq   int
			}
			if err := json.Unmarshal([]byte(s), &h); err != nil {
				t.Fatalf("rebuilt frame is not JSON: %v: %.200s", err, s)
			}
			if want := published[fmt.Sprint(h.Chart, " ", h.Seq)]; s != want {
				t.Fatalf("rebuilt %s %d:\n%s\nwant\n%s", h.Chart, h.Seq, s, want)
			}
		}
	}
	pub("a", 1, "")
	pub("b", 1, "")
	e.hub.Flush()
	dial := func(url string) *websocket.Conn {
		c, _, err := (&websocket.Dialer{EnableCompression: true}).Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	d := e.dialDelta(t, "a,b", dial)
	plain := e.dial(t, "a,b")
	check(d, d.next()) // the snapshot: a batch of whole frames
	read(t, plain)
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 2 })

	seq := 1
	for ; seq < 20; seq++ {
		pub("a", seq+1, "")
		if seq%3 == 0 {
			pub("b", seq+1, "") // a batch of two deltas
		}
		e.hub.Flush()
		check(d, d.next())
		// The plain viewer reads the frames as published.
		for _, f := range decode(t, read(t, plain)) {
			if f.Type != "frame" {
				t.Fatalf("plain viewer got %s", f.Type)
			}
		}
		// Both read before the next tick, so that neither is busy.
		waitFor(t, "the writes", func() bool {
			return e.metric(t, "dashd_stream_messages_sent_total", "transport=ws") == float64(2*(seq+1))
		})
	}
	if d.deltas < 20 {
		t.Fatalf("%d deltas applied, want every frame after the snapshot", d.deltas)
	}

	// Reconnect: the new connection's snapshot is whole, deltas follow.
	d.c.Close()
	plain.Close()
	waitFor(t, "viewers to leave", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 0 })
	seq++
	pub("a", seq, "")
	e.hub.Flush() // no delta viewer: none made
	d = e.dialDelta(t, "a,b", func(url string) *websocket.Conn { return slowDialURL(t, url) })
	check(d, d.next())
	if d.deltas != 0 || d.fulls != 2 {
		t.Fatalf("snapshot after reconnect: %d deltas, %d frames", d.deltas, d.fulls)
	}

	// Skipped frames: the viewer stops reading while large frames pile
	// up; what it gets when it reads again is whole where it skipped.
	pad := func() string {
		b := make([]byte, 64<<10)
		for i := range b {
			b[i] = byte('a' + rand.IntN(26))
		}
		return string(b)
	}
	last := 0
	for n := 0; e.metric(t, "dashd_stream_conflated_frames_total") < 3; n++ {
		if n > 400 {
			t.Fatal("400 ticks of 64 KB and the viewer was never busy")
		}
		seq++
		pub("a", seq, pad())
		e.hub.Flush()
		last = seq
	}
	for range 5 { // small ones after: deltas again once it keeps up
		seq++
		pub("a", seq, "")
		e.hub.Flush()
		last = seq
	}
	resume(t, d.c)
	for {
		texts := d.next()
		check(d, texts)
		if bytes.Contains([]byte(texts[len(texts)-1]), fmt.Appendf(nil, `"seq":%d,`, last)) {
			break
		}
	}
	t.Logf("%d deltas applied, %d whole frames, %v conflated", d.deltas, d.fulls, e.metric(t, "dashd_stream_conflated_frames_total"))
}
