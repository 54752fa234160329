// Package ingest turns what clients push into samples.
//
// It owns the Sample type (the one domain noun every other package reads),
// the decoders for each wire format (JSON, InfluxDB line protocol,
// Prometheus text, remote write), the limits, and the HTTP handlers that
// hand decoded batches to a Sink. Tokens are checked before a request
// reaches the handlers, by dashd's access policy (package access).
//
// Decoding is pure: a decoder reads bytes and returns samples or an error
// that says what is wrong and where; it touches no shared state, so it is
// safe to call from any number of goroutines at once. A decoder given a
// DecodeOptions.Done channel stops soon after it is closed and returns
// ErrStopped. A request is applied all or nothing: either every sample of
// it reaches the Sink, or none does.
//
// # Formats
//
//   - DecodeJSON (POST /api/v1/ingest, JSONHandler): {"samples":[…]}, a bare
//     array, or NDJSON; a sample is {"metric","tags","value","time","field"}.
//     A hand-written scanner: encoding/json into maps, without validation,
//     measured almost four times slower (BenchmarkDecodeJSONStdlibBaseline).
//     FuzzJSONMatchesEncodingJSON holds it to encoding/json: both accept and
//     refuse the same bodies and read the same values (valid UTF-8 only:
//     encoding/json replaces invalid bytes where DecodeJSON refuses them).
//   - DecodeLineProtocol (POST /write and /api/v2/write, LineProtocolHandler):
//     InfluxDB line protocol; one sample per field, Field = the field key. A
//     hand-written scanner that accepts and refuses what
//     github.com/influxdata/line-protocol/v2 does, with its messages; the
//     tests (FuzzLineProtocolMatchesLibrary) hold it to that library.
//   - DecodePrometheus (POST /api/v1/import/prometheus, PrometheusHandler):
//     the text exposition format through github.com/prometheus/common/expfmt;
//     histograms and summaries are flattened into _bucket{le}, {quantile},
//     _sum and _count samples.
//   - DecodeRemoteWrite (POST /api/v1/write, RemoteWriteHandler): Prometheus
//     remote write 1.0 (prompb) and 2.0 (client_golang/exp's types), snappy
//     block-compressed; one sample per float sample of a series, le and
//     quantile written as DecodePrometheus writes them; native histograms
//     refused. Problems carry the index of the series.
//   - DecodeOTLP (POST /v1/metrics, OTLPHandler): OTLP/HTTP metrics, an
//     ExportMetricsServiceRequest in protobuf or JSON decoded by the
//     OpenTelemetry Collector's pdata. Gauges, delta sums and non-monotonic
//     sums give their values; histograms NAME_bucket{le} (each bucket's own
//     count), NAME_count and NAME_sum; summaries NAME{quantile}, _count and
//     _sum. Running totals (monotonic cumulative sums, cumulative
//     histograms, summaries' count and sum) come back as CumulativePoints,
//     which OTLPHandler hands the sink as they came, marked Sample.Running.
//     A point that breaks a
//     limit is left out and counted (OTLP's partial success) instead of
//     refusing the request; Problems are located as
//     resource_metrics[i].scope_metrics[j].metrics[k].data_points[p].
//
// Handlers keep no state across requests. Running totals become increases
// where the log is read, in log order (Cumulative, one table per reader):
// per series the last point within CumulativeLookback of log time, bounded
// (100,000 series, the one seen longest ago forgotten first), so the
// increases are a function of the log alone, the same on every node, after
// a restart and in a rewind.
//
// Every decoder returns samples whose tags are sorted by key and unique,
// whose values are finite, whose names follow the rules below and whose
// times lie within the limits; the samples share no memory with the input,
// so a caller may reuse its buffer once a decoder returns.
//
// # Limits
//
// Limits (zero fields take the defaults) bound a request: MaxBodyBytes
// (10 MiB, applied to the decompressed size of gzip bodies too; 413),
// MaxSamples (100,000 per request; 413), MaxTags (32 per sample),
// MaxTagValueBytes (256), MaxNameBytes (256), MaxFuture (5m) and MaxAge
// (24h) around the arrival time. Metric and field names must match
// [a-zA-Z_:][a-zA-Z0-9_:.-]* (Prometheus' rule, with '.' and '-' added for
// InfluxDB users); tag keys [a-zA-Z_][a-zA-Z0-9_.-]*; tag values are any
// valid UTF-8. NaN and ±Inf values are refused, except that in Prometheus
// text NaN means "no value" (an empty summary exposes NaN quantiles): those
// samples are left out and counted in the answer's "no_value". Breaking any
// of these refuses the whole request with 400 unless noted. A sample stamped
// ahead of its arrival, within MaxFuture, is taken as arriving now.
//
// Every decoder's time and memory grow linearly with the body, whatever its
// shape (many labels in one series, long names, deep nesting, many fields):
// the limits that bound a series are checked as it is scanned, not after.
// For Prometheus text, one pass over the body refuses, before expfmt reads
// it, more than MaxSamples sample lines, a series line with more than
// MaxTags labels (empty values and le/quantile included) and names or label
// values over their limits, with the line and column of the offender (expfmt
// alone spends time quadratic in the labels of one series).
//
// # Errors
//
// A decoder refuses with a *DecodeError listing up to 20 Problems, each
// with a 1-based Line and Column where known (0 = unknown), the 0-based
// Index of the sample or point (-1 = not tied to one) and a Message such as
// "samples[3].value: expected a number, got string". Handlers answer
//
//	{"error":"invalid json: line 1:110: samples[3].value: …",
//	 "details":[{"line":1,"column":110,"index":3,"message":"…"}]}
//
// and, on the InfluxDB endpoints, add InfluxDB 2's "code" and "message"
// (and "line") so that Telegraf and the client libraries print the reason.
//
// # Handlers
//
// JSONHandler, LineProtocolHandler and PrometheusHandler are plain
// net/http handlers, safe for concurrent use. They answer:
//
//	200 {"accepted":N}   JSON and Prometheus, samples handed to the Sink
//	200                  OTLP: an ExportMetricsServiceResponse (protobuf or
//	                     JSON, as the request), partial_success when points
//	                     were left out; OTLP refusals carry a google.rpc.Status
//	204                  line protocol and remote write, samples handed to the Sink
//	400                  a decoding or validation problem; bad precision or gzip
//	405                  not POST
//	413                  body or decompressed body too large; too many samples
//	415                  unknown Content-Type (JSON, Prometheus) or Content-Encoding
//	429 + Retry-After    the Sink returned *OverloadError
//	503 + Retry-After    *OverloadError with Unavailable set, the request's
//	                     context ended while the Sink held it, or a deadline
//	                     on it ran out before (nothing is stored)
//	500                  any other Sink error
//	499                  (in Outcome only; no answer reaches anyone) the client
//	                     went away: its request's context was cancelled while
//	                     the body was read, decoded, or before the Sink was
//	                     called; the read or the decoding stops, nothing
//	                     reaches the Sink
//
// An accepted answer names the metrics of the request that no chart reads,
// as HandlerConfig.Readers (which the board implements) says: at most
// MaxUnread, in the UnreadHeader on every route, and as "unread" in the
// JSON bodies (200 {"accepted":N,"unread":["refundz"]}), so a misspelt name
// shows at once. The 204 of line protocol and remote write stays.
//
// Each refusal is logged as one line (never one per sample). Bodies are read
// into pooled buffers; the Sink owns the batch it is given.
//
// ingest imports nothing else from this module.
package ingest
