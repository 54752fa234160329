package stream_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
)

func TestPublishExactBytes(t *testing.T) {
	e := newEnv(t, stream.Config{})
	c := e.dial(t, "a")
	waitFor(t, "viewer", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 1 })
	a1 := frame("a", 1)
	e.hub.Publish("a", a1)
	e.hub.Publish("b", frame("b", 1)) // nobody reads b
	e.hub.Flush()
	if got := read(t, c); !bytes.Equal(got, a1) {
		t.Fatalf("got %s, want %s", got, a1)
	}
}

func TestBatchWhenSeveralTopicsChange(t *testing.T) {
	e := newEnv(t, stream.Config{})
	c := e.dial(t, "a,b,c")
	waitFor(t, "viewer", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 1 })
	// Published out of order, twice for b: the batch has the newest of
	// each, in topic order, bytes untouched.
	e.hub.Publish("b", frame("b", 1))
	e.hub.Publish("a", frame("a", 1))
	e.hub.Publish("b", frame("b", 2))
	e.hub.Flush()
	want := `{"type":"batch","frames":[` + string(frame("a", 1)) + "," + string(frame("b", 2)) + "]}"
	if got := read(t, c); string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	e.hub.Publish("c", frame("c", 1))
	e.hub.Flush()
	if got := read(t, c); !bytes.Equal(got, frame("c", 1)) {
		t.Fatalf("one change: got %s, want the frame alone", got)
	}
}

func TestSnapshotThenLive(t *testing.T) {
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Publish("b", frame("b", 1))
	e.hub.Flush()
	e.hub.Publish("a", frame("a", 2))
	e.hub.Flush()

	both := e.dial(t, "b,a")
	one := e.dial(t, "a")
	unknown := e.dial(t, "zzz")
	want := `{"type":"batch","frames":[` + string(frame("a", 2)) + "," + string(frame("b", 1)) + "]}"
	if got := read(t, both); string(got) != want {
		t.Fatalf("snapshot: got %s, want %s", got, want)
	}
	if got := read(t, one); !bytes.Equal(got, frame("a", 2)) {
		t.Fatalf("snapshot of one topic: got %s", got)
	}
	e.hub.Publish("a", frame("a", 3))
	e.hub.Publish("zzz", frame("zzz", 1))
	e.hub.Flush()
	if got := read(t, both); !bytes.Equal(got, frame("a", 3)) {
		t.Fatalf("live: got %s", got)
	}
	if got := read(t, one); !bytes.Equal(got, frame("a", 3)) {
		t.Fatalf("live: got %s", got)
	}
	// A topic without state sends nothing at subscribe; its first tick is first.
	if got := read(t, unknown); !bytes.Equal(got, frame("zzz", 1)) {
		t.Fatalf("unknown topic: got %s", got)
	}
}

