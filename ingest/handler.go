package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/exp/api/remote"
)

// HandlerConfig configures the ingest handlers. The zero value is usable:
// default limits, no logging, the wall clock. Who may push is not the
// handlers' business: dashd's access policy (package access) decides
// before a request reaches them.
type HandlerConfig struct {
	// Limits to enforce; zero fields take their defaults.
	Limits Limits
	// Logger gets one line per refused request (never one per sample);
	// nil discards.
	Logger *slog.Logger
	// Clock gives the arrival time of a request; nil means time.Now.
	Clock func() time.Time
	// Observe, if set, is called once per request after the answer is
	// written, e.g. to count requests and samples in metrics. It must be
	// safe for concurrent use and quick.
	Observe func(Outcome)
	// Readers, if set, says which metrics are read by a chart: an
	// accepted request names up to MaxUnread metrics that none reads (a
	// misspelt name shows at once). nil names none.
	Readers Readers
}

// Readers says whether some chart reads a metric. It must be safe for
// concurrent use and quick: it is asked once per distinct metric of each
// accepted request. (charts.Board implements it.)
type Readers interface {
	Reads(metric string) bool
}

// MaxUnread is the most unread metrics one answer names.
const MaxUnread = 10

// UnreadHeader is the header in which every accepted ingest answer names
// the metrics of the request that no chart reads, comma-separated, each
// percent-encoded as a URL path segment (url.PathUnescape reads it back).
// It is the only place the line-protocol and remote-write routes can say
// it: they answer 204, as InfluxDB and Prometheus clients expect. JSON
// answers say it in their "unread" field too.
const UnreadHeader = "Dashd-Unread-Metrics"

// Outcome describes one handled request, for HandlerConfig.Observe.
type Outcome struct {
	Format   string // "json", "line protocol", "prometheus", "remote write" or "otlp"
	Status   int    // the HTTP status answered
	Samples  int    // samples accepted (0 unless Status is 2xx)
	Bytes    int    // body bytes after decompression (0 if not read)
	Duration time.Duration
	Reason   string // why it was refused; empty on success
}

// JSONHandler serves POST /api/v1/ingest (see DecodeJSON). It answers
// 200 {"accepted":N} on success. Content-Type must be empty,
// application/json, application/x-ndjson or text/plain (else 415).
// Refusals are {"error":"…","details":[{"line","column","index","message"}]}.
func JSONHandler(sink Sink, cfg HandlerConfig) http.Handler {
	return newHandler(sink, cfg, formatJSON)
}

// LineProtocolHandler serves InfluxDB writes, both POST /write (1.x) and
// POST /api/v2/write (2.x) (see DecodeLineProtocol). It answers 204 on
// success, like InfluxDB. The query parameter precision is honoured; db,
// rp, org and bucket are accepted and ignored (dashd has one namespace).
// Refusals use
// InfluxDB 2's error body {"code":"invalid","message":"…"} (plus "error"
// for 1.x clients, "line" and "details"), so that Telegraf and the client
// libraries show the message; Telegraf drops a batch refused with 400,
// splits one refused with 413 and retries 429/503 after Retry-After.
func LineProtocolHandler(sink Sink, cfg HandlerConfig) http.Handler {
	return newHandler(sink, cfg, formatLine)
}

// PrometheusHandler serves POST /api/v1/import/prometheus (see
// DecodePrometheus). It answers 200 {"accepted":N}; refusals are as for
// JSONHandler. Protocol-buffer and OpenMetrics bodies are refused with 415.
func PrometheusHandler(sink Sink, cfg HandlerConfig) http.Handler {
	return newHandler(sink, cfg, formatProm)
}

// RemoteWriteHandler serves POST /api/v1/write, Prometheus remote write
// 1.0 and 2.0 (see DecodeRemoteWrite). The body must be snappy-compressed
// (Content-Encoding snappy, or none given); Content-Type
// application/x-protobuf picks the message by its proto parameter (none, or
// prometheus.WriteRequest: 1.0; io.prometheus.write.v2.Request: 2.0), and an
// X-Prometheus-Remote-Write-Version, if sent, must be 0.x, 1.x or 2.x (else
// 415). It answers 204 on success; to a 2.0 request with the
// X-Prometheus-Remote-Write-Samples-Written (accepted samples plus the NaNs
// taken as "no value"), -Histograms-Written and -Exemplars-Written (both 0)
// headers. Refusals are as for JSONHandler; a remote-write sender drops a
// batch refused with 4xx and retries 5xx and 429 after Retry-After.
func RemoteWriteHandler(sink Sink, cfg HandlerConfig) http.Handler {
	return newHandler(sink, cfg, formatRemoteWrite)
}

