package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// numShards spreads the viewers' counters so that they do not all hit one
// cache line.
const numShards = 8

// shard is the counters of a share of the viewers.
type shard struct {
	messages atomic.Uint64
	updates  atomic.Uint64 // frames, each frame of a batch counted once
	lat      histogram
	latPhase [2]histogram  // with --scrubbers: probes POSTed without, with scrubbing
	wire     atomic.Uint64 // bytes read from WebSocket viewers' sockets
	wsUpd    atomic.Uint64 // updates WebSocket viewers got
	wsMsgs   atomic.Uint64 // messages WebSocket viewers got
	_        [64]byte
}

// viewerStats is what every viewer adds to.
type viewerStats struct {
	shards        [numShards]shard
	counting      [numShards]countStats // the counting viewers' (raw.go)
	connectedWS   atomic.Int64
	connectedSSE  atomic.Int64
	connectFailed atomic.Int64
	compressed    atomic.Int64 // WebSocket viewers with permessage-deflate
	dropped       atomic.Int64 // ended by the server or an error before the run ended
	firstErr      atomic.Pointer[string]
}

func (s *viewerStats) counts() (messages, updates uint64) {
	for i := range s.shards {
		messages += s.shards[i].messages.Load()
		updates += s.shards[i].updates.Load()
	}
	return messages, updates
}

// wire returns the bytes read from WebSocket sockets and the updates
// WebSocket viewers got.
func (s *viewerStats) wire() (bytes, updates uint64) {
	for i := range s.shards {
		bytes += s.shards[i].wire.Load()
		updates += s.shards[i].wsUpd.Load()
	}
	return bytes, updates
}

// wsMessages is the messages the decoding WebSocket viewers got.
func (s *viewerStats) wsMessages() (n uint64) {
	for i := range s.shards {
		n += s.shards[i].wsMsgs.Load()
	}
	return n
}

// counted returns the messages and the bytes on the wire of the counting
// viewers.
func (s *viewerStats) counted() (messages, bytes uint64) {
	for i := range s.counting {
		messages += s.counting[i].messages.Load()
		bytes += s.counting[i].wire.Load()
	}
	return messages, bytes
}

func (s *viewerStats) latencies() *latencies {
	hs := make([]*histogram, numShards)
	for i := range s.shards {
		hs[i] = &s.shards[i].lat
	}
	return merge(hs)
}

// phaseLatencies are the latencies of probes POSTed without scrubbing
// (0) and with it (1).
func (s *viewerStats) phaseLatencies() [2]*latencies {
	var out [2]*latencies
	for p := range out {
		hs := make([]*histogram, numShards)
		for i := range s.shards {
			hs[i] = &s.shards[i].latPhase[p]
		}
		out[p] = merge(hs)
	}
	return out
}

func (s *viewerStats) noteErr(msg string) {
	s.firstErr.CompareAndSwap(nil, &msg)
}

// bufPool holds message buffers, so that idle viewers hold none.
type bufPool struct{ p sync.Pool }

func (b *bufPool) get() *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, 0, 8192)
	return &buf
}

func (b *bufPool) put(v *[]byte) {
	if cap(*v) <= 1<<20 {
		*v = (*v)[:0]
		b.p.Put(v)
	}
}

// probeTracker turns frames into latency records for one viewer: the first
// frame of each chart is its snapshot and is not timed; after it, each new
// probe value is timed once, from its POST to now.
type probeTracker struct {
	last  []uint64 // by chart; math.MaxUint64 until the first frame
	sh    *shard
	sent  []atomic.Int64
	base  time.Time
	now   time.Duration
	ws    bool          // a WebSocket viewer's
	arr   *arrivals     // first and last receipt of each probe; nil: not kept
	dd    *deltaDecoder // with --delta
	full  []byte        // scratch of dd
	phase *scrubPhase   // with --scrubbers
}

func newProbeTracker(charts int, sh *shard, sent []atomic.Int64, base time.Time) *probeTracker {
	last := make([]uint64, charts)
	for i := range last {
		last[i] = math.MaxUint64
	}
	return &probeTracker{last: last, sh: sh, sent: sent, base: base}
}

