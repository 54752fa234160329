package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/ingest"
)

// Names in NATS.
const (
	// StreamName is the JetStream stream of samples.
	StreamName = "DASHD_SAMPLES"
	// BucketName is the key-value bucket of dashboard definitions.
	BucketName = "dashd_dashboards"
	// DataBucketName is the key-value bucket of push charts' data.
	DataBucketName = "dashd_pushdata"
)

// Defaults of Config.
const (
	DefaultMaxAge   = 24 * time.Hour
	DefaultMaxBytes = 1 << 30 // 1 GiB
	// DupWindow is how long the log remembers a request's Idempotency-Key.
	DupWindow = 2 * time.Minute
	// DefaultAckTimeout is Config.AckTimeout's default.
	DefaultAckTimeout = 2 * time.Second
	// headroom is kept below the server's max_payload for headers.
	headroom = 4 << 10
)

// Config says where the log lives. The zero value runs an embedded server
// that keeps everything in memory.
type Config struct {
	// URL of an external NATS (several joined by commas). Empty starts an
	// embedded server inside the process, with no port.
	URL string
	// Dir is the data directory; the embedded server keeps its store in
	// Dir/nats. Empty keeps the stream and the bucket in memory.
	Dir string
	// MaxAge is how long a sample stays in the log (default 24h). It should
	// be at least the longest window of any chart, or a restart shows less
	// than was shown before.
	MaxAge time.Duration
	// MaxBytes caps the size of the log (default 1 GiB); past it the oldest
	// messages are dropped.
	MaxBytes int64
	// Replicas of the stream and the buckets on an external cluster
	// (default 1).
	Replicas int
	// AckTimeout bounds how long Accept waits for the log to confirm a
	// request when the caller's ctx allows longer (default 2 s, at most
	// DupWindow/4). Past it Accept answers an *ingest.OverloadError, which
	// ingest turns into 503 with Retry-After: a client is told within
	// about this long that the log is away, instead of hanging.
	AckTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer takes the journal's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Journal is an open log of samples and bucket of dashboards.
type Journal struct {
	cfg     Config
	log     *slog.Logger
	ns      *server.Server // the embedded server; nil with an external URL
	tmpDir  string         // the embedded server's scratch store in memory mode
	nc      *nats.Conn
	closed  chan struct{} // closed when nc is closed
	js      jetstream.JetStream
	stream  jetstream.Stream
	kv      jetstream.KeyValue
	data    jetstream.KeyValue // push charts' data
	revoked jetstream.KeyValue // revoked embed tokens (revoked.go)
	// checkpoints is the object store of the charts' checkpoints (checkpoint.go).
	checkpoints jetstream.ObjectStore
	keyTTL      bool // revoked keys get a TTL each (NATS 2.11+)
	storage     jetstream.StorageType
	limit       int // the most bytes of one message

	closeOnce sync.Once
	closeErr  error

	m metrics
}

type metrics struct {
	published   prometheus.Counter
	failed      prometheus.Counter
	delivered   prometheus.Counter
	undecodable prometheus.Counter
	duplicates  prometheus.Counter
	unconfirmed prometheus.Counter
	restarts    prometheus.Counter
	// badCheckpoints counts checkpoints found unusable (unreadable, or
	// refused by their decoder).
	badCheckpoints prometheus.Counter
	// checkpointWrites, checkpointBytes and checkpointSize are the
	// checkpoints stored, their bytes, and the size of the last one.
	checkpointWrites prometheus.Counter
	checkpointBytes  prometheus.Counter
	checkpointSize   prometheus.Gauge
	running          runningMetrics
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		published:   prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_samples_stored_total", Help: "Samples acknowledged by the log."}),
		failed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_store_failures_total", Help: "Batches the log did not acknowledge (answered 429/503)."}),
		delivered:   prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_samples_delivered_total", Help: "Samples read from the log and handed to the board (replay and live)."}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_undecodable_messages_total", Help: "Messages of the log that could not be decoded and were skipped."}),
		duplicates:  prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_duplicate_requests_total", Help: "Requests whose Idempotency-Key the log had already stored (a client's retry): acknowledged, not stored again."}),
		unconfirmed: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_store_unconfirmed_total", Help: "Batches sent to the log whose ack did not come in time (answered 503; they may be stored)."}),
		restarts:    prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_follow_restarts_total", Help: "Times a supervised follower of the log stopped on an error and started again where its sink was."}),
		badCheckpoints: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_checkpoints_unusable_total",
			Help: "Checkpoints that could not be read or decoded (an older one or the log was read instead)."}),
		checkpointWrites: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_checkpoint_writes_total", Help: "Checkpoints of the charts' state stored."}),
		checkpointBytes:  prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_checkpoint_bytes_total", Help: "Bytes of the checkpoints stored (before the store's compression)."}),
		checkpointSize:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_journal_checkpoint_size_bytes", Help: "Size of the last checkpoint stored."}),
	}
	m.running = newRunningMetrics(reg)
	if reg != nil {
		reg.MustRegister(m.published, m.failed, m.delivered, m.undecodable, m.duplicates, m.unconfirmed, m.restarts, m.badCheckpoints,
			m.checkpointWrites, m.checkpointBytes, m.checkpointSize)
	}
	return m
}