// OTLPHandler serves POST /v1/metrics, OTLP/HTTP metrics (see DecodeOTLP
// and Cumulative): Content-Type application/x-protobuf or application/json
// (else 415), gzip or not. It answers 200 with an
// ExportMetricsServiceResponse in the request's encoding, whose
// partial_success counts the data points left out and says why; refusals
// carry a google.rpc.Status in the request's encoding (dashd's JSON error
// body when the encoding is unknown). It keeps no state across requests:
// running totals go to the sink as they came, marked Running, and the
// readers of the log turn them into increases (Cumulative).
func OTLPHandler(sink Sink, cfg HandlerConfig) http.Handler {
	return newHandler(sink, cfg, formatOTLP)
}

type format int

const (
	formatJSON format = iota
	formatLine
	formatProm
	formatRemoteWrite
	formatOTLP
)

func (f format) String() string {
	return [...]string{"json", "line protocol", "prometheus", "remote write", "otlp"}[f]
}

// handler is shared by the three formats; it is safe for concurrent use.
type handler struct {
	sink    Sink
	readers Readers
	lim     Limits
	log     *slog.Logger
	clock   func() time.Time
	observe func(Outcome)
	format  format
	bufs    sync.Pool // *bytes.Buffer
	gzips   sync.Pool // *gzip.Reader
}

// maxPooledBuffer is the largest body buffer kept for reuse; a rare huge
// request should not pin its memory forever.
const maxPooledBuffer = 4 << 20

func newHandler(sink Sink, cfg HandlerConfig, f format) *handler {
	if sink == nil {
		panic("ingest: nil Sink")
	}
	h := &handler{sink: sink, readers: cfg.Readers, lim: cfg.Limits.WithDefaults(), log: cfg.Logger, clock: cfg.Clock, observe: cfg.Observe, format: f}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.clock == nil {
		h.clock = time.Now
	}
	return h
}

