package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// A counting viewer is a WebSocket viewer that does not look inside what
// it receives: it counts the bytes on its socket and the messages, and
// nothing else. No inflate (the frames' compressed payload is skipped
// unread), no JSON, no delta decoding, no buffer per message: its cost is
// the reads. Most of a large run's viewers are counting viewers, so that
// dashload, on the same machine as the server, takes little of the CPU it
// measures; a spread sample of the viewers (--sample) decodes every
// message and times the probes (probeTracker), and the figures per update
// (bytes, frames per message) come from that sample.
//
// It speaks just enough RFC 6455 for a server-to-client stream: the
// handshake (offering permessage-deflate as gorilla's client does, when
// compress is set), frame headers, pongs to pings (masked, as a client
// must), and a close ends it.

// countStats are the counting viewers' counters, spread like shard's.
type countStats struct {
	messages atomic.Uint64
	wire     atomic.Uint64 // bytes read from the sockets
	_        [48]byte
}

// countingViewer reads one WebSocket stream until ctx ends, counting.
// Like wsViewer, it calls connected once the handshake ended either way.
func countingViewer(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error),
	rawURL string, compress bool, cs *countStats, st *viewerStats, connected func()) {
	conn, br, deflate, err := rawHandshake(ctx, dial, rawURL, compress, &cs.wire)
	if err != nil {
		st.connectFailed.Add(1)
		if ctx.Err() == nil {
			st.noteErr("WebSocket " + rawURL + ": " + err.Error())
		}
		connected()
		return
	}
	st.connectedWS.Add(1)
	if deflate {
		st.compressed.Add(1)
	}
	connected()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	if err := countFrames(br, conn, &cs.messages); err != nil && ctx.Err() == nil {
		st.dropped.Add(1)
		st.noteErr("viewer dropped: " + err.Error())
	}
}

// rawHandshake dials u (ws://127.0.0.1:PORT/…), counting the bytes read
// into n, and performs the opening handshake. It returns the connection,
// the reader to read frames from (it may hold bytes read past the
// handshake), and whether permessage-deflate was negotiated.
func rawHandshake(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error),
	rawURL string, compress bool, n *atomic.Uint64) (net.Conn, *bufio.Reader, bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ws" {
		return nil, nil, false, fmt.Errorf("not a ws:// URL: %q", rawURL)
	}
	c, err := dial(ctx, "tcp", u.Host)
	if err != nil {
		return nil, nil, false, err
	}
	conn := countingConn{Conn: c, n: n}
	var key [16]byte
	_, _ = rand.Read(key[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key[:]))
	if compress {
		req.WriteString("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")
	}
	req.WriteString("\r\n")
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, req.String()); err != nil {
		c.Close()
		return nil, nil, false, err
	}
	br := bufio.NewReaderSize(conn, 512)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		c.Close()
		return nil, nil, false, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		c.Close()
		return nil, nil, false, fmt.Errorf("%s %s", resp.Status, strings.TrimSpace(string(b)))
	}
	_ = c.SetDeadline(time.Time{})
	return c, br, strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate"), nil
}

// countFrames reads server frames from br until an error or a close,
// adding one to messages per data message (its final frame), skipping
// payloads unread, and answering pings on w. A close frame ends it with
// an error that names the close code.
func countFrames(br *bufio.Reader, w io.Writer, messages *atomic.Uint64) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return err
		}
		fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0f
		if hdr[1]&0x80 != 0 {
			return fmt.Errorf("masked frame from the server")
		}
		size := uint64(hdr[1] & 0x7f)
		switch size {
		case 126:
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return err
			}
			size = uint64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(br, hdr[:8]); err != nil {
				return err
			}
			size = binary.BigEndian.Uint64(hdr[:8])
		}
		switch op {
		case 0x0, 0x1, 0x2: // continuation, text, binary
			if size > 1<<30 {
				return fmt.Errorf("a frame of %d bytes", size)
			}
			if _, err := br.Discard(int(size)); err != nil {
				return err
			}
			if fin {
				messages.Add(1)
			}
		case 0x8, 0x9, 0xa: // close, ping, pong: at most 125 bytes
			if size > 125 {
				return fmt.Errorf("a control frame of %d bytes", size)
			}
			var p [125]byte
			if _, err := io.ReadFull(br, p[:size]); err != nil {
				return err
			}
			switch op {
			case 0x8:
				code := 1005
				if size >= 2 {
					code = int(binary.BigEndian.Uint16(p[:2]))
				}
				return fmt.Errorf("closed by the server: %d %s", code, p[min(size, 2):size])
			case 0x9:
				if _, err := w.Write(pongFrame(p[:size])); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unknown opcode %d", op)
		}
	}
}

// pongFrame is a client's pong carrying payload (at most 125 bytes),
// masked with a zero key (RFC 6455 lets any key be used; the payload then
// goes as it is).
func pongFrame(payload []byte) []byte {
	f := make([]byte, 0, 6+len(payload))
	f = append(f, 0x8a, 0x80|byte(len(payload)), 0, 0, 0, 0)
	return append(f, payload...)
}

// sampled reports whether WebSocket viewer i (of viewers, spread
// round-robin over dashboards) decodes and times: all of them when
// sample is 0 or at least viewers; otherwise whole rounds of one viewer
// per dashboard, spread evenly through the connection order (so that the
// sample sits at the front, middle and back of each dashboard's viewers,
// as the server's delivery order goes), about sample in all and never
// fewer than one per dashboard.
func sampled(i, viewers, dashboards, sample int) bool {
	if sample <= 0 || sample >= viewers {
		return true
	}
	dashboards = max(dashboards, 1)
	rounds := (viewers + dashboards - 1) / dashboards
	want := max((sample+dashboards-1)/dashboards, 1)
	every := max(rounds/want, 1)
	return (i/dashboards)%every == 0
}

// arrivals keeps, for each push, when the sample first and last received
// its probe (nanoseconds since base, +1; 0: not yet). They split the
// latency into the pipeline (POST to the first viewer: ingest, log, board,
// the first write) and the fan-out (first to last viewer: one tick's
// writes to every viewer, and the viewers' reads), which grows with the
// viewers while the pipeline does not.
type arrivals struct {
	first, last []atomic.Int64
}

func newArrivals(n int) *arrivals {
	return &arrivals{first: make([]atomic.Int64, n), last: make([]atomic.Int64, n)}
}

// note records that probe seq arrived at now (since base).
func (a *arrivals) note(seq uint64, now time.Duration) {
	if a == nil || seq >= uint64(len(a.first)) {
		return
	}
	v := int64(now) + 1
	for f := &a.first[seq]; ; {
		old := f.Load()
		if (old != 0 && old <= v) || f.CompareAndSwap(old, v) {
			break
		}
	}
	for l := &a.last[seq]; ; {
		old := l.Load()
		if old >= v || l.CompareAndSwap(old, v) {
			break
		}
	}
}

// split returns the pipeline and fan-out latencies of every push that
// was sent and received.
func (a *arrivals) split(sent []atomic.Int64) (pipeline, fanout *latencies) {
	var p, f histogram
	for seq := range a.first {
		s, first, last := sent[seq].Load(), a.first[seq].Load(), a.last[seq].Load()
		if s == 0 || first == 0 {
			continue
		}
		p.record(time.Duration(first - s))
		f.record(time.Duration(last - first))
	}
	return merge([]*histogram{&p}), merge([]*histogram{&f})
}
