package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dashd/dashd/ingest"
)

// GeneratorConfig tunes a Generator. The zero value of every field has a
// useful default.
type GeneratorConfig struct {
	// Seed makes the traffic repeatable: the same seed and the same clock
	// give the same samples.
	Seed uint64
	// Interval is the mean pause between batches (default 150ms); each
	// pause is drawn from between 2/3 and 4/3 of it.
	Interval time.Duration
	// RequestsPerSecond is the mean simulated request rate outside bursts
	// (default 200). The rate drifts by about a third over a minute and a
	// half, and now and then a burst multiplies it for a few seconds.
	RequestsPerSecond float64
	// Now is the clock stamped on the samples (default time.Now).
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Generator pushes made-up web traffic into a sink.
type Generator struct {
	sink ingest.Sink
	cfg  GeneratorConfig
	log  *slog.Logger
	rng  *rand.Rand

	start, last time.Time // of the first and the latest batch
	burstUntil  time.Time
	burstRoute  int
}

// NewGenerator makes a generator that writes to sink. Call Run to start it.
func NewGenerator(sink ingest.Sink, cfg GeneratorConfig) *Generator {
	if cfg.Interval <= 0 {
		cfg.Interval = 150 * time.Millisecond
	}
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Generator{
		sink: sink,
		cfg:  cfg,
		log:  cfg.Logger,
		rng:  rand.New(rand.NewPCG(cfg.Seed, 0x64617368642d6465)), // "dashd-de"
	}
}

// Run sends a batch, pauses, and again, until ctx is done; then it returns
// nil. When the sink is overloaded it drops that batch (it is made up; no
// one loses data) and waits as long as the sink asks. Any other error from
// the sink ends Run with that error.
func (g *Generator) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		wait := g.pause()
		if batch := g.Batch(g.cfg.Now()); len(batch) > 0 {
			err := g.sink.Accept(ctx, batch)
			var over *ingest.OverloadError
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return nil
			case errors.As(err, &over):
				g.log.Debug("demo: sink overloaded, batch dropped", "samples", len(batch), "retry_after", over.RetryAfter)
				wait = max(wait, over.RetryAfter)
			default:
				return fmt.Errorf("demo: sending samples: %w", err)
			}
		}
		timer.Reset(wait)
	}
}

// pause draws the wait before the next batch.
func (g *Generator) pause() time.Duration {
	i := float64(g.cfg.Interval)
	return time.Duration(i * (2.0/3 + g.rng.Float64()*2/3))
}

// Batch makes the samples of the requests since the previous batch (for
// the first, of one interval) as of now. Run calls it; tests may call it
// directly instead.
func (g *Generator) Batch(now time.Time) []ingest.Sample {
	dt := g.cfg.Interval
	if g.start.IsZero() {
		g.start = now
	} else {
		dt = min(max(now.Sub(g.last), 0), 2*time.Second)
	}
	g.last = now

	elapsed := now.Sub(g.start).Seconds()
	rate := g.cfg.RequestsPerSecond * (1 + 0.3*math.Sin(2*math.Pi*elapsed/90) + 0.1*math.Sin(2*math.Pi*elapsed/13))
	burst := now.Before(g.burstUntil)
	if !burst && g.rng.Float64() < dt.Seconds()/25 { // about one burst in 25 s
		burst = true
		g.burstUntil = now.Add(2*time.Second + time.Duration(g.rng.Int64N(int64(3*time.Second))))
		g.burstRoute = g.rng.IntN(len(routes))
	}
	if burst {
		rate *= 3
	}
	mean := rate * dt.Seconds()
	n := max(0, int(math.Round(mean+math.Sqrt(mean)*g.rng.NormFloat64())))

	type key struct{ route, status, region, country string }
	counts := make(map[key]float64)
	latency := make([]ingest.Sample, 0, n)
	for range n {
		r := g.pick(routeWeights)
		if burst && g.rng.Float64() < 0.5 {
			r = g.burstRoute
		}
		route := routes[r]
		c := countries[g.pick(countryWeights)]
		status := g.status(route.path, burst && r == g.burstRoute)
		ms := route.ms * regionFactor[c.region] * math.Exp(0.5*g.rng.NormFloat64())
		if burst && r == g.burstRoute {
			ms *= 2.5
		}
		if status[0] == '5' {
			ms *= 3
		}
		ms = math.Round(min(ms, 30000)*10) / 10

		counts[key{route.path, status, c.region, c.code}]++
		latency = append(latency, ingest.Sample{
			Metric: MetricLatency,
			Field:  ingest.DefaultField,
			Tags:   []ingest.Tag{{Key: "region", Value: c.region}, {Key: "route", Value: route.path}, {Key: "status", Value: status}},
			Value:  ms,
			Time:   now,
		})
	}

	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.status, b.status), cmp.Compare(a.region, b.region), cmp.Compare(a.country, b.country))
	})
	out := make([]ingest.Sample, 0, len(keys)+len(latency))
	for _, k := range keys {
		out = append(out, ingest.Sample{
			Metric: MetricRequests,
			Field:  ingest.DefaultField,
			Tags:   []ingest.Tag{{Key: "country", Value: k.country}, {Key: "region", Value: k.region}, {Key: "route", Value: k.route}, {Key: "status", Value: k.status}},
			Value:  counts[k],
			Time:   now,
		})
	}
	return append(out, latency...)
}

// status draws a response status; a route in a burst fails far more often.
func (g *Generator) status(path string, burning bool) string {
	p := g.rng.Float64() * 100
	switch {
	case burning && p < 10:
		return "503"
	case burning && p < 18:
		return "500"
	case p < 1.2:
		return "500"
	case p < 1.6:
		return "503"
	case p < 5:
		return "404"
	case path == "/login" && p < 12:
		return "401"
	case p < 14 && (path == "/" || path == "/static/app.js"):
		return "304"
	}
	return "200"
}

// pick draws an index with the given weights.
func (g *Generator) pick(weights []float64) int {
	var total float64
	for _, w := range weights {
		total += w
	}
	x := g.rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

type route struct {
	path string
	ms   float64 // median latency
}

// The simulated site: fixed tables.
var (
	routes = []route{
		{"/", 35}, {"/api/items", 60}, {"/api/search", 140}, {"/api/cart", 80},
		{"/login", 90}, {"/checkout", 220}, {"/static/app.js", 8},
	}
	routeWeights = []float64{30, 25, 14, 10, 8, 5, 8}

	countries = []struct{ code, region string }{
		{"US", "us-east"}, {"DE", "eu-west"}, {"GB", "eu-west"}, {"IN", "ap-south"},
		{"BR", "sa-east"}, {"FR", "eu-west"}, {"JP", "ap-south"}, {"CA", "us-east"},
		{"NL", "eu-west"}, {"AU", "ap-south"}, {"SG", "ap-south"}, {"SE", "eu-west"},
	}
	countryWeights = []float64{32, 12, 10, 9, 7, 6, 6, 5, 4, 3, 3, 3}

	regionFactor = map[string]float64{"us-east": 1, "eu-west": 1.15, "ap-south": 1.6, "sa-east": 1.4}
)