// Open starts the embedded server (or connects to Config.URL), and creates
// or updates the stream and the bucket. Close releases everything.
func Open(ctx context.Context, cfg Config) (j *Journal, err error) {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.AckTimeout > DupWindow/4 {
		// A retry of an unconfirmed publish (see publish) must fall well
		// inside the window in which JetStream recognises its id.
		return nil, fmt.Errorf("journal: AckTimeout %s is too long (at most %s)", cfg.AckTimeout, DupWindow/4)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The callbacks and the cleanup hold jn: returning nil, err sets the
	// result j to nil while NATS may still call them.
	jn := &Journal{cfg: cfg, log: cfg.Logger, closed: make(chan struct{}), storage: jetstream.FileStorage, m: newMetrics(cfg.Registerer)}
	j = jn
	if cfg.URL == "" && cfg.Dir == "" {
		j.storage = jetstream.MemoryStorage
	}
	defer func() {
		if err != nil {
			jn.Close()
		}
	}()

	opts := []nats.Option{
		nats.Name("dashd"),
		nats.ClosedHandler(func(*nats.Conn) { close(jn.closed) }),
		nats.MaxReconnects(-1),
		// Fail a publish at once while disconnected instead of buffering
		// it (8 MB by default) and sending it after the reconnect: a
		// request answered 503 meanwhile would be stored anyway, and a
		// client that retries it would store it twice.
		nats.ReconnectBufSize(-1),
		// Try a server that went away again soon (nats.go waits 2 s): a
		// publish whose ack was lost is settled by a resend within
		// Config.AckTimeout only once the connection is back.
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				jn.log.Warn("lost the connection to NATS; ingest answers 503 until it is back", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { jn.log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted()) }),
	}
	if cfg.URL == "" {
		if err := j.startServer(); err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(j.ns))
	}
	if j.nc, err = nats.Connect(cfg.URL, opts...); err != nil {
		close(j.closed)
		if cfg.URL != "" {
			return nil, fmt.Errorf("journal: connect to NATS at %s: %w (is nats.url right, and is the server up?)", cfg.URL, err)
		}
		return nil, fmt.Errorf("journal: connect to the embedded NATS: %w", err)
	}
	j.limit = int(j.nc.MaxPayload()) - headroom
	if j.limit < 64<<10 {
		return nil, fmt.Errorf("journal: the NATS max_payload of %d bytes is too small (dashd needs at least 68 KiB)", j.nc.MaxPayload())
	}
	if j.js, err = jetstream.New(j.nc, jetstream.WithPublishAsyncTimeout(cfg.AckTimeout), jetstream.WithPublishAsyncMaxPending(4096)); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// A log kept longer by Retain (a chart's window asked for it) stays so:
	// opening with the shorter default would drop those samples at once.
	maxAge := cfg.MaxAge
	if old, err := j.js.Stream(ctx, StreamName); err == nil {
		maxAge = max(maxAge, old.CachedInfo().Config.MaxAge)
	}
	err = whileStarting(ctx, func() (err error) {
		j.stream, err = j.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:               StreamName,
			Description:        "dashd: accepted samples, one message per request (see the journal package)",
			Subjects:           []string{subjectAll},
			Retention:          jetstream.LimitsPolicy,
			Discard:            jetstream.DiscardOld,
			MaxAge:             maxAge,
			MaxBytes:           cfg.MaxBytes,
			Duplicates:         min(DupWindow, maxAge),
			Storage:            j.storage,
			Replicas:           cfg.Replicas,
			AllowAtomicPublish: true,
			// Rewinds read ranges of the log by batched direct gets
			// (replaydirect.go), which need it: no consumer per rewind.
			AllowDirect: true,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("journal: the stream %s: %w", StreamName, err)
	}
	err = whileStarting(ctx, func() (err error) {
		j.kv, err = j.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      BucketName,
			Description: "dashd: dashboard definitions (key: the id with '.' written as '=', value: JSON)",
			History:     5,
			Storage:     j.storage,
			Replicas:    cfg.Replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("journal: the bucket %s: %w", BucketName, err)
	}
	err = whileStarting(ctx, func() (err error) {
		j.data, err = j.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      DataBucketName,
			Description: "dashd: push charts' data (key: the chart id with '.' written as '=', value: JSON {categories, series})",
			History:     1,
			Storage:     j.storage,
			Replicas:    cfg.Replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("journal: the bucket %s: %w", DataBucketName, err)
	}
	if err = whileStarting(ctx, func() error { return j.openRevoked(ctx) }); err != nil {
		return nil, fmt.Errorf("journal: the bucket %s: %w", RevokedBucketName, err)
	}
	if err = whileStarting(ctx, func() error { return j.openCheckpoints(ctx) }); err != nil {
		return nil, fmt.Errorf("journal: the object store %s: %w", CheckpointBucket, err)
	}
	return j, nil
}

// Retain makes the log keep samples for age, or Config.MaxAge if that is
// longer: a chart whose window reaches further back than the log would show
// less after a restart (or on a node that joins) than before. It changes
// the stream only when its max age differs, and may shorten it again when
// the long window is gone. Every node computes the same age from the same
// dashboards, so they agree.
func (j *Journal) Retain(ctx context.Context, age time.Duration) error {
	age = max(age, j.cfg.MaxAge)
	info, err := j.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("journal: read the stream: %w", err)
	}
	if info.Config.MaxAge == age {
		return nil
	}
	sc := info.Config
	sc.MaxAge = age
	if _, err := j.js.UpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("journal: keep the log for %s: %w", age, err)
	}
	j.log.Info("the log now keeps samples for the longest chart window", "max_age", age, "was", info.Config.MaxAge)
	return nil
}