// refusal is an answer other than success.
type refusal struct {
	status     int
	msg        string
	problems   []Problem
	retryAfter time.Duration
	otlp       OTLPEncoding // the request's, for OTLP's error body; 0 unknown
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	now := h.clock()
	out := Outcome{Format: h.format.String()}
	var ref *refusal
	var otlpEnc OTLPEncoding
	defer func() {
		out.Duration = time.Since(start)
		if ref != nil {
			ref.otlp = otlpEnc
			out.Status, out.Reason = ref.status, ref.msg
			h.refuse(w, r, ref)
		}
		if h.observe != nil {
			h.observe(out)
		}
	}()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		ref = &refusal{status: http.StatusMethodNotAllowed, msg: "method " + r.Method + " not allowed; use POST"}
		return
	}
	ctx := r.Context()
	if key, ok := r.Header["Idempotency-Key"]; ok {
		if ref = checkIdempotencyKey(key); ref != nil {
			return
		}
		ctx = WithIdempotencyKey(ctx, key[0])
	}
	precision := time.Nanosecond
	var rwMsg RemoteWriteMessage
	switch h.format {
	case formatRemoteWrite:
		if rwMsg, ref = checkRemoteWriteType(r.Header); ref != nil {
			return
		}
	case formatJSON:
		if ref = checkJSONType(r.Header.Get("Content-Type")); ref != nil {
			return
		}
	case formatProm:
		if ref = checkPromType(r.Header.Get("Content-Type")); ref != nil {
			return
		}
	case formatOTLP:
		if otlpEnc, ref = checkOTLPType(r.Header.Get("Content-Type")); ref != nil {
			return
		}
	case formatLine:
		var err error
		if precision, err = ParsePrecision(r.URL.Query().Get("precision")); err != nil {
			ref = &refusal{status: http.StatusBadRequest, msg: err.Error()}
			return
		}
	}

	buf := h.getBuf()
	defer h.putBuf(buf)
	if ref = h.readBody(w, r, buf); ref != nil {
		if r.Context().Err() != nil {
			// The read failed because the request was abandoned (net/http
			// cancels its context when the connection fails).
			ref = abandoned(r.Context())
		}
		return
	}
	body := buf.Bytes()
	out.Bytes = len(body)
	if ref = abandoned(r.Context()); ref != nil {
		return // gone after sending the body: decode nothing
	}

	opt := DecodeOptions{Limits: h.lim, Now: now, Done: r.Context().Done()}
	var samples []Sample
	var noValue int // Prometheus NaNs, left out and reported
	var otlp *OTLPBatch
	var err error
	switch h.format {
	case formatOTLP:
		if otlp, err = DecodeOTLP(body, otlpEnc, opt); err == nil {
			// Running totals are stored as they came: the log's readers
			// turn them into increases (Cumulative), so that every node
			// and every replay counts alike.
			samples = RunningSamples(otlp.Samples, otlp.Cumulative)
		}
	case formatJSON:
		samples, err = DecodeJSON(body, opt)
	case formatLine:
		samples, err = DecodeLineProtocol(body, precision, opt)
	case formatProm:
		samples, noValue, err = DecodePrometheus(body, opt)
	case formatRemoteWrite:
		samples, noValue, err = DecodeRemoteWrite(body, rwMsg, opt)
	}
	if errors.Is(err, ErrStopped) {
		ref = abandoned(r.Context())
		return
	}
	if err != nil {
		ref = decodeRefusal(err)
		return
	}
	// A sample stamped ahead of arrival (a client clock a little fast; more
	// than MaxFuture is refused) counts as arrived now. Done here, before
	// the samples are stored, so the live charts, a replay and every node
	// place it alike.
	for i := range samples {
		if samples[i].Time.After(now) {
			samples[i].Time = now
		}
	}
	if ref = abandoned(r.Context()); ref != nil {
		// Nobody would hear the answer, so nothing is stored: a client
		// that gave up will send again, and a batch stored now would
		// then count twice.
		return
	}
	n := len(samples)
	if n > 0 {
		// The sink owns samples from here on; they share no memory with buf.
		if err := h.sink.Accept(ctx, samples); err != nil {
			ref = sinkRefusal(err)
			return
		}
	}
	out.Status, out.Samples = http.StatusOK, n
	unread := h.unread(samples)
	if len(unread) > 0 {
		escaped := make([]string, len(unread))
		for i, m := range unread {
			escaped[i] = url.PathEscape(m)
		}
		w.Header().Set(UnreadHeader, strings.Join(escaped, ","))
	}
	switch h.format {
	case formatOTLP:
		writeOTLPResponse(w, otlpEnc, otlp)
		return
	case formatLine:
		out.Status = http.StatusNoContent
		w.WriteHeader(http.StatusNoContent)
		return
	case formatRemoteWrite:
		if rwMsg == RemoteWriteV2 {
			// A NaN is taken (it means "no value"), not lost: a sender
			// that saw fewer written than sent would count them dropped.
			hd := w.Header()
			hd.Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(n+noValue))
			hd.Set("X-Prometheus-Remote-Write-Histograms-Written", "0")
			hd.Set("X-Prometheus-Remote-Write-Exemplars-Written", "0")
		}
		out.Status = http.StatusNoContent
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	b := make([]byte, 0, 48)
	b = strconv.AppendInt(append(b, `{"accepted":`...), int64(n), 10)
	if noValue > 0 {
		b = strconv.AppendInt(append(b, `,"no_value":`...), int64(noValue), 10)
	}
	if len(unread) > 0 {
		names, _ := json.Marshal(unread) // strings: cannot fail
		b = append(append(b, `,"unread":`...), names...)
	}
	w.Write(append(b, "}\n"...))
}

// unread returns the first MaxUnread distinct metrics of samples that no
// chart reads, in the order they come. Each distinct metric is asked of
// the Readers once; a run of samples of one metric costs one comparison
// each.
func (h *handler) unread(samples []Sample) []string {
	if h.readers == nil || len(samples) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	last := ""
	for i := range samples {
		m := samples[i].Metric
		if (i > 0 && m == last) || seen[m] {
			continue
		}
		last = m
		seen[m] = true
		if !h.readers.Reads(m) {
			if out = append(out, m); len(out) == MaxUnread {
				break
			}
		}
	}
	return out
}

// StatusClientClosedRequest is the status an Outcome carries for a
// request whose client went away before it was answered (nginx's 499). No
// answer reaches the client; nothing of the request is stored.
const StatusClientClosedRequest = 499

// abandoned returns the refusal for a request whose context has ended, or
// nil while it has not: 499 when it was cancelled (net/http cancels it when
// the client goes away), 503 with Retry-After when a deadline set by the
// server ran out (the client may still be there to read it).
func abandoned(ctx context.Context) *refusal {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return &refusal{status: http.StatusServiceUnavailable, retryAfter: time.Second,
			msg: "the request took longer than the server allows (" + context.Cause(ctx).Error() + "); nothing was stored"}
	default:
		return &refusal{status: StatusClientClosedRequest,
			msg: "the client went away before the request was answered (" + context.Cause(ctx).Error() + "); nothing was stored"}
	}
}

