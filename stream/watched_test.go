package stream_test

import (
	"testing"

	"github.com/dashd/dashd/stream"
)

// Watched follows the viewers of a topic, WebSocket and SSE: the board
// keeps a filtered view while it has any.
func TestWatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	if e.hub.Watched("a") {
		t.Fatal("watched before any viewer")
	}
	ws := e.dial(t, "a")
	waitFor(t, "ws viewer", func() bool { return e.hub.Watched("a") })
	if e.hub.Watched("b") {
		t.Error("b watched by a viewer of a")
	}
	_ = ws.Close()
	waitFor(t, "ws viewer gone", func() bool { return !e.hub.Watched("a") })
	resp, _ := sseOpen(t, e, "b", "")
	waitFor(t, "sse viewer", func() bool { return e.hub.Watched("b") })
	_ = resp.Body.Close()
	waitFor(t, "sse viewer gone", func() bool { return !e.hub.Watched("b") })
}
