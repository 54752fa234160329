package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/access"
	"github.com/dashd/dashd/ingest"
)

// opsMetrics are the metrics cmd/dashd adds to those of the board, the
// stream and the journal: ingest as clients see it, NATS and the replay.
type opsMetrics struct {
	accepted *prometheus.CounterVec   // samples, by format
	refused  *prometheus.CounterVec   // requests, by format and reason
	latency  *prometheus.HistogramVec // request duration, by format
	replay   prometheus.Gauge         // seconds the start-up replay took
	replayed prometheus.Gauge         // samples it delivered
	apply    prometheus.Histogram     // seconds the board took to apply a batch
	access   *prometheus.CounterVec   // requests the access policy refused, by class and reason
	notReady *prometheus.CounterVec   // streams refused while not ready, by transport
}

// newApplyHistogram is made before the board, which observes it.
func newApplyHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dashd_board_apply_seconds", Help: "Time the board took to apply one batch of samples to every chart that reads them (live: one request; replay: up to 16,384 samples).",
		Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1}})
}

// registerOpsMetrics registers m's metrics on the registry; the NATS and
// log gauges read the store when scraped.
func (m *Main) registerOpsMetrics() {
	o := &m.ops
	o.accepted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dashd_ingest_samples_accepted_total", Help: "Samples accepted (answered 2xx), by format."}, []string{"format"})
	o.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dashd_ingest_requests_refused_total", Help: "Ingest requests refused, by format and reason (invalid, unauthorized, too_large, unsupported_media_type, overloaded, unavailable, other)."}, []string{"format", "reason"})
	o.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dashd_ingest_request_duration_seconds", Help: "Time from the start of an ingest request to its answer (stored in the log for a 2xx), by format.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"format"})
	o.replay = prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_journal_replay_seconds", Help: "How long the replay of the log took at start (0 until it is done)."})
	o.replayed = prometheus.NewGauge(prometheus.GaugeOpts{Name: "dashd_journal_replayed_samples", Help: "Samples the replay at start delivered to the charts."})
	logState := func(pick func(msgs, bytes uint64) uint64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			st, err := m.store.State(ctx)
			if err != nil {
				return -1
			}
			return float64(pick(st.Messages, st.Bytes))
		}
	}
	o.access = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dashd_access_refusals_total", Help: "Requests the access policy refused before any handler ran, by the route's class (public, read, ingest, push, admin) and reason (forbidden_host, cross_origin, unauthorized, forbidden, or an embed token's: missing, malformed, bad signature, expired, revoked, wrong scope)."}, []string{"class", "reason"})
	o.notReady = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dashd_stream_not_ready_refusals_total", Help: "Streams refused (503) because the node was starting (loading the dashboards, replaying the log) or shutting down, by transport (ws, sse): they reconnect, through a load balancer to a ready node."}, []string{"transport"})
	for _, tr := range []string{"ws", "sse"} {
		o.notReady.WithLabelValues(tr)
	}
	m.registry.MustRegister(o.accepted, o.refused, o.latency, o.replay, o.replayed, o.apply, o.access, o.notReady,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dashd_ready", Help: "1 while /readyz answers 200 (replay done, NATS connected, not shutting down), else 0."},
			func() float64 {
				if m.notReady() == "" {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dashd_nats_connected", Help: "1 while the connection to NATS is up, 0 while it is down (ingest answers 503)."},
			func() float64 {
				if m.store.Connected() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dashd_journal_log_messages", Help: "Messages in the log of samples (-1 when NATS does not answer)."},
			logState(func(msgs, _ uint64) uint64 { return msgs })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dashd_journal_log_bytes", Help: "Bytes in the log of samples (-1 when NATS does not answer)."},
			logState(func(_, bytes uint64) uint64 { return bytes })),
	)
}

// observeIngest is ingest.HandlerConfig.Observe: one call per request.
func (o *opsMetrics) observeIngest(out ingest.Outcome) {
	o.latency.WithLabelValues(out.Format).Observe(out.Duration.Seconds())
	if out.Status/100 == 2 {
		o.accepted.WithLabelValues(out.Format).Add(float64(out.Samples))
		return
	}
	o.refused.WithLabelValues(out.Format, refusalReason(out.Status)).Inc()
}

// ingestFormat names the format of an ingest route, as Outcome.Format
// does; ok is false for other routes.
func ingestFormat(routeKey string) (format string, ok bool) {
	switch routeKey {
	case "POST /api/v1/ingest":
		return "json", true
	case "POST /write", "POST /api/v2/write":
		return "line protocol", true
	case "POST /api/v1/import/prometheus":
		return "prometheus", true
	case "POST /api/v1/write":
		return "remote write", true
	case "POST /v1/metrics":
		return "otlp", true
	}
	return "", false
}

// observeRefusal is api.RouterConfig.Refused: a refusal of the policy is
// counted, and on an ingest route counted as an ingest refusal too.
func (o *opsMetrics) observeRefusal(rt access.Route, d access.Decision) {
	o.access.WithLabelValues(rt.Class.String(), d.Reason).Inc()
	if format, ok := ingestFormat(rt.Key()); ok {
		o.refused.WithLabelValues(format, refusalReason(d.Status)).Inc()
	}
}

// refusalReason names a refusal by its status: the Outcome's own reason is
// a message for people, too varied for a label.
func refusalReason(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "unauthorized"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "overloaded"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "other"
}
