package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// metricName is the metric every dashload sample carries.
const metricName = "dashload"

// ingestFormat returns where a format is posted and its Content-Type.
func ingestFormat(format string) (path, contentType string, ok bool) {
	switch format {
	case "json":
		return "/api/v1/ingest", "application/json", true
	case "lp":
		return "/write", "text/plain; charset=utf-8", true
	case "prom":
		return "/api/v1/import/prometheus", "text/plain; version=0.0.4", true
	}
	return "", "", false
}

// sample is one generated sample: the chart it feeds, its category and
// series tags, and its value.
type sample struct {
	chart  int
	cat    string
	s      string
	value  float64
	tenant int // with bodyShape.tenants: the tenant tag, t0000 …
	// ownCat: the category is the tenant's own, tNNNN-cat (bodyShape.ownCategories).
	ownCat bool
}

// bodyShape says what one push holds.
type bodyShape struct {
	charts     int // charts on the dashboard; each push carries a probe for each
	categories int // data categories per chart
	series     int // series per chart
	batch      int // samples per push, probes included (at least charts)
	// rotate: each push starts where the previous one stopped in the
	// cells (category × series) of a chart, so that a push smaller than
	// the charts changes a few cells while the charts keep every cell.
	rotate bool
	// tenants: every sample carries a tag tenant=tNNNN, the data
	// samples round-robin over the tenants, each push's probes those of
	// tenant seq mod tenants (0: no tenant tag).
	tenants int
	// ownCategories (--tenant-categories own): with tenants, each data
	// sample's category is its tenant's own, tNNNN-cNNN, so that the
	// chart sees tenants × categories names (past its limit of 500 it
	// folds the rest into Other), as a chart by host where each tenant
	// has its own hosts; without, every tenant has the same categories.
	ownCategories bool
	// perPush: the charts one push feeds (0: every chart), the charts
	// perPush×k … perPush×k+perPush−1 for push seq, k = seq mod
	// charts/perPush: with --stagger, one dashboard's charts in turn.
	perPush int
}

// tenantName names tenant i.
func tenantName(i int) string { return fmt.Sprintf("t%04d", i) }

// catNames and seriesNames name the data categories and series.
func catName(i int) string    { return fmt.Sprintf("c%03d", i) }
func seriesName(i int) string { return string(rune('a' + i%26)) }

// samples fills dst with the samples of push seq: first one probe per chart
// (category probeCategory, series "a", value seq), then data samples spread
// round-robin over the charts, categories and series.
func (b bodyShape) samples(dst []sample, seq uint64, cats, series []string) []sample {
	dst = dst[:0]
	first, n := 0, b.charts
	if b.perPush > 0 && b.perPush < b.charts {
		n = b.perPush
		first = int(seq%uint64(b.charts/n)) * n
	}
	for c := first; c < first+n; c++ {
		dst = append(dst, sample{chart: c, cat: probeCategory, s: series[0], value: float64(seq), tenant: b.tenantOf(int(seq))})
	}
	perChart := (b.batch - n + n - 1) / n
	for j := 0; j < b.batch-n; j++ {
		c := first + j%n
		k := j / n
		if b.rotate {
			k += int(seq) * perChart
		}
		dst = append(dst, sample{
			chart:  c,
			cat:    cats[k%len(cats)],
			s:      series[(k/len(cats))%len(series)],
			value:  float64((seq*31 + uint64(j)*7) % 1000),
			tenant: b.tenantOf(j),
			ownCat: b.ownCategories && b.tenants > 0,
		})
	}
	return dst
}

func (b bodyShape) tenantOf(k int) int {
	if b.tenants <= 0 {
		return -1
	}
	return k % b.tenants
}

// appendCat appends s's category: tNNNN-cat when it is its tenant's own.
func (s sample) appendCat(dst []byte) []byte {
	if s.ownCat && s.tenant >= 0 {
		dst = append(dst, tenantName(s.tenant)...)
		dst = append(dst, '-')
	}
	return append(dst, s.cat...)
}