func (t *probeTracker) frame(fi frameInfo) {
	if fi.chart < 0 || fi.chart >= len(t.last) || !fi.hasProbe {
		return
	}
	prev := t.last[fi.chart]
	t.last[fi.chart] = fi.probe
	if prev == math.MaxUint64 || prev == fi.probe || fi.probe >= uint64(len(t.sent)) {
		return
	}
	if at := t.sent[fi.probe].Load(); at > 0 {
		d := t.now - time.Duration(at-1)
		t.sh.lat.record(d)
		t.arr.note(fi.probe, t.now)
		if t.phase != nil {
			p := 0
			if t.phase.scrubbing(time.Duration(at - 1)) {
				p = 1
			}
			t.sh.latPhase[p].record(d)
		}
	}
}

// message accounts one received message.
func (t *probeTracker) message(msg []byte) {
	t.now = time.Since(t.base)
	n := scanMessage(msg, t.frame)
	t.sh.messages.Add(1)
	t.sh.updates.Add(uint64(n))
	if t.ws {
		t.sh.wsUpd.Add(uint64(n))
		t.sh.wsMsgs.Add(1)
	}
}

// wsViewer reads one WebSocket stream until ctx ends.
func wsViewer(ctx context.Context, d *websocket.Dialer, url string, tr *probeTracker, st *viewerStats, pool *bufPool, connected func()) {
	// Count what the socket carries: compressed where negotiated.
	cd := *d
	cd.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.NetDialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, n: &tr.sh.wire}, nil
	}
	conn, resp, err := cd.DialContext(ctx, url, nil)
	if err != nil {
		st.connectFailed.Add(1)
		if ctx.Err() == nil {
			msg := err.Error()
			if resp != nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				msg = fmt.Sprintf("%s: %s %s", msg, resp.Status, bytes.TrimSpace(b))
			}
			st.noteErr("WebSocket " + url + ": " + msg)
		}
		connected()
		return
	}
	st.connectedWS.Add(1)
	if strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		st.compressed.Add(1)
	}
	connected()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			if ctx.Err() == nil {
				st.dropped.Add(1)
				st.noteErr("viewer dropped: " + err.Error())
			}
			return
		}
		buf := pool.get()
		b, err := readInto(*buf, r)
		*buf = b
		if err == nil && tr.dd != nil {
			tr.full, err = tr.dd.expand(tr.full[:0], b)
			if err == nil {
				tr.message(tr.full)
			}
		} else if err == nil {
			tr.message(b)
		}
		pool.put(buf)
		if err != nil {
			if ctx.Err() == nil {
				st.dropped.Add(1)
				st.noteErr("viewer dropped: " + err.Error())
			}
			return
		}
	}
}

// countingConn counts the bytes read from a socket.
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

// readInto reads r to its end into b[:0], growing it as needed.
func readInto(b []byte, r io.Reader) ([]byte, error) {
	b = b[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// sseViewer reads one Server-Sent Events stream until ctx ends: each
// "data:" line is one frame, each event one message.
func sseViewer(ctx context.Context, client *http.Client, url string, tr *probeTracker, st *viewerStats, connected func()) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		st.connectFailed.Add(1)
		st.noteErr(err.Error())
		connected()
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		st.connectFailed.Add(1)
		if ctx.Err() == nil {
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				resp.Body.Close()
				err = fmt.Errorf("%s %s", resp.Status, bytes.TrimSpace(b))
			}
			st.noteErr("SSE " + url + ": " + err.Error())
		}
		connected()
		return
	}
	defer resp.Body.Close()
	st.connectedSSE.Add(1)
	connected()
	br := bufio.NewReaderSize(resp.Body, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A frame longer than the buffer: gather it.
			full := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if err != nil {
			if ctx.Err() == nil {
				st.dropped.Add(1)
				st.noteErr("SSE viewer dropped: " + err.Error())
			}
			return
		}
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			tr.message(bytes.TrimSpace(data))
		}
	}
}
