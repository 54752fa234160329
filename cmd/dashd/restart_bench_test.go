package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// BenchmarkRestart measures the time from New to /readyz answering 200 for
// a dashd on disk whose log holds N samples inside the charts' windows,
// started from the log alone (checkpoints off) and from a checkpoint
// written before a tail of restartTail more samples (a crash), and from
// the checkpoint a clean stop writes (nothing to replay). The sizes come
// from DASHD_RESTART_SAMPLES (e.g. 1e6,1e7); without it the benchmark is
// skipped, since filling the log takes minutes. DASHD_RESTART_FROM picks
// the starts measured (default log,checkpoint,shutdown):
//
//	DASHD_RESTART_SAMPLES=1e6,1e7,3e7 go test -run '^$' -bench BenchmarkRestart -benchtime 3x -timeout 2h ./cmd/dashd/
//
// Each size is filled once (8 writers into the journal, requests of 5,000
// samples, times over the last 30 minutes, 50 routes × 5 statuses × 10
// hosts); every iteration is a whole start and stop of dashd. It reports
// s/ready (seconds to ready), replayed samples, the checkpoint's size and
// the data directory's size.
func BenchmarkRestart(b *testing.B) {
	env := os.Getenv("DASHD_RESTART_SAMPLES")
	if env == "" {
		b.Skip("set DASHD_RESTART_SAMPLES (e.g. 1e6,1e7) to measure restarts")
	}
	for _, field := range strings.Split(env, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
		if err != nil || f < restartBatch {
			b.Fatalf("DASHD_RESTART_SAMPLES: %q is not a number of samples (at least %d)", field, restartBatch)
		}
		n := int(f) / restartBatch * restartBatch
		b.Run(fmt.Sprintf("samples=%s", label(n)), func(b *testing.B) { benchRestart(b, n) })
	}
}

const (
	restartBatch = 5000
	restartTail  = 100_000 // samples stored after the checkpoint: a minute at about 1,700 a second
	restartBytes = 8 << 30 // the log's cap for the benchmark (the default of 1 GiB holds ~80 M samples)
)

var restartDashboards = []charts.Dashboard{{ID: "web", Title: "Web", Charts: []charts.Chart{
	{ID: "by-route", Metric: "http_requests", X: "route", Series: "status", Type: charts.Stacked, Agg: charts.Sum, Window: charts.Duration(time.Hour)},
	{ID: "by-host", Metric: "http_requests", X: "host", Agg: charts.Avg, Window: charts.Duration(time.Hour)},
	{ID: "over-time", Metric: "http_requests", X: charts.TimeAxis, Bucket: charts.Duration(time.Minute), Window: charts.Duration(time.Hour), Series: "status", Agg: charts.Sum},
}}}

func label(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return strconv.Itoa(n/1e6) + "M"
	case n >= 1e3 && n%1e3 == 0:
		return strconv.Itoa(n/1e3) + "k"
	}
	return strconv.Itoa(n)
}

// restartSamples makes n web-traffic samples, the seed-th batch.
func restartSamples(n, seed int, now time.Time) []ingest.Sample {
	statuses := []string{"200", "201", "404", "500", "503"}
	out := make([]ingest.Sample, n)
	for i := range out {
		k := seed*n + i
		out[i] = ingest.Sample{
			Metric: "http_requests", Field: "value",
			Tags: []ingest.Tag{
				{Key: "host", Value: "web-" + strconv.Itoa(k%10)},
				{Key: "route", Value: "/api/v1/route/" + strconv.Itoa(k%50)},
				{Key: "status", Value: statuses[k%5]},
			},
			Value: float64(k % 100),
			Time:  now.Add(-30 * time.Minute).Add(time.Duration(k%1800) * time.Second),
		}
	}
	return out
}