// Subscribing while the board ticks as fast as it can: every viewer starts
// with the state of all its topics, never sees a frame twice or out of
// order, and ends with the newest.
func TestSubscribeDuringTicks(t *testing.T) {
	e := newEnv(t, stream.Config{})
	const ticks = 300
	const viewers = 12
	e.hub.Publish("a", frame("a", 0))
	e.hub.Publish("b", frame("b", 0))
	e.hub.Flush()

	var wg sync.WaitGroup
	errs := make(chan error, viewers)
	started := make(chan struct{})
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-started
			time.Sleep(time.Duration(i) * time.Millisecond)
			c, _, err := websocket.DefaultDialer.Dial(e.wsURL("a,b"), nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			last := map[string]int{"a": -1, "b": -1}
			first := true
			for last["a"] < ticks || last["b"] < ticks {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, msg, err := c.ReadMessage()
				if err != nil {
					errs <- err
					return
				}
				fs := decode(t, msg)
				if first && len(fs) != 2 {
					errs <- fmt.Errorf("first message is not a snapshot of a and b: %s", msg)
					return
				}
				first = false
				for _, f := range fs {
					if f.Seq <= last[f.Chart] {
						errs <- fmt.Errorf("%s: seq %d after %d", f.Chart, f.Seq, last[f.Chart])
						return
					}
					last[f.Chart] = f.Seq
				}
			}
		}()
	}
	close(started)
	for i := 1; i <= ticks; i++ {
		e.hub.Publish("a", frame("a", i))
		if i%3 != 0 {
			e.hub.Publish("b", frame("b", i))
		}
		if i == ticks {
			e.hub.Publish("b", frame("b", i))
		}
		e.hub.Flush()
		time.Sleep(200 * time.Microsecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Viewers of the same topic set share one batch payload per tick.
func TestGroupSharesOneBatch(t *testing.T) {
	e := newEnv(t, stream.Config{})
	subs := []string{"a,b", "b,a", "a,b,a", "b,,a"}
	var cs []*websocket.Conn
	for i := range 24 {
		cs = append(cs, e.dial(t, subs[i%len(subs)]))
	}
	solo := e.dial(t, "a,b,c") // another group: one more batch
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 25 })

	before := e.metric(t, "dashd_stream_batches_encoded_total")
	e.hub.Publish("a", frame("a", 1))
	e.hub.Publish("b", frame("b", 1))
	e.hub.Flush()
	want := `{"type":"batch","frames":[` + string(frame("a", 1)) + "," + string(frame("b", 1)) + "]}"
	for _, c := range append(cs, solo) {
		if got := read(t, c); string(got) != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if got := e.metric(t, "dashd_stream_batches_encoded_total") - before; got != 2 {
		t.Fatalf("%v batches encoded for 2 groups of 25 viewers, want 2", got)
	}
}

// slowDial opens a client whose socket receive buffer is small from the
// SYN on (so the window scale stays small), so that when it stops reading
// the server's writes soon block.
func slowDial(t *testing.T, e *env, topics string) *websocket.Conn {
	t.Helper()
	return slowDialURL(t, e.wsURL(topics))
}

// slowDialURL is slowDial of a stream URL.
func slowDialURL(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return errors.Join(err, serr)
	}}
	d := websocket.Dialer{NetDialContext: nd.DialContext}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// resume lets a slow client read at full speed again.
func resume(t *testing.T, c *websocket.Conn) {
	t.Helper()
	if err := c.UnderlyingConn().(*net.TCPConn).SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
}

// A viewer that stops reading neither holds up the others nor gets a
// backlog of stale frames: when it reads again, it gets the newest.
func TestSlowViewerIsConflated(t *testing.T) {
	e := newEnv(t, stream.Config{StuckAfter: time.Minute, WriteWait: time.Minute})
	fast := []*websocket.Conn{e.dial(t, "a,b"), e.dial(t, "a,b")}
	slow := slowDial(t, e, "a,b")
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 3 })

	const size = 128 << 10
	tick := 0
	afterConflation := 0
	for afterConflation < 5 {
		tick++
		if tick > 400 {
			t.Fatal("400 ticks of 256 KB and the slow viewer's writes never blocked")
		}
		e.hub.Publish("a", bigFrame("a", tick, size))
		e.hub.Publish("b", bigFrame("b", tick, size))
		e.hub.Flush()
		// Every fast viewer gets every tick, whole, while the slow one is
		// not reading at all.
		for i, c := range fast {
			fs := decode(t, read(t, c))
			if len(fs) != 2 || fs[0].Seq != tick || fs[1].Seq != tick {
				t.Fatalf("fast viewer %d, tick %d: got %+v", i, tick, fs)
			}
		}
		if e.metric(t, "dashd_stream_conflated_frames_total") > 0 {
			afterConflation++
		}
	}
	last := tick

	resume(t, slow)
	got := 0
	seen := map[string]int{}
	for seen["a"] < last || seen["b"] < last {
		for _, f := range decode(t, read(t, slow)) {
			got++
			if f.Seq <= seen[f.Chart] {
				t.Fatalf("slow viewer: %s seq %d after %d", f.Chart, f.Seq, seen[f.Chart])
			}
			seen[f.Chart] = f.Seq
		}
	}
	if got >= 2*last {
		t.Fatalf("slow viewer got %d frames of %d: nothing was skipped", got, 2*last)
	}
	t.Logf("%d ticks; the slow viewer got %d frames, ending with the newest", last, got)
	if n := e.metric(t, "dashd_stream_buffer_overflows_total"); n != 0 {
		t.Fatalf("melody buffer overflowed %v times", n)
	}
	if n := e.metric(t, "dashd_stream_stuck_disconnects_total", "transport=ws"); n != 0 {
		t.Fatalf("%v stuck disconnects", n)
	}
}

