package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// reference is a plain fan-out server on gorilla/websocket, the yardstick
// dashd is measured against. It serves the HTTP surface dashload uses:
//
//   - PUT /api/v1/dashboards/{id}: accepted and ignored.
//   - POST /api/v1/ingest (JSON), /write (line protocol),
//     /api/v1/import/prometheus (Prometheus text): decoded minimally (the
//     shapes dashload sends, no escapes), folded into a last-value table per
//     chart, and answered; every push becomes one message (a frame, or a
//     batch of the frames of the charts it touched), encoded once and
//     handed to one broadcaster goroutine, which queues it to every viewer
//     (so a POST waits for the fan-out no more than it does in dashd).
//   - GET /api/v1/stream (WebSocket) and /api/v1/stream/sse: every viewer
//     gets every push, whatever ?dashboard= or ?charts= it names.
//
// Chart ids are "dashload-" + the sample's chart tag. There is no frame
// rate limit, no snapshot on connect and no authentication.
//
// Per WebSocket connection: a 512-byte read buffer, a write buffer taken
// from a shared pool only while writing, a reader goroutine started by the
// handler (which then returns, releasing net/http's request buffers) and a
// writer goroutine that drains the connection's queue into one WebSocket
// message per wake-up: the one queued message as is, or every queued one
// coalesced into {"type":"batch","frames":[…]}. A viewer whose queue
// passes maxQueue messages is disconnected.
type reference struct {
	log      *slog.Logger
	maxQueue int
	upgrader websocket.Upgrader

	mu      sync.Mutex
	viewers map[*refViewer]struct{}
	charts  map[string]*refChart
	closed  bool

	out       chan *refMsg // to the broadcaster
	pushMu    sync.Mutex   // keeps apply and the hand-over in one order
	conns     sync.WaitGroup
	delivered atomic.Uint64 // messages written to viewers
	dropped   atomic.Uint64 // viewers cut for a full queue or a failed write
}

// refMsg is one push as sent: its frames, and the same joined by commas
// (the inside of a batch's frames array).
type refMsg struct {
	frames [][]byte
	joined []byte
}

type refViewer struct {
	ws   *websocket.Conn // nil for SSE
	wake chan struct{}   // capacity 1
	done chan struct{}   // closed when the viewer ends

	mu    sync.Mutex
	queue []*refMsg
	spare []*refMsg
	gone  bool
}

// refChart is the last value of each category × series of one chart.
type refChart struct {
	id     string
	seq    uint64
	cats   []string // sorted
	series []string // sorted
	values map[[2]string]float64
}

