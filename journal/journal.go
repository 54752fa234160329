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
	// headroom is kept below the server's max_payload for headers.
	headroom = 4 << 10
	// ackTimeout bounds the wait for JetStream to acknowledge a message.
	ackTimeout = 10 * time.Second
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
	// Replicas of the stream and the bucket on an external cluster
	// (default 1).
	Replicas int
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
	storage jetstream.StorageType
	limit   int // the most bytes of one message

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
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		published:   prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_samples_stored_total", Help: "Samples acknowledged by the log."}),
		failed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_store_failures_total", Help: "Batches the log did not acknowledge (answered 429/503)."}),
		delivered:   prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_samples_delivered_total", Help: "Samples read from the log and handed to the board (replay and live)."}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_undecodable_messages_total", Help: "Messages of the log that could not be decoded and were skipped."}),
		duplicates:  prometheus.NewCounter(prometheus.CounterOpts{Name: "dashd_journal_duplicate_requests_total", Help: "Requests whose Idempotency-Key the log had already stored (a client's retry): acknowledged, not stored again."}),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.failed, m.delivered, m.undecodable, m.duplicates)
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
	if j.js, err = jetstream.New(j.nc, jetstream.WithPublishAsyncTimeout(ackTimeout), jetstream.WithPublishAsyncMaxPending(4096)); err != nil {
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
// store cannot be reached or refuses), or ctx's error. When the ack is
// lost after the store took the message (a timeout, a dropped connection),
// the samples are stored although Accept failed; a client that retries
// then stores them twice, unless ctx carries its Idempotency-Key
// (ingest.WithIdempotencyKey): a batch of one message is then stored once
// per key within DupWindow, and a retry is acknowledged without storing it
// again. (An atomic batch, over max_payload, is not deduplicated.)
func (j *Journal) Accept(ctx context.Context, batch []ingest.Sample) error {
	if len(batch) == 0 {
		return nil
	}
	msgs := encodeBatch(batch, j.limit)
	var (
		err       error
		duplicate bool
	)
	if len(msgs) == 1 {
		duplicate, err = j.publish(ctx, msgs[0], ingest.IdempotencyKey(ctx))
	} else {
		err = j.publishAtomic(ctx, msgs)
	}
	switch {
	case err != nil:
		j.m.failed.Inc()
		return err
	case duplicate:
		j.m.duplicates.Inc()
	default:
		j.m.published.Add(float64(len(batch)))
	}
	return nil
}

// publish stores m. With a non-empty key, JetStream keeps only the first
// message of that key within the stream's duplicate window (DupWindow): a
// retry is acknowledged, reported as a duplicate, and not stored again.
func (j *Journal) publish(ctx context.Context, m message, key string) (duplicate bool, err error) {
	msg := &nats.Msg{Subject: m.subject, Data: m.data}
	if key != "" {
		msg.Header = nats.Header{jetstream.MsgIDHeader: []string{key}}
	}
	f, err := j.js.PublishMsgAsync(msg, jetstream.WithExpectStream(StreamName))
	if err != nil {
		return false, j.storeError(ctx, err)
	}
	select {
	case ack := <-f.Ok():
		return ack.Duplicate, nil
	case err := <-f.Err():
		return false, j.storeError(ctx, err)
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// publishAtomic stores msgs as one JetStream atomic batch: the server
// keeps them aside until the last one commits them all.
func (j *Journal) publishAtomic(ctx context.Context, msgs []message) error {
	id := nuid.Next()
	for i, m := range msgs {
		msg := nats.NewMsg(m.subject)
		msg.Data = m.data
		msg.Header.Set("Nats-Batch-Id", id)
		msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := j.nc.PublishMsg(msg); err != nil {
				return j.storeError(ctx, err)
			}
			continue
		}
		msg.Header.Set("Nats-Batch-Commit", "1")
		rctx, cancel := context.WithTimeout(ctx, ackTimeout)
		resp, err := j.nc.RequestMsgWithContext(rctx, msg)
		cancel()
		if err != nil {
			return j.storeError(ctx, err)
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
			return j.storeError(ctx, fmt.Errorf("unreadable ack %q: %w", resp.Data, err))
		}
		if ack.Error != nil {
			return j.storeError(ctx, fmt.Errorf("%s (code %d, err_code %d)", ack.Error.Description, ack.Error.Code, ack.Error.ErrCode))
		}
		if ack.Stream != StreamName {
			return j.storeError(ctx, fmt.Errorf("acknowledged by stream %q, expected %s", ack.Stream, StreamName))
		}
	}
	return nil
}

// storeError turns a failure to store into what a handler answers.
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
