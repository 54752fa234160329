package stream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkHeartbeat measures one beat (see Hub.beat) over 1,000 idle
// WebSocket viewers of one quiet group: picking them under Hub.mu, then
// a write to each. Run:
//
//	go test ./stream -run XXX -bench Heartbeat -benchtime 20x
func BenchmarkHeartbeat(b *testing.B) {
	const viewers = 1000
	h := New(Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWS(w, r, []string{"t"}, nil)
	}))
	defer func() { h.Close(); srv.Close() }()
	h.Publish("t", []byte(`{"type":"frame","chart":"t","seq":1}`))
	h.Flush()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	conns := make([]*websocket.Conn, 0, viewers)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range viewers {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		// Each reads what it is sent, so that it is never busy for long.
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		n := 0
		for _, g := range h.groups {
			n += len(g.members)
		}
		h.mu.Unlock()
		if n == viewers {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d viewers joined", n, viewers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	seen := map[*group]uint64{}
	h.beat(time.Now(), seen) // the group is seen: the next beats send
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.beat(time.Now(), seen)
		b.StopTimer()
		time.Sleep(20 * time.Millisecond) // the viewers read it: none busy
		b.StartTimer()
	}
}