func newReference(log *slog.Logger) *reference {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &reference{
		log:      log,
		maxQueue: 256,
		viewers:  map[*refViewer]struct{}{},
		charts:   map[string]*refChart{},
		out:      make(chan *refMsg, 1024),
	}
	r.upgrader = websocket.Upgrader{
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	return r
}

func (r *reference) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/v1/dashboards/{id}", func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":` + strconv.Quote(req.PathValue("id")) + `}`))
	})
	mux.HandleFunc("POST /api/v1/ingest", r.ingest(decodeRefJSON, http.StatusOK))
	mux.HandleFunc("POST /write", r.ingest(decodeRefLP, http.StatusNoContent))
	mux.HandleFunc("POST /api/v2/write", r.ingest(decodeRefLP, http.StatusNoContent))
	mux.HandleFunc("POST /api/v1/import/prometheus", r.ingest(decodeRefProm, http.StatusOK))
	mux.HandleFunc("GET /api/v1/stream", r.serveWS)
	mux.HandleFunc("GET /api/v1/stream/sse", r.serveSSE)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// serve runs the reference on ln until ctx ends, then closes every viewer.
func (r *reference) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: r.handler(), ReadHeaderTimeout: 10 * time.Second}
	bctx, stopBroadcast := context.WithCancel(context.Background())
	broadcastDone := make(chan struct{})
	go func() {
		defer close(broadcastDone)
		r.broadcastLoop(bctx)
	}()
	defer func() {
		stopBroadcast()
		<-broadcastDone
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.close()
	srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// close ends every viewer and waits for their goroutines.
func (r *reference) close() {
	r.mu.Lock()
	r.closed = true
	vs := make([]*refViewer, 0, len(r.viewers))
	for v := range r.viewers {
		vs = append(vs, v)
	}
	r.mu.Unlock()
	for _, v := range vs {
		r.drop(v)
	}
	r.conns.Wait()
}

func (r *reference) add(v *refViewer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.viewers[v] = struct{}{}
	r.conns.Add(1)
	return true
}

// drop ends v once: out of the broadcast set, done closed, socket closed.
func (r *reference) drop(v *refViewer) {
	v.mu.Lock()
	if v.gone {
		v.mu.Unlock()
		return
	}
	v.gone = true
	v.queue = nil
	v.mu.Unlock()
	r.mu.Lock()
	delete(r.viewers, v)
	r.mu.Unlock()
	close(v.done)
	if v.ws != nil {
		v.ws.Close()
	}
	r.conns.Done()
}

func (r *reference) serveWS(w http.ResponseWriter, req *http.Request) {
	ws, err := r.upgrader.Upgrade(w, req, nil)
	if err != nil {
		return // the upgrader answered
	}
	v := &refViewer{ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if !r.add(v) {
		ws.Close()
		return
	}
	ws.SetReadLimit(512)
	go r.readLoop(v)
	go r.writeLoop(v)
}

// readLoop reads (and discards) what the viewer sends, answering pings,
// until the connection fails.
func (r *reference) readLoop(v *refViewer) {
	for {
		if _, _, err := v.ws.NextReader(); err != nil {
			r.drop(v)
			return
		}
	}
}

// The batch message around coalesced frames.
const (
	batchHead = `{"type":"batch","frames":[`
	batchTail = `]}`
)

// writeLoop writes the queue, all of it in one message per wake-up.
func (r *reference) writeLoop(v *refViewer) {
	for {
		select {
		case <-v.wake:
		case <-v.done:
			return
		}
		v.mu.Lock()
		q := v.queue
		v.queue, v.spare = v.spare[:0], nil
		v.mu.Unlock()
		if len(q) == 0 {
			continue
		}
		v.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		var err error
		if len(q) == 1 && len(q[0].frames) == 1 {
			err = v.ws.WriteMessage(websocket.TextMessage, q[0].frames[0])
		} else {
			err = writeBatch(v.ws, q)
		}
		clear(q)
		v.mu.Lock()
		if v.spare == nil {
			v.spare = q[:0]
		}
		v.mu.Unlock()
		if err != nil {
			r.dropped.Add(1)
			r.drop(v)
			return
		}
		r.delivered.Add(1)
	}
}

// writeBatch writes the messages of q as one batch message, streaming the
// encoded pieces into the writer without joining them first.
func writeBatch(ws *websocket.Conn, q []*refMsg) error {
	wr, err := ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	io.WriteString(wr, batchHead)
	for i, m := range q {
		if i > 0 {
			io.WriteString(wr, ",")
		}
		wr.Write(m.joined)
	}
	io.WriteString(wr, batchTail)
	return wr.Close()
}

// enqueue adds m to v's queue and wakes its writer. It never blocks; a
// viewer whose queue is full is dropped.
func (r *reference) enqueue(v *refViewer, m *refMsg) {
	v.mu.Lock()
	if v.gone {
		v.mu.Unlock()
		return
	}
	if len(v.queue) >= r.maxQueue {
		v.mu.Unlock()
		r.dropped.Add(1)
		go r.drop(v)
		return
	}
	v.queue = append(v.queue, m)
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

func (r *reference) serveSSE(w http.ResponseWriter, req *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	v := &refViewer{wake: make(chan struct{}, 1), done: make(chan struct{})}
	if !r.add(v) {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer r.drop(v)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	rc := http.NewResponseController(w)
	for {
		select {
		case <-v.wake:
		case <-v.done:
			return
		case <-req.Context().Done():
			return
		}
		v.mu.Lock()
		q := v.queue
		v.queue = nil
		v.mu.Unlock()
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for _, m := range q {
			for _, f := range m.frames {
				w.Write([]byte("event: frame\ndata: "))
				w.Write(f)
				w.Write([]byte("\n\n"))
			}
		}
		if err := rc.Flush(); err != nil {
			r.dropped.Add(1)
			return
		}
		r.delivered.Add(uint64(len(q)))
	}
}

// refSample is what the reference reads of a sample.
type refSample struct {
	chart, cat, s string
	value         float64
}

// ingest answers a push and broadcasts the frames of the charts it touched.
func (r *reference) ingest(decode func([]byte) ([]refSample, error), okStatus int) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		samples, err := decode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.pushMu.Lock()
		if m := r.apply(samples); m != nil {
			select {
			case r.out <- m:
			case <-req.Context().Done():
			}
		}
		r.pushMu.Unlock()
		if okStatus == http.StatusNoContent {
			w.WriteHeader(okStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(strconv.AppendInt([]byte(`{"accepted":`), int64(len(samples)), 10))
		w.Write([]byte("}"))
	}
}

// apply folds samples into the charts and returns the push's message:
// the new frame of each chart touched, in chart-id order.
func (r *reference) apply(samples []refSample) *refMsg {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var touched []*refChart
	for _, s := range samples {
		id := chartPrefix + s.chart
		c := r.charts[id]
		if c == nil {
			c = &refChart{id: id, values: map[[2]string]float64{}}
			r.charts[id] = c
		}
		if i, found := slices.BinarySearch(c.cats, s.cat); !found {
			c.cats = slices.Insert(c.cats, i, s.cat)
		}
		if i, found := slices.BinarySearch(c.series, s.s); !found {
			c.series = slices.Insert(c.series, i, s.s)
		}
		c.values[[2]string{s.cat, s.s}] = s.value
		if !slices.Contains(touched, c) {
			touched = append(touched, c)
		}
	}
	if len(touched) == 0 {
		return nil
	}
	slices.SortFunc(touched, func(a, b *refChart) int { return strings.Compare(a.id, b.id) })
	m := &refMsg{}
	for _, c := range touched {
		c.seq++
		start := len(m.joined)
		if start > 0 {
			m.joined = append(m.joined, ',')
			start++
		}
		m.joined = c.appendFrame(m.joined, now)
		m.frames = append(m.frames, m.joined[start:len(m.joined):len(m.joined)])
	}
	return m
}

// broadcastLoop queues each pushed message to every viewer, in push
// order, until ctx ends.
func (r *reference) broadcastLoop(ctx context.Context) {
	var vs []*refViewer
	for {
		var m *refMsg
		select {
		case m = <-r.out:
		case <-ctx.Done():
			return
		}
		r.mu.Lock()
		vs = vs[:0]
		for v := range r.viewers {
			vs = append(vs, v)
		}
		r.mu.Unlock()
		for _, v := range vs {
			r.enqueue(v, m)
		}
		clear(vs)
	}
}

// appendFrame encodes the chart's frame as in CONTRACT.md.
func (c *refChart) appendFrame(b []byte, now time.Time) []byte {
	b = append(b, `{"type":"frame","chart":`...)
	b = strconv.AppendQuote(b, c.id)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, c.seq, 10)
	b = append(b, `,"time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","categories":[`...)
	for i, cat := range c.cats {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, cat)
	}
	b = append(b, `],"series":[`...)
	for i, s := range c.series {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = strconv.AppendQuote(b, s)
		b = append(b, `,"data":[`...)
		for j, cat := range c.cats {
			if j > 0 {
				b = append(b, ',')
			}
			v, ok := c.values[[2]string{cat, s}]
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				b = append(b, "null"...)
				continue
			}
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// decodeRefJSON reads {"samples":[…]} or a bare array.
func decodeRefJSON(body []byte) ([]refSample, error) {
	type jsonSample struct {
		Tags  map[string]string `json:"tags"`
		Value float64           `json:"value"`
	}
	var in []jsonSample
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var wrapped struct {
			Samples []jsonSample `json:"samples"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return nil, err
		}
		in = wrapped.Samples
	} else if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := make([]refSample, len(in))
	for i, s := range in {
		out[i] = refSample{chart: s.Tags["chart"], cat: s.Tags["cat"], s: s.Tags["s"], value: s.Value}
	}
	return out, nil
}

// decodeRefLP reads "measurement,k=v,… field=value [time]" lines, without
// escapes; the first field is the value.
func decodeRefLP(body []byte) ([]refSample, error) {
	var out []refSample
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, rest, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			return nil, errors.New("line protocol: no field set in " + strconv.Quote(string(line)))
		}
		var s refSample
		parts := bytes.Split(key, []byte{','})
		for _, p := range parts[1:] {
			k, v, _ := bytes.Cut(p, []byte{'='})
			s.setTag(string(k), string(v))
		}
		field, _, _ := bytes.Cut(rest, []byte{' '})
		field, _, _ = bytes.Cut(field, []byte{','})
		_, val, _ := bytes.Cut(field, []byte{'='})
		v, err := strconv.ParseFloat(string(bytes.TrimSuffix(val, []byte{'i'})), 64)
		if err != nil {
			return nil, errors.New("line protocol: " + err.Error())
		}
		s.value = v
		out = append(out, s)
	}
	return out, nil
}

