package stream

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is what a Hub needs. Zero fields take the defaults named on each.
type Config struct {
	// AllowedOrigins may open a stream besides the request's own host, which
	// is always allowed, as is a request without Origin (not a browser).
	// An entry is an origin ("https://wall.example.com"), a bare host
	// ("wall.example.com:8443", any scheme) or "*" (any origin).
	AllowedOrigins []string

	// PingPeriod is how often an idle link carries something: a WebSocket
	// ping, an SSE comment. Below the idle timeout of common proxies
	// (nginx: 60s). Default 25s.
	PingPeriod time.Duration
	// PongWait is how long a WebSocket peer may stay silent (no pong) before
	// it is taken for dead. Default 60s; raised to 2×PingPeriod if below it.
	PongWait time.Duration
	// WriteWait bounds one socket write. Keep it above StuckAfter, so that a
	// stuck viewer that wakes up still gets its 1013 before the write times
	// out. Default 20s.
	WriteWait time.Duration
	// StuckAfter is how long data may stay undelivered to one viewer before
	// it is disconnected (WebSocket close 1013, try again later). Default 10s.
	StuckAfter time.Duration

	// Logger gets refusals (info), stuck viewers (warn), bugs (error),
	// and viewers coming, going or ended by their lease (debug).
	// nil discards.
	Logger *slog.Logger
	// Registerer gets the dashd_stream_* metrics. nil registers nowhere.
	Registerer prometheus.Registerer
}

// Hub fans published messages out to the viewers of their topics. Make it
// with New.
type Hub struct {
	cfg     Config
	log     *slog.Logger
	met     *metrics
	m       *melody.Melody
	origins originPolicy
	idBase  uint64
	done    chan struct{} // closed by Close; ends SSE handlers
	conns   sync.WaitGroup

	// The viewer of each connected WebSocket session (*melody.Session →
	// *viewer), from wsConnect to wsDisconnect. An entry costs about 100
	// bytes; keeping the viewer in the session's Keys map, about 370.
	sessions sync.Map

	mu     sync.Mutex
	closed bool
	topics map[string]*topic
	groups map[string]*group // by canonical topic-set key
	staged []*topic          // published since the last Flush
	dirty  []*group          // scratch of Flush
}

// topic is one stream of messages. Guarded by Hub.mu.
type topic struct {
	name   string
	cur    []byte // retained: the snapshot for new subscribers
	n      uint64 // id of cur, for SSE
	next   []byte // staged by Publish, becomes cur at Flush
	staged bool
	refs   []groupRef // groups that read this topic
}

type groupRef struct {
	g *group
	i int // the topic's index in g.topics
}

// group is the viewers of one topic set. Guarded by Hub.mu.
type group struct {
	key     string
	topics  []*topic
	names   []string
	members []*viewer

	// This tick's frames, by topic index; nil where unchanged.
	frames  [][]byte
	ns      []uint64
	changed int
	dirty   bool
	payload []byte // the tick's WebSocket message, built on first need

	// The first WebSocket message of a new viewer: the current message of
	// each topic that has one (a batch if several), built on first need
	// and shared until one of the topics changes.
	snap []byte
}

// New returns a Hub ready to serve.
func New(cfg Config) *Hub {
	if cfg.PingPeriod <= 0 {
		cfg.PingPeriod = 25 * time.Second
	}
	if cfg.PongWait <= 0 {
		cfg.PongWait = 60 * time.Second
	}
	if cfg.PongWait <= cfg.PingPeriod {
		cfg.PongWait = 2 * cfg.PingPeriod
	}
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = 20 * time.Second
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Hub{
		cfg:     cfg,
		log:     log,
		met:     newMetrics(cfg.Registerer),
		origins: newOriginPolicy(cfg.AllowedOrigins),
		// Below 2^53 so that the ids stay exact even where parsed as numbers.
		idBase: rand.Uint64N(1 << 52),
		done:   make(chan struct{}),
		topics: make(map[string]*topic),
		groups: make(map[string]*group),
	}
	h.m = h.newMelody()
	go h.heartbeats()
	return h
}