// fillLog stores n samples in the log under dir with 8 writers.
func fillLog(b *testing.B, j *journal.Journal, n, seed0 int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n/restartBatch; i += workers {
				if err := j.Accept(ctx, restartSamples(restartBatch, seed0+i, now)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func dirSize(dir string) int64 {
	var size int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
		if info, err := d.Info(); err == nil && !d.IsDir() {
			size += info.Size()
		}
		return nil
	})
	return size
}

// startTimed starts dashd on dir and returns it once /readyz says 200, with
// the time that took from New, and a stop.
func startTimed(b *testing.B, dir string, interval time.Duration, final bool) (*Main, time.Duration, func()) {
	b.Helper()
	f := config.Default()
	f.Addr = "127.0.0.1:0"
	f.Data = dir
	f.Dashboards = restartDashboards
	f.Checkpoints.Interval = charts.Duration(interval)
	f.NATS.MaxBytes = restartBytes
	begin := time.Now()
	m, err := New(Config{File: f})
	if err != nil {
		b.Fatal(err)
	}
	// Without final, a start is measured as after a crash: no checkpoint
	// at shutdown, so the one under test stays the newest and the tail is
	// replayed.
	m.ckpt.noFinal = !final
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	url := "http://" + m.Addr() + "/readyz"
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(begin) > 30*time.Minute {
			b.Fatal("dashd never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(begin)
	return m, took, func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	}
}

func benchRestart(b *testing.B, n int) {
	dir := b.TempDir()
	j, err := journal.Open(context.Background(), journal.Config{Dir: dir, MaxBytes: restartBytes})
	if err != nil {
		b.Fatal(err)
	}
	begin := time.Now()
	fillLog(b, j, n, 0)
	fill := time.Since(begin)
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	logSize := dirSize(dir)
	b.Logf("filled %d samples in %s (%.2f M/s); data dir %.0f MiB (%.1f B/sample)", n, fill.Round(time.Millisecond),
		float64(n)/fill.Seconds()/1e6, float64(logSize)/(1<<20), float64(logSize)/float64(n))

	// A first run writes the checkpoint, then the tail comes.
	m, took, stop := startTimed(b, dir, time.Hour, false)
	b.Logf("first start (no checkpoint yet): ready in %s", took.Round(time.Millisecond))
	wbegin := time.Now()
	if wrote, err := m.checkpoint(context.Background()); err != nil || !wrote {
		b.Fatalf("checkpoint: %v %v", wrote, err)
	}
	cps, err := m.store.Checkpoints(context.Background())
	if err != nil || len(cps) != 1 {
		b.Fatalf("checkpoints: %+v %v", cps, err)
	}
	b.Logf("checkpoint at seq %d: %d bytes, written in %s", cps[0].At.Seq, cps[0].Size, time.Since(wbegin).Round(time.Millisecond))
	before := m.board.Stats().Applied
	fillLog(b, m.store, restartTail, n/restartBatch)
	for m.board.Stats().Applied < before+restartTail {
		time.Sleep(time.Millisecond)
	}
	stop()

	modes := os.Getenv("DASHD_RESTART_FROM")
	if modes == "" {
		modes = "log,checkpoint,shutdown"
	}
	for _, from := range []struct {
		name     string
		interval time.Duration
		final    bool
	}{{"log", 0, false}, {"checkpoint", time.Hour, false}, {"shutdown", time.Hour, true}} {
		if !strings.Contains(modes, from.name) {
			continue
		}
		if from.final {
			// A clean stop first writes a checkpoint at the log's end;
			// every measured start then begins there and replays nothing.
			_, _, stop := startTimed(b, dir, time.Hour, true)
			stop()
		}
		b.Run("from="+from.name, func(b *testing.B) {
			var total time.Duration
			var replayed float64
			for range b.N {
				m, took, stop := startTimed(b, dir, from.interval, from.final)
				total += took
				replayed = float64(m.board.Stats().Applied)
				if from.name == "checkpoint" && m.ckpt.start.Seq != cps[0].At.Seq {
					b.Fatalf("started from seq %d, want the checkpoint's %d", m.ckpt.start.Seq, cps[0].At.Seq)
				}
				stop()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
			b.ReportMetric(replayed, "replayed")
			b.ReportMetric(float64(cps[0].Size), "checkpoint-B")
			b.ReportMetric(float64(dirSize(dir))/(1<<20), "datadir-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