// decodeRefProm reads `name{k="v",…} value [time]` lines, without escapes.
func decodeRefProm(body []byte) ([]refSample, error) {
	var out []refSample
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var s refSample
		rest := line
		if open := bytes.IndexByte(line, '{'); open >= 0 {
			end := bytes.IndexByte(line, '}')
			if end < open {
				return nil, errors.New("prometheus: unclosed labels in " + strconv.Quote(string(line)))
			}
			for _, p := range bytes.Split(line[open+1:end], []byte{','}) {
				k, v, _ := bytes.Cut(p, []byte{'='})
				s.setTag(string(bytes.TrimSpace(k)), string(bytes.Trim(v, `"`)))
			}
			rest = line[end+1:]
		} else {
			_, rest, _ = bytes.Cut(line, []byte{' '})
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return nil, errors.New("prometheus: no value in " + strconv.Quote(string(line)))
		}
		v, err := strconv.ParseFloat(string(f[0]), 64)
		if err != nil {
			return nil, errors.New("prometheus: " + err.Error())
		}
		s.value = v
		out = append(out, s)
	}
	return out, nil
}

func (s *refSample) setTag(k, v string) {
	switch k {
	case "chart":
		s.chart = v
	case "cat":
		s.cat = v
	case "s":
		s.s = v
	}
}
