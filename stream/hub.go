package stream

import (
	"hash/fnv"
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
	// HeartbeatEvery is how often a viewer that was sent nothing else in
	// the interval gets {"type":"heartbeat","time":RFC3339} (WebSocket) or
	// the event "heartbeat" (SSE), so that a client can tell a quiet
	// stream from a dead one. Default 2s; negative: none.
	HeartbeatEvery time.Duration
	// Now is the clock of the heartbeat's time. Default time.Now.
	Now func() time.Time

	// Logger gets refusals (info), stuck viewers (warn), bugs (error),
	// and viewers coming, going or ended by their lease (debug).
	// nil discards.
	Logger *slog.Logger
	// Registerer gets the dashd_stream_* metrics. nil registers nowhere.
	Registerer prometheus.Registerer
}

// Hub fans published messages out to the viewers of their topics. Make it
// with New.
//
// Locks: Hub.mu guards the topics, the index of groups and what Publish
// stages; each shard's mu guards the members of its groups and what they
// were last sent. Order: Hub.mu, then a shard's mu, then a viewer's mu.
// Flush holds Hub.mu only to commit the tick, then each shard's lock in
// turn while it hands the tick to that shard's viewers: no one lock is
// held across all viewers, and viewers joining or leaving wait only for
// their own shard.
type Hub struct {
	cfg     Config
	log     *slog.Logger
	met     *metrics
	up      *websocket.Upgrader
	origins originPolicy
	idBase  uint64
	done    chan struct{} // closed by Close; ends SSE handlers and the heartbeat
	conns   sync.WaitGroup
	beats   sync.WaitGroup // the heartbeat goroutine

	mu     sync.Mutex
	closed bool
	topics map[string]*topic
	groups map[string]*group // by canonical topic-set key
	staged []*topic          // published since the last Flush

	shards [numShards]shard
}

// numShards spreads the groups, so that a tick's delivery and the viewers
// coming and going contend per shard, not for one lock (centrifuge's hub
// shards its subscriptions the same way).
const numShards = 16

// shard is a share of the groups, by a hash of the group's key.
type shard struct {
	mu     sync.Mutex
	groups map[*group]struct{}
	dirty  []*group // this tick's groups; Flush only
	_      [40]byte // keep shards' locks off one cache line
}

// topic is one stream of messages. Guarded by Hub.mu.
type topic struct {
	name   string
	cur    []byte // retained: the snapshot for new subscribers (of new groups)
	n      uint64 // id of cur, for SSE
	next   []byte // staged by Publish, becomes cur at Flush
	staged bool
	refs   []groupRef // groups that read this topic
	dv     int        // delta viewers reading it: deltas are made only if > 0
}

type groupRef struct {
	g *group
	i int // the topic's index in g.topics
}