// MaxAge is how long the log keeps a sample now.
func (j *Journal) MaxAge(ctx context.Context) (time.Duration, error) {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal: read the stream: %w", err)
	}
	return info.Config.MaxAge, nil
}

// whileStarting calls fn until it succeeds, fails for good, or ctx ends.
// A NATS cluster that is starting, or electing a leader, answers for a
// few seconds that JetStream is unavailable or does not answer at all;
// dashd nodes started with it wait for it instead of failing.
func whileStarting(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		var api *jetstream.APIError
		transient := errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
			errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &api) && api.Code == 503)
		if err == nil || !transient || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (j *Journal) startServer() error {
	dir := filepath.Join(j.cfg.Dir, "nats")
	if j.cfg.Dir == "" {
		// Streams and buckets are in memory; the server still wants a
		// directory it may write its metadata to.
		tmp, err := os.MkdirTemp("", "dashd-nats-")
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		j.tmpDir, dir = tmp, tmp
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "dashd",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
	})
	if err != nil {
		return fmt.Errorf("journal: the embedded NATS: %w", err)
	}
	ns.SetLoggerV2(natsLogger{j.log.With("component", "nats")}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return fmt.Errorf("journal: the embedded NATS did not start within 30s (store %s)", dir)
	}
	j.ns = ns
	return nil
}

// Close drains the connection (messages published are flushed) and stops
// the embedded server. Stop followers and watchers first. It is safe to
// call more than once.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		if j.nc != nil {
			if err := j.nc.Drain(); err != nil {
				j.nc.Close()
			}
			select {
			case <-j.closed:
			case <-time.After(10 * time.Second):
				j.nc.Close()
			}
		}
		if j.ns != nil {
			j.ns.Shutdown()
			j.ns.WaitForShutdown()
		}
		if j.tmpDir != "" {
			j.closeErr = os.RemoveAll(j.tmpDir)
		}
	})
	return j.closeErr
}

