package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startReference serves a reference on 127.0.0.1:0 for the test's life.
func startTestReference(t *testing.T) (*reference, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ref := newReference(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ref.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reference: %v", err)
		}
	})
	return ref, "http://" + ln.Addr().String()
}

// wireFrame is a frame as CONTRACT.md defines it.
type wireFrame struct {
	Type       string   `json:"type"`
	Chart      string   `json:"chart"`
	Seq        uint64   `json:"seq"`
	Categories []string `json:"categories"`
	Series     []struct {
		Name string     `json:"name"`
		Data []*float64 `json:"data"`
	} `json:"series"`
	Frames []wireFrame `json:"frames"`
}

func framesOf(t *testing.T, msg []byte) []wireFrame {
	t.Helper()
	var f wireFrame
	if err := json.Unmarshal(msg, &f); err != nil {
		t.Fatalf("message is not JSON: %v: %s", err, msg)
	}
	switch f.Type {
	case "frame":
		return []wireFrame{f}
	case "batch":
		return f.Frames
	}
	t.Fatalf("message of type %q: %s", f.Type, msg)
	return nil
}

func TestReferenceFansOutEveryFormat(t *testing.T) {
	_, base := startTestReference(t)
	const viewers = 4
	var conns []*websocket.Conn
	for i := 0; i < viewers; i++ {
		c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/v1/stream?dashboard=dashload", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	sse, err := http.Get(base + "/api/v1/stream/sse?dashboard=dashload")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	sseLines := bufio.NewReader(sse.Body)

	shape := bodyShape{charts: 2, categories: 3, series: 2, batch: 14}
	cats, series := []string{"c000", "c001", "c002"}, []string{"a", "b"}
	for seq, format := range []string{"json", "lp", "prom"} {
		path, ctype, _ := ingestFormat(format)
		body := appendBody(nil, format, shape.samples(nil, uint64(seq+1), cats, series))
		resp, err := http.Post(base+path, ctype, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s push: %s", format, resp.Status)
		}
		for i, c := range conns {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("%s: viewer %d: %v", format, i, err)
			}
			frames := framesOf(t, msg)
			if len(frames) != 2 || frames[0].Chart != "dashload-0" || frames[1].Chart != "dashload-1" {
				t.Fatalf("%s: viewer %d got %s, want a batch of dashload-0 and dashload-1", format, i, msg)
			}
			f := frames[0]
			if f.Categories[0] != probeCategory || len(f.Categories) != 4 || len(f.Series) != 2 || f.Series[0].Data[0] == nil || *f.Series[0].Data[0] != float64(seq+1) {
				t.Fatalf("%s: frame %s: want categories [0probe c000 c001 c002], series a and b, probe %d", format, msg, seq+1)
			}
			var seen []frameInfo
			scanMessage(msg, func(fi frameInfo) { seen = append(seen, fi) })
			if len(seen) != 2 || !seen[1].hasProbe || seen[1].probe != uint64(seq+1) || seen[1].chart != 1 {
				t.Fatalf("%s: scanner read %+v from %s", format, seen, msg)
			}
		}
		// SSE: one event per frame.
		for k := 0; k < 2; k++ {
			var data string
			for data == "" {
				line, err := sseLines.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: SSE: %v", format, err)
				}
				if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
					data = d
				}
			}
			if fs := framesOf(t, []byte(data)); len(fs) != 1 || fs[0].Seq != uint64(seq+1) {
				t.Fatalf("%s: SSE event %d: %s", format, k, data)
			}
		}
	}
}

func TestReferenceCoalescesQueuedPushes(t *testing.T) {
	ref, base := startTestReference(t)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/v1/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Wait for the viewer to be registered, then hold its writer's lock
	// while three pushes queue: they must leave as one batch.
	var v *refViewer
	for deadline := time.Now().Add(5 * time.Second); v == nil && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		ref.mu.Lock()
		for x := range ref.viewers {
			v = x
		}
		ref.mu.Unlock()
	}
	if v == nil {
		t.Fatal("the viewer never registered")
	}
	v.mu.Lock()
	for seq := uint64(1); seq <= 3; seq++ {
		m := ref.apply([]refSample{{chart: "0", cat: probeCategory, s: "a", value: float64(seq)}})
		v.queue = append(v.queue, m)
	}
	v.mu.Unlock()
	v.wake <- struct{}{}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	frames := framesOf(t, msg)
	if len(frames) != 3 || frames[0].Seq != 1 || frames[2].Seq != 3 {
		t.Fatalf("got %s, want one batch of seq 1, 2, 3", msg)
	}
}