// group is the viewers of one topic set.
type group struct {
	// Set at creation, then read-only.
	key    string
	topics []*topic
	names  []string
	sh     *shard

	// The tick being flushed, by topic index: written by Flush under Hub.mu
	// and read by the same Flush under the shard's mu (one goroutine).
	frames  [][]byte
	ns      []uint64
	deltas  [][]byte // the delta of each frame, where one was made
	retract []int    // topics retracted this tick
	changed int
	dirty   bool

	// Guarded by sh.mu.
	members  []*viewer
	cur      [][]byte // the current message of each topic as this group has it
	curN     []uint64
	payload  *prepared // the tick's WebSocket message, built on first need
	dpayload *prepared // the same for delta viewers
	// The first WebSocket message of a new viewer: the current message of
	// each topic that has one (a batch if several), built on first need
	// and shared until one of the topics changes.
	snap *prepared
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
	if cfg.HeartbeatEvery == 0 {
		cfg.HeartbeatEvery = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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
	for i := range h.shards {
		h.shards[i].groups = make(map[*group]struct{})
	}
	h.up = &websocket.Upgrader{
		// Held for the viewer's life. Viewers send only control frames
		// (pong, close: at most 125 bytes of payload, which gorilla must be
		// able to peek at whole) and nothing else of use; a data message
		// is read through it in pieces, whatever its size.
		ReadBufferSize:  128,
		WriteBufferPool: &sync.Pool{},
		// permessage-deflate, when the client offers it (browsers do).
		// Every data message leaves as a PreparedMessage shared by the
		// viewers it goes to, so it is compressed once for all of them
		// (gorilla compresses without context takeover), not per viewer.
		EnableCompression: true,
		CheckOrigin:       h.origins.allowed,
		Error:             h.upgradeError,
	}
	if cfg.HeartbeatEvery > 0 {
		h.beats.Add(1)
		go h.heartbeatLoop()
	}
	return h
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
//
// The tick is committed under Hub.mu (the topics' current state, and what
// each group reading them gets), then handed to the viewers one shard at a
// time under that shard's lock only.
func (h *Hub) Flush() {
	h.mu.Lock()
	if h.closed || len(h.staged) == 0 {
		h.mu.Unlock()
		return
	}
	for _, t := range h.staged {
		prev := t.cur
		t.cur, t.next, t.staged = t.next, nil, false
		if t.cur == nil { // retracted
			for _, ref := range t.refs {
				ref.g.retract = append(ref.g.retract, ref.i)
				ref.g.markDirty()
			}
			if len(t.refs) == 0 {
				delete(h.topics, t.name)
			}
			continue
		}
		t.n++
		var delta []byte
		if t.dv > 0 {
			if delta = makeDelta(t.name, prev, t.cur); delta != nil {
				h.met.deltas.Inc()
			}
		}
		for _, ref := range t.refs {
			g := ref.g
			if g.frames[ref.i] == nil {
				g.changed++
			}
			g.frames[ref.i] = t.cur
			g.ns[ref.i] = t.n
			g.deltas[ref.i] = delta
			g.markDirty()
		}
	}
	clear(h.staged)
	h.staged = h.staged[:0]
	h.mu.Unlock()

	now := time.Now()
	for i := range h.shards {
		sh := &h.shards[i]
		if len(sh.dirty) == 0 {
			continue
		}
		sh.mu.Lock()
		for _, g := range sh.dirty {
			g.apply(h.met, now)
		}
		sh.mu.Unlock()
		clear(sh.dirty)
		sh.dirty = sh.dirty[:0]
	}
}

// markDirty puts g on its shard's list for this tick. Flush, Hub.mu held.
func (g *group) markDirty() {
	if !g.dirty {
		g.dirty = true
		g.sh.dirty = append(g.sh.dirty, g)
	}
}

// apply makes the tick g's current state and hands it to g's viewers.
// Flush, g.sh.mu held.
func (g *group) apply(met *metrics, now time.Time) {
	for _, i := range g.retract {
		g.cur[i], g.curN[i] = nil, 0
		g.snap = nil
	}
	if g.changed > 0 {
		for i, f := range g.frames {
			if f != nil {
				g.cur[i], g.curN[i] = f, g.ns[i]
			}
		}
		g.snap = nil
		for _, v := range g.members {
			v.deliver(g, now)
		}
	}
	clear(g.frames)
	clear(g.deltas)
	g.retract = g.retract[:0]
	g.changed, g.dirty, g.payload, g.dpayload = 0, false, nil, nil
}

// tickPayload is the group's WebSocket message for this tick: the one
// changed frame as published, or a batch built once for all its viewers.
// Flush, g.sh.mu held.
func (g *group) tickPayload(met *metrics) *prepared {
	if g.payload == nil {
		var msg []byte
		if g.changed == 1 {
			for _, f := range g.frames {
				if f != nil {
					msg = f
					break
				}
			}
		} else {
			msg = appendBatch(nil, g.frames)
			met.batches.Inc()
		}
		g.payload = prepare(msg)
	}
	return g.payload
}

// tickDeltaPayload is the group's WebSocket message for this tick for
// its delta viewers: as tickPayload, with each frame that has a delta
// replaced by it. Flush, g.sh.mu held.
func (g *group) tickDeltaPayload(met *metrics) *prepared {
	if g.dpayload != nil {
		return g.dpayload
	}
	items := make([][]byte, len(g.frames))
	some := false
	for i, f := range g.frames {
		items[i] = f
		if f != nil && g.deltas[i] != nil {
			items[i], some = g.deltas[i], true
		}
	}
	switch {
	case !some:
		g.dpayload = g.tickPayload(met)
	case g.changed == 1:
		for _, f := range items {
			if f != nil {
				g.dpayload = prepare(f)
			}
		}
	default:
		g.dpayload = prepare(appendBatch(nil, items))
		met.batches.Inc()
	}
	return g.dpayload
}

// snapshot is the group's first message for a new WebSocket viewer, nil
// if none of its topics has a current message. g.sh.mu held.
func (g *group) snapshot(met *metrics) *prepared {
	if g.snap != nil {
		return g.snap
	}
	n := 0
	var msg []byte
	for _, f := range g.cur {
		if f != nil {
			n++
			msg = f
		}
	}
	switch {
	case n == 0:
		return nil
	case n > 1:
		msg = appendBatch(nil, g.cur)
		met.batches.Inc()
	}
	g.snap = prepare(msg)
	return g.snap
}

// prepared is a text message ready for many connections: framed once,
// and compressed once for all that negotiated compression.
type prepared struct {
	pm       *websocket.PreparedMessage
	compress bool // worth compressing
}

// minCompress is the smallest message worth compressing: below it,
// deflate's block header and Huffman table cost more than they save (a
// 50-byte heartbeat grows to 56).
const minCompress = 128

// prepare wraps a text message for writing to many connections.
func prepare(msg []byte) *prepared {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, msg)
	if err != nil {
		// Only a failed write to a bytes.Buffer could fail it.
		panic("stream: preparing a message: " + err.Error())
	}
	return &prepared{pm: pm, compress: len(msg) >= minCompress}
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

// shardOf is the shard of a group key.
func (h *Hub) shardOf(key string) *shard {
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	return &h.shards[f.Sum32()%numShards]
}

// join adds v to the group of its topic set, made if new, and returns the
// group with its shard locked: the caller reads the snapshot and unlocks.
// h.mu held.
func (h *Hub) join(v *viewer, names []string, key string) *group {
	g := h.groups[key]
	if g == nil {
		g = &group{
			key:    key,
			names:  names,
			sh:     h.shardOf(key),
			topics: make([]*topic, len(names)),
			frames: make([][]byte, len(names)),
			ns:     make([]uint64, len(names)),
			deltas: make([][]byte, len(names)),
			cur:    make([][]byte, len(names)),
			curN:   make([]uint64, len(names)),
		}
		for i, name := range names {
			t := h.topic(name)
			g.topics[i] = t
			g.cur[i], g.curN[i] = t.cur, t.n
			t.refs = append(t.refs, groupRef{g: g, i: i})
		}
		h.groups[key] = g
		g.sh.mu.Lock()
		g.sh.groups[g] = struct{}{}
	} else {
		g.sh.mu.Lock()
	}
	if v.delta {
		for _, t := range g.topics {
			t.dv++
		}
	}
	v.g = g
	v.slot = len(g.members)
	g.members = append(g.members, v)
	return g
}

// leave removes v from its group, and the group and its unused topics
// when v was the last.
func (h *Hub) leave(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := v.g
	if g == nil {
		return
	}
	g.sh.mu.Lock()
	if v.slot < 0 {
		g.sh.mu.Unlock()
		return
	}
	last := g.members[len(g.members)-1]
	g.members[v.slot] = last
	last.slot = v.slot
	g.members[len(g.members)-1] = nil
	g.members = g.members[:len(g.members)-1]
	v.slot = -1
	empty := len(g.members) == 0
	if empty {
		delete(g.sh.groups, g)
	}
	g.sh.mu.Unlock()
	if v.delta {
		for _, t := range g.topics {
			t.dv--
		}
	}
	if !empty {
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

// eachViewer calls f for every viewer, one shard at a time under its lock.
func (h *Hub) eachViewer(f func(v *viewer)) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for g := range sh.groups {
			for _, v := range g.members {
				f(v)
			}
		}
		sh.mu.Unlock()
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
	h.beats.Wait()

	// Sessions that connect from now on are closed in wsConnect.
	bye := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server going away")
	h.eachViewer(func(v *viewer) {
		if v.ws != nil {
			v.closeWith(bye)
		}
	})

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