// Accept stores batch in the log and returns nil once JetStream has
// acknowledged it. It implements ingest.Sink.
//
// A batch is one message when it fits under the server's max_payload (the
// usual case; 100,000 small samples take about 2–3 MB). A larger one is
// published as a JetStream atomic batch, so it too is stored all or
// nothing. Every failure is an *ingest.OverloadError (Unavailable when the
// store cannot be reached or refuses), or ctx's error, and comes within
// Config.AckTimeout (or ctx's deadline, if sooner).
//
// What a failure means, precisely:
//
//   - NATS disconnected when Accept starts, or the publish refused by the
//     client or by JetStream (no responders, a stream limit, ...): nothing
//     was sent or nothing was stored, and Accept says so at once. Nothing is
//     buffered for later (nats.ReconnectBufSize(-1)), so a request refused
//     while NATS is away is never stored when it comes back.
//   - Sent, but no ack within the bound (the connection dropped after the
//     send, or the server is slow): the outcome is unknown, since the
//     server may have stored the message and lost only the ack. Every
//     message carries a Nats-Msg-Id (the request's Idempotency-Key, or an
//     id made for this call), so Accept first resends it with that id as
//     long as its bound allows and NATS is connected: JetStream stores it
//     at most once and either ack settles the question (answered as
//     stored). Only when that is impossible does Accept fail with an
//     OverloadError whose Reason says the samples may be stored
//     (counted in dashd_journal_store_unconfirmed_total). A client that
//     retries such a request with the same Idempotency-Key within
//     DupWindow stores it once; without a key, a retry may store it twice.
//
// With an Idempotency-Key in ctx (ingest.WithIdempotencyKey) a request is
// stored once per key within DupWindow: a retry is acknowledged without
// storing it again. That holds for atomic batches too (each message
// carries the key and its index; a retry of a batch already stored is
// refused by JetStream as a duplicate, which Accept answers as stored).
func (j *Journal) Accept(ctx context.Context, batch []ingest.Sample) error {
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err // nothing sent
	}
	msgs := encodeBatch(batch, j.limit)
	id := ingest.IdempotencyKey(ctx)
	if id == "" {
		// Only this call uses it: it makes Accept's own resend safe. The
		// space keeps it apart from every Idempotency-Key (visible ASCII
		// only), so no client can name it.
		id = "dashd " + nuid.Next()
	}
	bound := j.cfg.AckTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < bound {
		bound = max(time.Until(d), 0)
	}
	deadline := time.Now().Add(bound)
	var (
		err       error
		duplicate bool
	)
	if !j.Connected() {
		// Fail fast: nothing is sent, so nothing is stored.
		err = j.storeError(ctx, errNotConnected)
	} else if len(msgs) == 1 {
		duplicate, err = j.publish(ctx, msgs[0], id, deadline)
	} else {
		duplicate, err = j.publishAtomic(ctx, msgs, id, deadline)
	}
	switch {
	case err != nil:
		j.m.failed.Inc()
		var u *unconfirmedError
		if errors.As(err, &u) {
			j.m.unconfirmed.Inc()
			j.log.Warn("the log did not confirm a batch in time; it may be stored", "err", u.err, "samples", len(batch))
			return &ingest.OverloadError{RetryAfter: 2 * time.Second, Unavailable: true, MaybeStored: true, Reason: fmt.Sprintf(
				"the sample log did not confirm the write within %s (%v), so the samples may or may not be stored; "+
					"retry with the same Idempotency-Key to have them stored once", bound.Round(time.Millisecond), u.err)}
		}
		return err
	case duplicate:
		j.m.duplicates.Inc()
	default:
		j.m.published.Add(float64(len(batch)))
	}
	return nil
}

// errNotConnected is why Accept refuses at once while NATS is away.
var errNotConnected = errors.New("not connected to NATS (reconnecting)")

// unconfirmedError is a publish that was sent but whose outcome Accept
// could not learn before its deadline: it may be stored.
type unconfirmedError struct{ err error }

func (e *unconfirmedError) Error() string { return "unconfirmed: " + e.err.Error() }