func (h *Hub) newMelody() *melody.Melody {
	m := melody.New()
	m.Config.PingPeriod = h.cfg.PingPeriod
	m.Config.PongWait = h.cfg.PongWait
	m.Config.WriteWait = h.cfg.WriteWait
	// Viewers send nothing meaningful; anything large is abuse.
	m.Config.MaxMessageSize = 512
	// A session holds at most one data message and a close or two (see
	// viewer): a full buffer is a bug, counted in HandleError.
	m.Config.MessageBufferSize = 4
	m.Upgrader = &websocket.Upgrader{
		// Held for the viewer's life. Viewers send only control frames
		// (pong, close: at most 125 bytes of payload, which gorilla must be
		// able to peek at whole) and nothing else of use; a data message
		// is read through it in pieces, whatever its size.
		ReadBufferSize:    128,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: false,
		CheckOrigin:       h.origins.allowed,
		Error:             h.upgradeError,
	}
	m.HandleConnect(h.wsConnect)
	m.HandleDisconnect(h.wsDisconnect)
	m.HandleSentMessage(h.wsSent)
	m.HandleError(h.wsError)
	return m
}

// Publish stages msg as the topic's newest message. At the next Flush it
// becomes the topic's current state (the snapshot new subscribers get) and
// goes to the topic's viewers. The Hub keeps msg: it must not be modified
// afterwards. An empty msg is ignored. After Close, Publish does nothing.
//
// The state changes at Flush, not here, so that a viewer subscribing
// between the two gets the message once, not as snapshot and again live.
//
// A nil msg retracts the topic (its chart was deleted): at Flush its
// current state is dropped, so new subscribers get nothing for it and the
// Hub holds no memory for it once no viewer subscribes to it.
func (h *Hub) Publish(name string, msg []byte) {
	if msg != nil && len(msg) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	t := h.topic(name)
	if !t.staged {
		t.staged = true
		h.staged = append(h.staged, t)
	}
	t.next = msg
}

// Flush delivers what was published since the last Flush as one tick: a
// viewer whose several topics changed gets one batch. Nothing in Flush
// waits for a viewer. After Close, Flush does nothing.
func (h *Hub) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.staged) == 0 {
		return
	}
	for _, t := range h.staged {
		t.cur, t.next, t.staged = t.next, nil, false
		if t.cur == nil { // retracted
			for _, ref := range t.refs {
				ref.g.snap = nil
			}
			if len(t.refs) == 0 {
				delete(h.topics, t.name)
			}
			continue
		}
		t.n++
		for _, ref := range t.refs {
			g := ref.g
			g.snap = nil
			if g.frames[ref.i] == nil {
				g.changed++
			}
			g.frames[ref.i] = t.cur
			g.ns[ref.i] = t.n
			if !g.dirty {
				g.dirty = true
				h.dirty = append(h.dirty, g)
			}
		}
	}
	clear(h.staged)
	h.staged = h.staged[:0]

	now := time.Now()
	for _, g := range h.dirty {
		for _, v := range g.members {
			v.deliver(g, now)
		}
		clear(g.frames)
		g.changed, g.dirty, g.payload = 0, false, nil
	}
	clear(h.dirty)
	h.dirty = h.dirty[:0]
}

// tickPayload is the group's WebSocket message for this tick: the one
// changed frame as published, or a batch built once for all its viewers.
func (g *group) tickPayload(met *metrics) []byte {
	if g.payload == nil {
		if g.changed == 1 {
			for _, f := range g.frames {
				if f != nil {
					g.payload = f
					break
				}
			}
		} else {
			g.payload = appendBatch(nil, g.frames)
			met.batches.Inc()
		}
	}
	return g.payload
}

// snapshot is the group's first message for a new WebSocket viewer, nil
// if none of its topics has a current message. h.mu held.
func (g *group) snapshot(met *metrics) []byte {
	if g.snap != nil {
		return g.snap
	}
	n := 0
	for _, t := range g.topics {
		if t.cur != nil {
			n++
			g.snap = t.cur
		}
	}
	if n > 1 {
		// g.frames is the scratch of Flush, empty outside it.
		for i, t := range g.topics {
			g.frames[i] = t.cur
		}
		g.snap = appendBatch(nil, g.frames)
		clear(g.frames)
		met.batches.Inc()
	}
	return g.snap
}