// checkIdempotencyKey accepts one Idempotency-Key of 1 to
// MaxIdempotencyKey visible ASCII characters (a UUID, say).
func checkIdempotencyKey(values []string) *refusal {
	bad := func(why string) *refusal {
		return &refusal{status: http.StatusBadRequest, msg: "the Idempotency-Key header " + why + " (expected one key of 1 to " + strconv.Itoa(MaxIdempotencyKey) + " visible ASCII characters, such as a UUID)"}
	}
	if len(values) != 1 {
		return bad("is given " + strconv.Itoa(len(values)) + " times")
	}
	k := values[0]
	if k == "" || len(k) > MaxIdempotencyKey {
		return bad("has " + strconv.Itoa(len(k)) + " characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return bad("has a character that is not visible ASCII at position " + strconv.Itoa(i+1))
		}
	}
	return nil
}

func decodeRefusal(err error) *refusal {
	var de *DecodeError
	if !errors.As(err, &de) {
		return &refusal{status: http.StatusBadRequest, msg: err.Error()}
	}
	status := http.StatusBadRequest
	if de.TooLarge {
		status = http.StatusRequestEntityTooLarge
	}
	// A message may quote what it refuses (a key, a token, a time), which
	// can be as long as the body: the answer and the log keep its start.
	for i := range de.Problems {
		de.Problems[i].Message = clipMessage(de.Problems[i].Message)
	}
	msg := de.Error()
	if de.Truncated {
		msg += " (only the first 20 problems are listed)"
	}
	return &refusal{status: status, msg: msg, problems: de.Problems}
}

// maxMessage bounds the bytes of one problem's message in an answer.
const maxMessage = 512

// clipMessage cuts m to at most maxMessage bytes (at a character boundary)
// and says how much was left out.
func clipMessage(m string) string {
	if len(m) <= maxMessage {
		return m
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + "… (" + strconv.Itoa(len(m)-cut) + " bytes more)"
}

// sinkRefusal maps an error from Sink.Accept: an *OverloadError becomes 429
// (503 when Unavailable is set) with Retry-After; a cancelled or timed-out
// context 503; anything else 500.
func sinkRefusal(err error) *refusal {
	var oe *OverloadError
	switch {
	case errors.As(err, &oe):
		status := http.StatusTooManyRequests
		if oe.Unavailable {
			status = http.StatusServiceUnavailable
		}
		ra := oe.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		prefix := "samples not accepted, nothing was stored: "
		if oe.MaybeStored {
			prefix = "samples not confirmed, they may or may not be stored: "
		}
		return &refusal{status: status, msg: prefix + oe.Error(), retryAfter: ra}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &refusal{status: http.StatusServiceUnavailable, msg: "samples not accepted, nothing was stored: " + err.Error(), retryAfter: time.Second}
	default:
		return &refusal{status: http.StatusInternalServerError, msg: "samples not accepted, nothing was stored: " + err.Error()}
	}
}

// checkJSONType accepts the JSON types, text/plain, and curl's default for
// -d (application/x-www-form-urlencoded): `curl -d '{…}'` is how most people
// first push, and a form body could never be mistaken for JSON anyway.
func checkJSONType(ct string) *refusal {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case "application/json", "application/x-ndjson", "application/jsonl", "text/plain", "application/x-www-form-urlencoded":
			return nil
		}
	}
	return &refusal{status: http.StatusUnsupportedMediaType,
		msg: fmt.Sprintf("unsupported Content-Type %q; send application/json or application/x-ndjson (curl: -H 'Content-Type: application/json')", ct)}
}

func checkPromType(ct string) *refusal {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt != "application/vnd.google.protobuf" && mt != "application/openmetrics-text" && params["proto"] == "" {
		return nil
	}
	return &refusal{status: http.StatusUnsupportedMediaType,
		msg: fmt.Sprintf("unsupported Content-Type %q; send the Prometheus text format (text/plain; version=0.0.4)", ct)}
}

// checkRemoteWriteType reads the message a remote-write request carries
// from its Content-Type and checks its protocol version header.
func checkRemoteWriteType(hd http.Header) (RemoteWriteMessage, *refusal) {
	const want = "send application/x-protobuf (remote write 1.0) or application/x-protobuf;proto=io.prometheus.write.v2.Request (2.0)"
	msg := RemoteWriteV1
	if ct := hd.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-protobuf" {
			return 0, &refusal{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("unsupported Content-Type %q; %s", ct, want)}
		}
		switch p := params["proto"]; p {
		case "", string(remote.WriteV1MessageType):
		case string(remote.WriteV2MessageType):
			msg = RemoteWriteV2
		default:
			return 0, &refusal{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("unsupported remote-write message %q; %s", p, want)}
		}
	}
	if v := hd.Get("X-Prometheus-Remote-Write-Version"); v != "" {
		major, _, _ := strings.Cut(strings.TrimSpace(v), ".")
		if major != "0" && major != "1" && major != "2" {
			return 0, &refusal{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("unsupported X-Prometheus-Remote-Write-Version %q; dashd speaks 0.1.0 (remote write 1.0) and 2.0.0", v)}
		}
	}
	return msg, nil
}