// publish stores m with the message id id and waits for the ack until
// deadline. JetStream keeps only the first message of an id within the
// stream's duplicate window (DupWindow): a repeat is acknowledged,
// reported as a duplicate, and not stored again. That is what lets
// publish send m again when an ack is lost: the second ack tells, either
// way, that m is stored.
func (j *Journal) publish(ctx context.Context, m message, id string, deadline time.Time) (duplicate bool, err error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for sent := false; ; sent = true {
		msg := &nats.Msg{Subject: m.subject, Data: m.data, Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
		f, err := j.js.PublishMsgAsync(msg, jetstream.WithExpectStream(StreamName))
		if err != nil {
			if !sent {
				return false, j.storeError(ctx, err) // never sent
			}
			return false, &unconfirmedError{err}
		}
		// From here m may be stored: every failure is unconfirmed, unless
		// JetStream itself says it refused the first send.
		select {
		case ack := <-f.Ok():
			// A duplicate on a resend is most likely our own first
			// send: stored by this call, not a client's retry.
			return ack.Duplicate && !sent, nil
		case err := <-f.Err():
			var api *jetstream.APIError
			refused := errors.As(err, &api) || errors.Is(err, jetstream.ErrNoStreamResponse)
			switch {
			case refused && !sent:
				return false, j.storeError(ctx, err) // not stored
			case errors.Is(err, nats.ErrDisconnected) || errors.Is(err, jetstream.ErrAsyncPublishTimeout):
				// The ack was lost with the connection (or is late):
				// resend once connected, if there is time.
				if !j.awaitConnected(ctx, timer.C) {
					return false, &unconfirmedError{err}
				}
			default:
				return false, &unconfirmedError{err}
			}
		case <-timer.C:
			return false, &unconfirmedError{errors.New("no ack in time")}
		case <-ctx.Done():
			return false, &unconfirmedError{ctx.Err()}
		}
	}
}

// awaitConnected waits until NATS is connected, and reports whether it is
// before expired fires or ctx ends.
func (j *Journal) awaitConnected(ctx context.Context, expired <-chan time.Time) bool {
	for !j.Connected() {
		select {
		case <-expired:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
	select {
	case <-expired:
		return false
	default:
		return ctx.Err() == nil
	}
}

// errCodeAtomicDuplicate is JetStream's answer to an atomic batch holding
// a message id it has already stored (JSAtomicPublishContainsDuplicateMessageErr).
const errCodeAtomicDuplicate = 10201

// publishAtomic stores msgs as one JetStream atomic batch: the server
// keeps them aside until the last one commits them all, and drops a batch
// that is never committed. Message i carries the id "id i": the ids are
// recorded only when the batch commits, so a batch refused for holding a
// known id was stored whole before (a retry), and is reported a duplicate.
func (j *Journal) publishAtomic(ctx context.Context, msgs []message, id string, deadline time.Time) (duplicate bool, err error) {
	batch := nuid.Next()
	for i, m := range msgs {
		msg := nats.NewMsg(m.subject)
		msg.Data = m.data
		msg.Header.Set(jetstream.MsgIDHeader, id+" "+strconv.Itoa(i)) // no key has a space
		msg.Header.Set("Nats-Batch-Id", batch)
		msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			// Refused at once while disconnected (nothing buffered); a
			// batch left without its commit is dropped by the server.
			if err := j.nc.PublishMsg(msg); err != nil {
				return false, j.storeError(ctx, err)
			}
			continue
		}
		msg.Header.Set("Nats-Batch-Commit", "1")
		rctx, cancel := context.WithDeadline(ctx, deadline)
		resp, err := j.nc.RequestMsgWithContext(rctx, msg)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrReconnectBufExceeded),
			errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
			return false, j.storeError(ctx, err) // the commit never reached the stream
		default:
			// Sent, unanswered: the batch may be committed. (No resend
			// here: a whole batch again may not fit in what is left of
			// the deadline; a client's retry with its key is safe.)
			return false, &unconfirmedError{err}
		}
		var ack struct {
			Stream string `json:"stream"`
			Error  *struct {
				Code        int    `json:"code"`
				ErrCode     int    `json:"err_code"`
				Description string `json:"description"`
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return false, &unconfirmedError{fmt.Errorf("unreadable ack %q: %w", resp.Data, err)}
		}
		if ack.Error != nil {
			if ack.Error.ErrCode == errCodeAtomicDuplicate {
				return true, nil
			}
			return false, j.storeError(ctx, fmt.Errorf("%s (code %d, err_code %d)", ack.Error.Description, ack.Error.Code, ack.Error.ErrCode))
		}
		if ack.Stream != StreamName {
			return false, j.storeError(ctx, fmt.Errorf("acknowledged by stream %q, expected %s", ack.Stream, StreamName))
		}
	}
	return false, nil
}

// storeError turns a failure to store, known to have stored nothing, into
// what a handler answers.
func (j *Journal) storeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
		return &ingest.OverloadError{RetryAfter: time.Second, Reason: "the sample log is busy"}
	}
	j.log.Warn("a batch was not stored", "err", err)
	return &ingest.OverloadError{RetryAfter: 2 * time.Second, Unavailable: true, Reason: "the sample store is unavailable: " + err.Error()}
}

// natsLogger sends the embedded server's log to slog: its notices at
// debug level, since they are many and mostly for NATS operators.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Tracef(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
