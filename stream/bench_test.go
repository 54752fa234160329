package stream_test

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
)

// BenchmarkFanout publishes one frame per tick to N viewers of one topic
// and waits until every viewer has read it. Allocations include the
// clients' reads (NextReader into io.Discard keeps those small).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			e := newEnv(b, stream.Config{})
			var received atomic.Int64
			for range n {
				c := e.dial(b, "a")
				go func(c *websocket.Conn) {
					for {
						_, r, err := c.NextReader()
						if err != nil {
							return
						}
						_, _ = io.Copy(io.Discard, r)
						received.Add(1)
					}
				}(c)
			}
			waitFor(b, "viewers", func() bool { return e.metric(b, "dashd_stream_viewers", "transport=ws") == float64(n) })
			msg := bigFrame("a", 1, 512)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				e.hub.Publish("a", msg)
				e.hub.Flush()
				want := int64(n) * int64(i+1)
				for received.Load() < want {
					time.Sleep(20 * time.Microsecond)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
