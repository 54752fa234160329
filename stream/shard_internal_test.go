package stream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// While a tick is being handed to the viewers of one shard (its lock held,
// as a long delivery would hold it), a viewer of a group in another shard
// still connects and gets its snapshot, and viewers of other shards get the
// tick: no one lock spans all viewers. With the Hub's lock held through
// delivery (as before the shards), the new viewer would wait for the whole
// tick.
func TestDeliveryHoldsOneShardAtATime(t *testing.T) {
	t.Parallel()
	h := New(Config{HeartbeatEvery: -1})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWS(w, r, strings.Split(r.URL.Query().Get("topics"), ","), nil)
	}))
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	// Two topics whose groups fall in different shards.
	slow, other := "s0", ""
	for i := 1; other == ""; i++ {
		if name := "o" + string(rune('a'+i%26)) + strings.Repeat("x", i/26); h.shardOf(name) != h.shardOf(slow) {
			other = name
		}
	}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	dialErr := func(topic string) (*websocket.Conn, error) {
		c, _, err := dialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/?topics="+topic, nil)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		return c, err
	}
	dial := func(topic string) *websocket.Conn {
		c, err := dialErr(topic)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *websocket.Conn, want string) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil || string(msg) != want {
			t.Fatalf("read %q, %v; want %q", msg, err, want)
		}
	}
	h.Publish(slow, []byte(`{"n":0}`))
	h.Publish(other, []byte(`{"n":0}`))
	h.Flush()
	a, b := dial(slow), dial(other)
	read(a, `{"n":0}`)
	read(b, `{"n":0}`)

	// The slow shard is busy: Flush waits for it there, and only there.
	sh := h.shardOf(slow)
	sh.mu.Lock()
	h.Publish(slow, []byte(`{"n":1}`))
	h.Publish(other, []byte(`{"n":1}`))
	flushed := make(chan struct{})
	go func() {
		h.Flush()
		close(flushed)
	}()
	// A new viewer of the other shard connects meanwhile and gets the
	// state, whichever side of the tick it joined on; the other shard's
	// viewer gets the tick if Flush reached it first (shards are visited
	// in order, so it may not have).
	var msg []byte
	c, err := dialErr(other)
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err = c.ReadMessage()
	}
	returned := false
	select {
	case <-flushed:
		returned = true
	default:
	}
	sh.mu.Unlock() // before failing: Close needs the locks
	if err != nil || !strings.HasPrefix(string(msg), `{"n":`) {
		t.Fatalf("a viewer of another shard, while one shard is busy: %q, %v", msg, err)
	}
	if returned {
		t.Fatal("Flush returned while a shard it had to deliver to was locked")
	}
	<-flushed
	read(a, `{"n":1}`)
	read(b, `{"n":1}`)
}