// appendBatch appends {"type":"batch","frames":[…]} made of the non-nil
// frames, in order, without decoding them.
func appendBatch(dst []byte, frames [][]byte) []byte {
	size := len(`{"type":"batch","frames":[]}`)
	for _, f := range frames {
		size += len(f) + 1
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, `{"type":"batch","frames":[`...)
	first := true
	for _, f := range frames {
		if f == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f...)
	}
	return append(dst, "]}"...)
}

// topic returns the named topic, made if new. h.mu held.
func (h *Hub) topic(name string) *topic {
	t := h.topics[name]
	if t == nil {
		t = &topic{name: name, n: h.idBase}
		h.topics[name] = t
	}
	return t
}

// canonical sorts and dedupes topic names; the key names the set.
func canonical(names []string) ([]string, string) {
	s := slices.Clone(names)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) > 0 && s[0] == "" {
		s = s[1:]
	}
	return s, strings.Join(s, "\x00")
}

// join adds v to the group of its topic set. h.mu held.
func (h *Hub) join(v *viewer, names []string, key string) {
	g := h.groups[key]
	if g == nil {
		g = &group{
			key:    key,
			names:  names,
			topics: make([]*topic, len(names)),
			frames: make([][]byte, len(names)),
			ns:     make([]uint64, len(names)),
		}
		for i, name := range names {
			t := h.topic(name)
			g.topics[i] = t
			t.refs = append(t.refs, groupRef{g: g, i: i})
		}
		h.groups[key] = g
	}
	v.g = g
	v.slot = len(g.members)
	g.members = append(g.members, v)
}

// leave removes v from its group, and the group and its unused topics
// when v was the last. h.mu held.
func (h *Hub) leave(v *viewer) {
	g := v.g
	if g == nil || v.slot < 0 {
		return
	}
	last := g.members[len(g.members)-1]
	g.members[v.slot] = last
	last.slot = v.slot
	g.members[len(g.members)-1] = nil
	g.members = g.members[:len(g.members)-1]
	v.slot = -1
	if len(g.members) > 0 {
		return
	}
	delete(h.groups, g.key)
	for _, t := range g.topics {
		t.refs = slices.DeleteFunc(t.refs, func(r groupRef) bool { return r.g == g })
		if len(t.refs) == 0 && t.cur == nil && !t.staged {
			delete(h.topics, t.name)
		}
	}
}

// Close closes every WebSocket with 1001 (going away) and ends every SSE
// stream, then waits for their handlers to return, at most WriteWait.
// Publish, Flush, ServeWS and ServeSSE after Close return at once (the
// Serve methods answer 503). Close is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.done)
	h.mu.Unlock()

	// Sessions that connect from now on are closed in wsConnect.
	_ = h.m.CloseWithMsg(websocket.FormatCloseMessage(websocket.CloseGoingAway, "server going away"))

	finished := make(chan struct{})
	go func() {
		h.conns.Wait()
		close(finished)
	}()
	t := time.NewTimer(h.cfg.WriteWait)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		h.log.Warn("stream: viewers still open after close", "waited", h.cfg.WriteWait)
	}
}

// originPolicy decides which Origin headers may open a WebSocket.
type originPolicy struct {
	any     bool
	origins map[string]bool // "scheme://host[:port]", lower case
	hosts   map[string]bool // "host[:port]", lower case
}

func newOriginPolicy(allowed []string) originPolicy {
	p := originPolicy{origins: map[string]bool{}, hosts: map[string]bool{}}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimRight(strings.TrimSpace(a), "/"))
		switch {
		case a == "":
		case a == "*":
			p.any = true
		case strings.Contains(a, "://"):
			p.origins[a] = true
		default:
			p.hosts[a] = true
		}
	}
	return p
}

// allowed reports whether r's Origin may open a stream: none (not a
// browser), the request's own host, or one listed.
func (p originPolicy) allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.any {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return p.origins[strings.ToLower(origin)]
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return p.origins[strings.ToLower(u.Scheme+"://"+u.Host)] || p.hosts[strings.ToLower(u.Host)]
}