// appendBody encodes samples in format (a tenant below 0: no tenant tag).
func appendBody(dst []byte, format string, samples []sample) []byte {
	switch format {
	case "json":
		dst = append(dst, `{"samples":[`...)
		for i, s := range samples {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"metric":"`+metricName+`","tags":{"chart":"`...)
			dst = strconv.AppendInt(dst, int64(s.chart), 10)
			dst = append(dst, `","cat":"`...)
			dst = s.appendCat(dst)
			dst = append(dst, `","s":"`...)
			dst = append(dst, s.s...)
			if s.tenant >= 0 {
				dst = append(dst, `","tenant":"`...)
				dst = append(dst, tenantName(s.tenant)...)
			}
			dst = append(dst, `"},"value":`...)
			dst = strconv.AppendFloat(dst, s.value, 'f', -1, 64)
			dst = append(dst, '}')
		}
		return append(dst, "]}"...)
	case "lp":
		for _, s := range samples {
			dst = append(dst, metricName+",cat="...)
			dst = s.appendCat(dst)
			dst = append(dst, ",chart="...)
			dst = strconv.AppendInt(dst, int64(s.chart), 10)
			dst = append(dst, ",s="...)
			dst = append(dst, s.s...)
			if s.tenant >= 0 {
				dst = append(dst, ",tenant="...)
				dst = append(dst, tenantName(s.tenant)...)
			}
			dst = append(dst, " value="...)
			dst = strconv.AppendFloat(dst, s.value, 'f', -1, 64)
			dst = append(dst, '\n')
		}
		return dst
	case "prom":
		for _, s := range samples {
			dst = append(dst, metricName+`{chart="`...)
			dst = strconv.AppendInt(dst, int64(s.chart), 10)
			dst = append(dst, `",cat="`...)
			dst = s.appendCat(dst)
			dst = append(dst, `",s="`...)
			dst = append(dst, s.s...)
			if s.tenant >= 0 {
				dst = append(dst, `",tenant="`...)
				dst = append(dst, tenantName(s.tenant)...)
			}
			dst = append(dst, `"} `...)
			dst = strconv.AppendFloat(dst, s.value, 'f', -1, 64)
			dst = append(dst, '\n')
		}
		return dst
	}
	panic("unknown format " + format)
}

// pushStats counts what the pushers did.
type pushStats struct {
	ok, failed atomic.Uint64 // requests answered 2xx / otherwise or not at all
	samples    atomic.Uint64 // samples in requests answered 2xx
	firstErr   atomic.Pointer[string]
}

func (p *pushStats) fail(msg string) {
	p.failed.Add(1)
	p.firstErr.CompareAndSwap(nil, &msg)
}

// pusher posts samples to a target. Send times are kept by sequence number
// so that a viewer can tell how long a probe took to reach it.
type pusher struct {
	client *http.Client
	url    string
	format string
	token  string
	shape  bodyShape
	sent   []atomic.Int64 // by seq: nanoseconds since base, +1; 0 = not sent
	base   time.Time
	stats  *pushStats
}

// run pushes at rate per second (0: as fast as workers can) with workers
// concurrent requests until ctx ends or every sequence number is used.
func (p *pusher) run(ctx context.Context, rate float64, workers int) {
	jobs := make(chan uint64, workers)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			p.work(ctx, jobs)
		}()
	}
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
schedule:
	for seq := uint64(1); seq < uint64(len(p.sent)); seq++ {
		if rate > 0 {
			due := start.Add(time.Duration(float64(seq-1) / rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					break schedule
				}
			}
		}
		select {
		case jobs <- seq:
		case <-ctx.Done():
			break schedule
		}
	}
	close(jobs)
	for w := 0; w < workers; w++ {
		<-done
	}
}

func (p *pusher) work(ctx context.Context, jobs <-chan uint64) {
	cats := make([]string, p.shape.categories)
	for i := range cats {
		cats[i] = catName(i)
	}
	series := make([]string, p.shape.series)
	for i := range series {
		series[i] = seriesName(i)
	}
	var samples []sample
	var body []byte
	for seq := range jobs {
		samples = p.shape.samples(samples, seq, cats, series)
		body = appendBody(body[:0], p.format, samples)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
		if err != nil {
			p.stats.fail(err.Error())
			continue
		}
		_, ctype, _ := ingestFormat(p.format)
		req.Header.Set("Content-Type", ctype)
		if p.token != "" {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		p.sent[seq].Store(int64(time.Since(p.base)) + 1)
		resp, err := p.client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				p.stats.fail(err.Error())
			}
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			p.stats.fail(fmt.Sprintf("POST %s: %s: %s", p.url, resp.Status, bytes.TrimSpace(msg)))
			continue
		}
		p.stats.ok.Add(1)
		p.stats.samples.Add(uint64(len(samples)))
	}
}
