package stream_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/stream"
)

// stormViewers is how many viewers reconnect together. Each costs the test
// a client socket and the server two goroutines; -race allows 8,128
// goroutines, so the clients share a pool of workers instead of one each.
const (
	stormViewers = 2000
	stormWorkers = 400
)

// herd runs fn for every viewer index from a pool of workers, all at once,
// and returns the first error.
func herd(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int, n)
	)
	for i := range n {
		next <- i
	}
	close(next)
	for range stormWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// TestReconnectStorm: every viewer of a dashboard drops at once (a proxy
// restart, a network blip) and all come back together. The server must take
// the herd, and each returning viewer must first get the newest state, not
// the state from before it dropped.
func TestReconnectStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("reconnect storm: 2,000 viewers")
	}
	e := newEnv(t, stream.Config{})
	e.hub.Publish("a", frame("a", 1))
	e.hub.Publish("b", frame("b", 1))
	e.hub.Flush()

	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	conns := make([]*websocket.Conn, stormViewers)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	// connect dials viewer i and checks that its first message holds the
	// given seq of both charts.
	connect := func(i, wantSeq int) error {
		c, _, err := dialer.Dial(e.wsURL("a,b"), nil)
		if err != nil {
			return fmt.Errorf("viewer %d: dial: %w", i, err)
		}
		conns[i] = c
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("viewer %d: snapshot: %w", i, err)
		}
		got := map[string]int{}
		for _, f := range decode(t, msg) {
			got[f.Chart] = f.Seq
		}
		if got["a"] != wantSeq || got["b"] != wantSeq {
			return fmt.Errorf("viewer %d: snapshot %v, want seq %d of a and b", i, got, wantSeq)
		}
		return nil
	}

	if err := herd(stormViewers, func(i int) error { return connect(i, 1) }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every viewer counted", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == stormViewers })

	// A tick while everyone is connected reaches everyone.
	e.hub.Publish("a", frame("a", 2))
	e.hub.Publish("b", frame("b", 2))
	e.hub.Flush()
	if err := herd(stormViewers, func(i int) error {
		_ = conns[i].SetReadDeadline(time.Now().Add(30 * time.Second))
		_, msg, err := conns[i].ReadMessage()
		if err != nil {
			return fmt.Errorf("viewer %d: live tick: %w", i, err)
		}
		for _, f := range decode(t, msg) {
			if f.Seq != 2 {
				return fmt.Errorf("viewer %d: live frame %+v, want seq 2", i, f)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Everyone drops without a close handshake, as on a network failure.
	for _, c := range conns {
		c.NetConn().Close()
	}
	waitFor(t, "the server to notice every drop", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 0 })

	// The charts move on while they are away.
	e.hub.Publish("a", frame("a", 3))
	e.hub.Publish("b", frame("b", 3))
	e.hub.Flush()

	// And everyone comes back at once: each gets the newest state first.
	start := time.Now()
	if err := herd(stormViewers, func(i int) error { return connect(i, 3) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d viewers reconnected in %v", stormViewers, time.Since(start).Round(time.Millisecond))
	waitFor(t, "every viewer counted again", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == stormViewers })
	if n := e.metric(t, "dashd_stream_buffer_overflows_total"); n != 0 {
		t.Errorf("%v buffer overflows during the storm", n)
	}
}
