package journal_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// discard is a charts.Publisher that drops every frame.
type discard struct{}

func (discard) Publish(string, []byte) {}
func (discard) Flush()                 {}

// benchBatch makes n web-traffic samples with times spread over the last
// 30 minutes: 50 routes × 5 statuses × 10 hosts.
func benchBatch(n, seed int, now time.Time) []ingest.Sample {
	statuses := []string{"200", "201", "404", "500", "503"}
	out := make([]ingest.Sample, n)
	for i := range out {
		k := seed*n + i
		out[i] = ingest.Sample{
			Metric: "http_requests", Field: "value",
			Tags: []ingest.Tag{
				tag("host", "web-"+strconv.Itoa(k%10)),
				tag("route", "/api/v1/route/"+strconv.Itoa(k%50)),
				tag("status", statuses[k%5]),
			},
			Value: float64(k % 100),
			Time:  now.Add(-30 * time.Minute).Add(time.Duration(k%1800) * time.Second),
		}
	}
	return out
}

var benchDashboards = []charts.Dashboard{{ID: "web", Charts: []charts.Chart{
	{ID: "by-route", Metric: "http_requests", X: "route", Series: "status", Type: charts.Stacked, Window: charts.Duration(time.Hour)},
	{ID: "by-host", Metric: "http_requests", X: "host", Agg: charts.Avg, Window: charts.Duration(time.Hour)},
	{ID: "over-time", Metric: "http_requests", X: charts.TimeAxis, Bucket: charts.Duration(time.Minute)},
}}}

func BenchmarkDecodeBatch(b *testing.B) {
	msg := journal.EncodeBatch(benchBatch(1000, 0, time.Now()))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := journal.DecodeBatch(msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkEncodeBatch(b *testing.B) {
	batch := benchBatch(1000, 0, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		journal.EncodeBatch(batch)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkAccept measures acknowledged requests of 100 samples into a
// file store, from 8 goroutines.
func BenchmarkAccept(b *testing.B) {
	j := open(b, journal.Config{Dir: b.TempDir()})
	batch := benchBatch(100, 0, time.Now())
	ctx := context.Background()
	b.SetParallelism(4) // × GOMAXPROCS goroutines
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := j.Accept(ctx, batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "samples/s")
}

// TestReplay10M fills a file store with 10 million samples, closes it, and
// times Open and a replay into a real charts.Board until every sample is
// applied. It takes a minute or two, so it runs only when asked:
//
//	DASHD_JOURNAL_10M=1 go test -run TestReplay10M -v -timeout 30m ./journal/
//
// DASHD_JOURNAL_BATCH sets the samples per request (default 5000).
func TestReplay10M(t *testing.T) {
	if os.Getenv("DASHD_JOURNAL_10M") == "" {
		t.Skip("set DASHD_JOURNAL_10M=1 to measure a replay of 10 million samples")
	}
	const total = 10_000_000
	per := 5000
	if v := os.Getenv("DASHD_JOURNAL_BATCH"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Now()

	j := open(t, journal.Config{Dir: dir, MaxBytes: 8 << 30})
	start := time.Now()
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < total/per; i += workers {
				if err := j.Accept(ctx, benchBatch(per, i, now)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	fill := time.Since(start)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var size int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
		if info, err := d.Info(); err == nil && !d.IsDir() {
			size += info.Size()
		}
		return nil
	})
	t.Logf("filled: %d samples in %d requests of %d in %s (%.0f samples/s acknowledged, 8 writers); store %.0f MiB (%.1f bytes/sample)",
		total, total/per, per, fill.Round(time.Millisecond), total/fill.Seconds(), float64(size)/(1<<20), float64(size)/total)

	// The measured start: open the store, replay into a running board.
	start = time.Now()
	j = open(t, journal.Config{Dir: dir, MaxBytes: 8 << 30})
	opened := time.Since(start)
	board := charts.NewBoard(charts.Config{}, discard{})
	bctx, stopBoard := context.WithCancel(ctx)
	boardDone := make(chan error, 1)
	go func() { boardDone <- board.Run(bctx) }()
	if err := board.SetDashboards(ctx, benchDashboards); err != nil {
		t.Fatal(err)
	}
	res, err := j.Replay(ctx, board, journal.ReplaySince(benchDashboards, time.Now(), 0))
	if err != nil {
		t.Fatal(err)
	}
	caught := time.Since(start)
	for board.Stats().Applied < total {
		time.Sleep(time.Millisecond)
	}
	applied := time.Since(start)
	stopBoard()
	<-boardDone
	t.Logf("start-up: open %s; replay of %d samples (%d messages) caught up at %s, all applied to the board at %s: %.2f M samples/s",
		opened.Round(time.Millisecond), res.Samples, res.Messages, caught.Round(time.Millisecond), applied.Round(time.Millisecond), total/(applied-opened).Seconds()/1e6)
	if res.Samples != total {
		t.Errorf("replayed %d samples, want %d", res.Samples, total)
	}
	fmt.Fprintln(os.Stderr) // keep the -v output readable
}
