package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dashd/dashd/stream"
	"github.com/gorilla/websocket"
)

// BenchmarkFanout publishes one frame per tick to N viewers of one topic
// and waits until every viewer has read it. Allocations include the
// clients' reads (NextReader into io.Discard keeps those small).
//
// With compress, the clients offer permessage-deflate (as browsers do) and
// the frame is compressed once per tick for all of them.
func BenchmarkFanout(b *testing.B) {
	for _, compress := range []bool{false, true} {
		for _, n := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("compress=%v/viewers=%d", compress, n), func(b *testing.B) { fanout(b, n, compress) })
		}
	}
}

func fanout(b *testing.B, n int, compress bool) {
	e := newEnv(b, stream.Config{})
	var received atomic.Int64
	d := websocket.Dialer{EnableCompression: compress}
	for range n {
		c, _, err := d.Dial(e.wsURL("a"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
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
	cpu0 := cpuTime(b)
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
	// CPU, not wall time: the machine is shared. Server and clients
	// are one process; the clients' share is the same for both.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n*b.N), "cpu-ns/delivery")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleViewer opens b.N idle WebSocket viewers of six topics (each
// gets its snapshot, then nothing) and reports the heap and stack they
// hold, and their goroutines, per viewer, after a GC. The clients are raw
// TCP connections that did the handshake by hand and read nothing, so
// nearly all of it is the server's: compare the leases (none; one lease
// shared by all; one per viewer, cancellable or with a deadline, as an
// embed token's expiry would be). Each viewer holds two sockets of this
// process: run with -benchtime=2000x (at most 5000x).
func BenchmarkIdleViewer(b *testing.B) {
	// Each returns a maker of one viewer's lease (nil: none), and what
	// cancels all the leases it made; made anew for each run.
	leases := map[string]func() (func() context.Context, context.CancelFunc){
		"none": func() (func() context.Context, context.CancelFunc) { return nil, func() {} },
		"shared": func() (func() context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			return func() context.Context { return ctx }, cancel
		},
		"own": func() (func() context.Context, context.CancelFunc) {
			return perViewer(func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) })
		},
		"deadline": func() (func() context.Context, context.CancelFunc) {
			return perViewer(func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 24*time.Hour)
			})
		},
	}
	for _, name := range []string{"none", "shared", "own", "deadline"} {
		b.Run("lease="+name, func(b *testing.B) {
			if b.N > 5000 {
				b.Skip("each viewer holds two sockets: run with -benchtime=2000x")
			}
			e := newEnv(b, stream.Config{})
			newLease, cancel := leases[name]()
			defer cancel()
			q := "/ws?topics=t1,t2,t3,t4,t5,t6"
			if newLease != nil {
				e.setLeaseFunc("L", newLease)
				q += "&lease=L"
			}
			topics := "t1,t2,t3,t4,t5,t6"
			for _, t := range strings.Split(topics, ",") {
				e.hub.Publish(t, bigFrame(t, 1, 200))
			}
			e.hub.Flush()
			addr := strings.TrimPrefix(e.srv.URL, "http://")
			// Warm up: the first viewers make the group, its snapshot and
			// the server's pools.
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			open := func() { conns = append(conns, idleDial(b, addr, q)) }
			for range 10 {
				open()
			}
			waitFor(b, "warm-up viewers", func() bool { return e.metric(b, "dashd_stream_viewers", "transport=ws") == 10 })
			before, g0 := heldMemory()
			b.ResetTimer()
			for range b.N {
				open()
			}
			waitFor(b, "viewers", func() bool { return e.metric(b, "dashd_stream_viewers", "transport=ws") == float64(10+b.N) })
			b.StopTimer()
			after, g1 := heldMemory()
			b.ReportMetric(float64(after-before)/float64(b.N), "B/viewer")
			b.ReportMetric(float64(g1-g0)/float64(b.N), "goroutines/viewer")
		})
	}
}

// perViewer makes a lease per viewer with mk, keeping its cancel as a
// caller would (to revoke it), and cancels them all at the end.
func perViewer(mk func() (context.Context, context.CancelFunc)) (func() context.Context, context.CancelFunc) {
	var mu sync.Mutex
	var cancels []context.CancelFunc
	return func() context.Context {
			ctx, cancel := mk()
			mu.Lock()
			cancels = append(cancels, cancel)
			mu.Unlock()
			return ctx
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range cancels {
				c()
			}
		}
}

// heldMemory is the bytes of live heap objects and of stacks after a GC,
// and the goroutines.
func heldMemory() (uint64, int) {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse, runtime.NumGoroutine()
}

// idleDial opens a WebSocket by hand and leaves it: no reader, no buffer.
func idleDial(b *testing.B, addr, path string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		b.Fatal(err)
	}
	// Read the status line only (byte by byte: no buffer kept).
	var line []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if _, err := c.Read(one); err != nil {
			b.Fatal(err)
		}
		line = append(line, one[0])
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		b.Fatalf("handshake: %q", line)
	}
	return c
}
