package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
)

// countingConn counts the bytes read from the socket: what was on the
// wire, compressed or not.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// dialCounting dials like a browser would (offering permessage-deflate
// when compress is set) and counts the bytes read from the socket.
func dialCounting(t testing.TB, e *env, topics string, compress bool) (*websocket.Conn, string, *atomic.Int64) {
	t.Helper()
	n := &atomic.Int64{}
	d := websocket.Dialer{
		EnableCompression: compress,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, n: n}, nil
		},
	}
	c, resp, err := d.Dial(e.wsURL(topics), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, resp.Header.Get("Sec-WebSocket-Extensions"), n
}

// chartFrame is a frame of the shape of issue 17: 10 categories × 5
// series of integers.
func chartFrame(topic string, seq int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"type":"frame","chart":%q,"seq":%d,"time":"2026-12-03T13:43:39.123456789Z","categories":[`, topic, seq)
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"c%03d"`, i)
	}
	b.WriteString(`],"series":[`)
	for s := range 5 {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"%c","data":[`, 'a'+s)
		for i := range 10 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", (seq*31+(s*10+i)*7)%1000)
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	return b.Bytes()
}

// A client that offers permessage-deflate gets it, and the same frames
// with fewer bytes on the wire; one that does not gets them as before.
// Both read the exact bytes published.
func TestCompressionNegotiated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{})
	zc, zext, zn := dialCounting(t, e, "a", true)
	pc, pext, pn := dialCounting(t, e, "a", false)
	if !strings.Contains(zext, "permessage-deflate") {
		t.Fatalf("offered compression, Sec-WebSocket-Extensions %q", zext)
	}
	if pext != "" {
		t.Fatalf("did not offer compression, Sec-WebSocket-Extensions %q", pext)
	}
	waitFor(t, "viewers", func() bool { return e.metric(t, "dashd_stream_viewers", "transport=ws") == 2 })
	for seq := 1; seq <= 3; seq++ {
		z0, p0 := zn.Load(), pn.Load()
		msg := chartFrame("a", seq)
		e.hub.Publish("a", msg)
		e.hub.Flush()
		if got := read(t, zc); !bytes.Equal(got, msg) {
			t.Fatalf("compressed viewer read %s", got)
		}
		if got := read(t, pc); !bytes.Equal(got, msg) {
			t.Fatalf("plain viewer read %s", got)
		}
		zw, pw := zn.Load()-z0, pn.Load()-p0
		t.Logf("frame of %d bytes: %d on the wire compressed, %d plain", len(msg), zw, pw)
		if pw < int64(len(msg)) {
			t.Fatalf("plain viewer: %d bytes on the wire for a %d-byte message", pw, len(msg))
		}
		if zw*10 > int64(len(msg))*6 {
			t.Fatalf("compressed viewer: %d bytes on the wire for a %d-byte message; want at most 60%%", zw, len(msg))
		}
	}
}

// Heartbeats, snapshots and batches are compressed as well, and a
// conflated viewer's own batch too.
func TestCompressionEveryMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stream.Config{Now: func() time.Time { return beatTime }})
	e.hub.Publish("a", chartFrame("a", 1))
	e.hub.Publish("b", chartFrame("b", 1))
	e.hub.Flush()
	c, _, n := dialCounting(t, e, "a,b", true)
	pc, _, pn := dialCounting(t, e, "a,b", false)
	snap := read(t, c)
	if f := decode(t, snap); len(f) != 2 {
		t.Fatalf("snapshot: %d frames", len(f))
	}
	if got := read(t, pc); !bytes.Equal(got, snap) {
		t.Fatalf("plain snapshot differs: %s", got)
	}
	// Handshake and snapshot: the compressed answer names the extension,
	// and still saves half of the batch.
	if saved := pn.Load() - n.Load(); saved*2 < int64(len(snap)) {
		t.Fatalf("snapshot of %d bytes: %d bytes read compressed, %d plain", len(snap), n.Load(), pn.Load())
	}
	stream.Beat(e.hub)
	stream.Beat(e.hub)
	n0 := n.Load()
	if got := read(t, c); string(got) != beatMsg {
		t.Fatalf("got %s", got)
	}
	// Too small to gain from deflate: sent as it is.
	if w := n.Load() - n0; w != int64(len(beatMsg))+2 {
		t.Fatalf("heartbeat of %d bytes: %d on the wire, want %d", len(beatMsg), w, len(beatMsg)+2)
	}
}