// A viewer whose data stays undelivered past StuckAfter is closed with 1013.
// StuckAfter is 1 s: the fast viewer, which reads every frame at once,
// must not be judged stuck while a loaded machine writes it 256 KB (at
// 300 ms it was, now and then, under a load average above 10).
func TestStuckViewerGets1013(t *testing.T) {
	e := newEnv(t, stream.Config{StuckAfter: time.Second, WriteWait: 30 * time.Second})
	fast := e.dial(t, "a")
	slow := slowDial(t, e, "a")
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 2 })

	for tick := 1; e.metric(t, "dashd_stream_stuck_disconnects_total", "transport=ws") == 0; tick++ {
		if tick > 1000 {
			t.Fatal("never counted as stuck")
		}
		e.hub.Publish("a", bigFrame("a", tick, 256<<10))
		e.hub.Flush()
		read(t, fast)
		time.Sleep(10 * time.Millisecond)
	}
	// Reading again, it drains what was written, then the close.
	resume(t, slow)
	for {
		_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater {
			t.Fatalf("want close 1013, got %v", err)
		}
		if !strings.Contains(ce.Text, "too slow") {
			t.Errorf("close reason %q", ce.Text)
		}
		break
	}
	// The fast one is untouched.
	e.hub.Publish("a", frame("a", 0))
	e.hub.Flush()
	if got := read(t, fast); !bytes.Equal(got, frame("a", 0)) {
		t.Fatalf("fast viewer after: %s", got)
	}
	waitFor(t, "the stuck viewer to leave", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 1 })
}

func TestCloseSends1001(t *testing.T) {
	e := newEnv(t, stream.Config{})
	cs := []*websocket.Conn{e.dial(t, "a"), e.dial(t, "a,b")}
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 2 })
	e.hub.Close()
	for _, c := range cs {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := c.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("want close 1001, got %v", err)
		}
	}
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			e.hub.Publish("a", frame("a", i))
			e.hub.Flush()
		}
		e.hub.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish/Flush/Close after Close blocked")
	}
	_, resp, err := websocket.DefaultDialer.Dial(e.wsURL("a"), nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("dial after Close: %v %v, want 503", err, resp)
	}
}

// Viewers send nothing meaningful: a large inbound message ends the session.
func TestInboundLimit(t *testing.T) {
	e := newEnv(t, stream.Config{})
	c := e.dial(t, "a")
	if err := c.WriteMessage(websocket.TextMessage, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("want close 1009, got %v", err)
	}
}

// A retracted topic (its chart was deleted) leaves nothing behind: a new
// subscriber gets no snapshot for it.
func TestRetractedTopicHasNoSnapshot(t *testing.T) {
	e := newEnv(t, stream.Config{})
	e.hub.Publish("gone", frame("gone", 1))
	e.hub.Publish("kept", frame("kept", 1))
	e.hub.Flush()
	e.hub.Publish("gone", nil)
	e.hub.Flush()

	c := e.dial(t, "gone,kept")
	got := decode(t, read(t, c))
	if len(got) != 1 || got[0].Chart != "kept" {
		t.Errorf("snapshot %+v, want only the kept topic", got)
	}
	// And the topic can come back.
	e.hub.Publish("gone", frame("gone", 2))
	e.hub.Flush()
	if f := decode(t, read(t, c)); len(f) != 1 || f[0].Chart != "gone" || f[0].Seq != 2 {
		t.Errorf("after the topic came back: %+v", f)
	}
}
