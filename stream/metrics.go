package stream

import "github.com/prometheus/client_golang/prometheus"

// Refusal reasons, the values of the reason label of
// dashd_stream_handshake_refusals_total.
const (
	reasonMethod     = "method"
	reasonUpgrade    = "upgrade"
	reasonConnection = "connection"
	reasonVersion    = "version"
	reasonKey        = "key"
	reasonOrigin     = "origin"
	reasonNoTopics   = "no_topics"
	reasonClosed     = "closed"
	reasonOther      = "other"
)

type metrics struct {
	viewersWS, viewersSSE prometheus.Gauge
	refusals              *prometheus.CounterVec
	conflated             prometheus.Counter
	stuckWS, stuckSSE     prometheus.Counter
	sentWS, sentSSE       prometheus.Counter
	batches               prometheus.Counter
	deltas                prometheus.Counter
	overflows             prometheus.Counter
	leaseEndsWS           prometheus.Counter
	leaseEndsSSE          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	viewers := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dashd_stream_viewers",
		Help: "Open live streams, by transport (ws, sse).",
	}, []string{"transport"})
	refusals := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dashd_stream_handshake_refusals_total",
		Help: "Stream requests refused before streaming, by reason.",
	}, []string{"reason"})
	conflated := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dashd_stream_conflated_frames_total",
		Help: "Frames never sent to a viewer because a newer frame of the same topic replaced them while the viewer was busy.",
	})
	stuck := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dashd_stream_stuck_disconnects_total",
		Help: "Viewers disconnected because their data stayed undelivered too long (WebSocket close 1013, or a write timeout).",
	}, []string{"transport"})
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dashd_stream_messages_sent_total",
		Help: "Messages written to viewers: WebSocket messages (a batch counts once) and SSE events.",
	}, []string{"transport"})
	batches := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dashd_stream_batches_encoded_total",
		Help: "Batch payloads built: one per group and tick, plus one per snapshot and per drain of a busy viewer.",
	})
	deltas := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dashd_stream_deltas_encoded_total",
		Help: "Delta frames made: at most one per topic and tick, for topics that viewers with ?delta=1 read.",
	})
	overflows := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dashd_stream_buffer_overflows_total",
		Help: "Messages dropped because a WebSocket session's queue was full. Always 0 unless stream has a bug.",
	})
	leaseEnds := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dashd_stream_lease_ends_total",
		Help: "Streams ended because their lease ended (an embed token expired or was revoked): WebSocket close 1008, SSE end event.",
	}, []string{"transport"})
	for _, r := range []string{reasonMethod, reasonUpgrade, reasonConnection, reasonVersion, reasonKey, reasonOrigin, reasonNoTopics, reasonClosed, reasonOther} {
		refusals.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(viewers, refusals, conflated, stuck, sent, batches, deltas, overflows, leaseEnds)
	}
	return &metrics{
		viewersWS:  viewers.WithLabelValues("ws"),
		viewersSSE: viewers.WithLabelValues("sse"),
		refusals:   refusals,
		conflated:  conflated,
		stuckWS:    stuck.WithLabelValues("ws"),
		stuckSSE:   stuck.WithLabelValues("sse"),
		sentWS:     sent.WithLabelValues("ws"),
		sentSSE:    sent.WithLabelValues("sse"),
		batches:    batches,
		deltas:     deltas,
		overflows:  overflows,

		leaseEndsWS:  leaseEnds.WithLabelValues("ws"),
		leaseEndsSSE: leaseEnds.WithLabelValues("sse"),
	}
}