func (h *handler) getBuf() *bytes.Buffer {
	if b, ok := h.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (h *handler) putBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	h.bufs.Put(b)
}

// readBody reads the (possibly gzip-compressed) body into buf, enforcing
// MaxBodyBytes on both the bytes sent and the bytes decompressed.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) *refusal {
	max := h.lim.MaxBodyBytes
	tooLarge := &refusal{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("body larger than the limit of %d bytes (after decompression); split it into smaller requests", max)}
	if r.ContentLength > max {
		return tooLarge
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, max)
	var gz *gzip.Reader
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if h.format == formatRemoteWrite {
		// The body stays compressed: DecodeRemoteWrite checks snappy's
		// decoded length against the limit before it decompresses.
		if enc != "" && enc != "snappy" {
			return &refusal{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("unsupported Content-Encoding %q; remote write is snappy-compressed (Content-Encoding: snappy)", enc)}
		}
		enc = ""
	}
	switch enc {
	case "", "identity":
		if r.ContentLength > 0 {
			buf.Grow(int(r.ContentLength))
		}
	case "gzip", "x-gzip":
		var err error
		if pooled, ok := h.gzips.Get().(*gzip.Reader); ok {
			gz, err = pooled, pooled.Reset(src)
		} else {
			gz, err = gzip.NewReader(src)
		}
		if err != nil {
			return h.readError(err, tooLarge)
		}
		defer func() {
			gz.Close()
			h.gzips.Put(gz)
		}()
		src = gz
	default:
		return &refusal{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("unsupported Content-Encoding %q; send gzip or none", enc)}
	}
	n, err := buf.ReadFrom(io.LimitReader(src, max+1))
	if err != nil {
		return h.readError(err, tooLarge)
	}
	if n > max {
		return tooLarge
	}
	return nil
}

func (h *handler) readError(err error, tooLarge *refusal) *refusal {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.Is(err, io.ErrUnexpectedEOF):
		return &refusal{status: http.StatusBadRequest, msg: "the gzip body is corrupt or truncated: " + err.Error()}
	default:
		return &refusal{status: http.StatusBadRequest, msg: "reading the body: " + err.Error()}
	}
}

// errorBody is the refusal shape of CONTRACT.md; Code, Message and Line are
// InfluxDB 2's, filled for the line-protocol endpoints only.
type errorBody struct {
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message,omitempty"`
	Line    int       `json:"line,omitempty"`
	Error   string    `json:"error"`
	Details []Problem `json:"details,omitempty"`
}

func (h *handler) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	level := slog.LevelInfo
	if ref.status >= 500 {
		level = slog.LevelWarn
	}
	h.log.LogAttrs(r.Context(), level, "ingest request refused",
		slog.String("format", h.format.String()),
		slog.Int("status", ref.status),
		slog.String("reason", ref.msg),
		slog.Int("problems", len(ref.problems)),
		slog.String("remote", r.RemoteAddr),
		slog.String("path", r.URL.Path))

	hd := w.Header()
	if ref.retryAfter > 0 {
		hd.Set("Retry-After", strconv.Itoa(int(math.Ceil(ref.retryAfter.Seconds()))))
	}
	if h.format == formatOTLP && ref.otlp != 0 {
		writeOTLPStatus(w, ref)
		return
	}
	body := errorBody{Error: ref.msg, Details: ref.problems}
	if h.format == formatLine {
		body.Code, body.Message = InfluxCode(ref.status), ref.msg
		if len(ref.problems) > 0 {
			body.Line = ref.problems[0].Line
		}
	}
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ref.status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // served as JSON with nosniff; keep <token> readable
	enc.Encode(body)
}

// InfluxCode is InfluxDB 2's error code for an HTTP status, as the
// "code" of an error body that InfluxDB clients and Telegraf read.
func InfluxCode(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return "invalid"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden, http.StatusMisdirectedRequest:
		return "forbidden"
	case http.StatusNotFound:
		return "not found"
	case http.StatusMethodNotAllowed:
		return "method not allowed"
	case http.StatusRequestEntityTooLarge:
		return "request too large"
	case http.StatusTooManyRequests:
		return "too many requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal error"
}
