package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A counting viewer negotiates compression like gorilla's client, counts
// each message once (compressed or not, in one frame or several), answers
// a ping with a pong the server accepts, and reports the server's close.
func TestCountingViewerCountsMessagesAndAnswersPings(t *testing.T) {
	t.Parallel()
	ponged := make(chan string, 1)
	up := websocket.Upgrader{EnableCompression: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetPongHandler(func(s string) error { ponged <- s; return nil })
		go func() { // the read loop, which runs the pong handler
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		big := strings.Repeat(`{"type":"frame","chart":"dashload-0"}`, 200)
		c.EnableWriteCompression(true)
		_ = c.WriteMessage(websocket.TextMessage, []byte(big))
		c.EnableWriteCompression(false)
		_ = c.WriteMessage(websocket.TextMessage, []byte(big)) // 7 KB: extended length
		wr, _ := c.NextWriter(websocket.TextMessage)           // one message, several frames
		for range 3 {
			_, _ = wr.Write([]byte(big))
		}
		_ = wr.Close()
		_ = c.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second))
		select {
		case <-ponged:
		case <-time.After(10 * time.Second):
		}
		_ = c.WriteMessage(websocket.TextMessage, []byte("short"))
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too slow"), time.Now().Add(time.Second))
	}))
	t.Cleanup(srv.Close)

	var wire, messages atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, deflate, err := rawHandshake(ctx, (&net.Dialer{}).DialContext, "ws"+strings.TrimPrefix(srv.URL, "http")+"/s?x=1", true, &wire)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !deflate {
		t.Fatal("permessage-deflate not negotiated")
	}
	err = countFrames(br, conn, &messages)
	if err == nil || !strings.Contains(err.Error(), "1013 too slow") {
		t.Fatalf("ended with %v; want the server's close 1013", err)
	}
	if got := messages.Load(); got != 4 {
		t.Fatalf("counted %d messages, want 4", got)
	}
	if wire.Load() < 7000*4 {
		t.Fatalf("%d bytes on the wire: fewer than the uncompressed messages hold", wire.Load())
	}
}

// The sample spreads over the dashboards and through the connection
// order, and is about the size asked.
func TestSampledSpreads(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		viewers, dashboards, sample int
		want                        int
	}{
		"all when none asked":         {viewers: 100, dashboards: 5, sample: 0, want: 100},
		"all when the sample is more": {viewers: 100, dashboards: 5, sample: 200, want: 100},
		"5,000 over 50, 250":          {viewers: 5000, dashboards: 50, sample: 250, want: 250},
		"one dashboard":               {viewers: 1000, dashboards: 1, sample: 250, want: 250},
		"one per dashboard at least":  {viewers: 5000, dashboards: 50, sample: 10, want: 50},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n, perDash, last := 0, map[int]int{}, 0
			for i := range tc.viewers {
				if sampled(i, tc.viewers, tc.dashboards, tc.sample) {
					n++
					perDash[i%tc.dashboards]++
					last = i
				}
			}
			if n != tc.want {
				t.Fatalf("%d sampled, want %d", n, tc.want)
			}
			if len(perDash) != tc.dashboards {
				t.Fatalf("sample covers %d of %d dashboards", len(perDash), tc.dashboards)
			}
			if n < tc.viewers && n >= 2*tc.dashboards && last < tc.viewers/2 {
				t.Fatalf("the last sampled viewer is %d of %d: not spread through the order", last, tc.viewers)
			}
		})
	}
}

// With --sample below the viewers, the counting viewers' messages count,
// their updates are estimated from the sample's frames per message, and
// the latency comes from the sample.
func TestRunWithASample(t *testing.T) {
	_, base := startTestReference(t)
	sc := scenario{
		target: base, dashboard: "dashload", dashboards: 2, viewers: 40, sample: 8,
		charts: 3, categories: 5, series: 2, pushRate: 50, batch: 20, format: "json", compress: true,
		pushers: 2, duration: time.Second, settle: 50 * time.Millisecond, drain: 200 * time.Millisecond,
		dial: 8, maxPushes: 1000, serverPID: -1,
	}
	var log bytes.Buffer
	res, err := runScenario(context.Background(), sc, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	var out bytes.Buffer
	res.print(&out)
	t.Logf("\n%s", out.String())
	if res.ConnectedWS != 40 || res.Dropped != 0 || res.Sampled != 8 || res.Counted != 32 {
		t.Fatalf("viewers: %d connected, %d dropped, %d sampled, %d counted; want 40, 0, 8, 32", res.ConnectedWS, res.Dropped, res.Sampled, res.Counted)
	}
	if res.LatencyCount == 0 || res.FramesPerMessage <= 0 || res.CountedBytes == 0 {
		t.Fatalf("timed %d, frames per message %.2f, counted bytes %d: nothing measured", res.LatencyCount, res.FramesPerMessage, res.CountedBytes)
	}
	// Every viewer of a dashboard gets the same messages: the counted
	// ones' share of the messages is about their share of the viewers.
	if share := res.MessagesPerSec * res.PushWindow.Seconds(); share <= 0 {
		t.Fatalf("no messages")
	}
	if res.PipeP50 <= 0 || res.PipeP99 > res.Max || res.FanoutP99 > res.Max {
		t.Fatalf("pipeline p50 %v p99 %v, fan-out p99 %v, max %v: not a split of the latency", res.PipeP50, res.PipeP99, res.FanoutP99, res.Max)
	}
	if !strings.Contains(out.String(), "sampled viewers:") {
		t.Fatalf("output lacks the sample line")
	}
}
