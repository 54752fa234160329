package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/embed"
)

// BenchmarkTenantViewers is 1,000 tenants × 5 SSE viewers of one chart on
// one dashd, each viewer with its tenant's filtered token: per op, one
// POST of a sample for every tenant, until every viewer has seen its
// tenant's new total. It reports the time to that point, and the frames
// the board built per op (one per tenant: not one per viewer).
func BenchmarkTenantViewers(b *testing.B) {
	const tenants, perTenant = 1000, 5
	s := startServer(b, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.EmbedSecret = testEmbedSecret
		f.Auth.AdminTokens = []string{testAdminToken}
		f.Dashboards = []charts.Dashboard{{ID: "saas", Charts: []charts.Chart{
			{ID: "usage", Metric: "usage", X: "host", Agg: charts.Sum, Window: charts.Duration(time.Hour)},
		}}}
	})
	round := func(r int) {
		var sb strings.Builder
		sb.WriteString("[")
		for i := range tenants {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"metric":"usage","tags":{"tenant":"t%04d","host":"t%04d-h"},"value":1}`, i, i)
		}
		sb.WriteString("]")
		resp, err := http.Post(s.url+"/api/v1/ingest", "application/json", strings.NewReader(sb.String()))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("ingest %d: %v %v", r, err, resp)
		}
		resp.Body.Close()
	}
	round(0)

	keys, _ := embed.New(embed.Config{Secret: testEmbedSecret})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1}}
	var seen atomic.Int64 // viewers that reached the current target
	var target atomic.Int64
	var wg sync.WaitGroup
	target.Store(1) // what round 0 shows
	opened := time.Now()
	for i := range tenants {
		tok, _, err := keys.Mint(embed.Scope{Chart: "usage", Where: map[string]string{"tenant": fmt.Sprintf("t%04d", i)}}, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		own := fmt.Sprintf("t%04d-h", i)
		for range perTenant {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/stream/sse?charts=usage&token="+tok, nil)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("viewer of t%04d: %v %v", i, err, resp)
			}
			wg.Go(func() {
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				var got int64
				for sc.Scan() {
					data, ok := strings.CutPrefix(sc.Text(), "data: ")
					if !ok {
						continue
					}
					var f frame
					if json.Unmarshal([]byte(data), &f) != nil || len(f.Categories) != 1 || f.Categories[0] != own {
						if len(f.Categories) > 0 {
							b.Errorf("LEAK: t%04d received %.200s", i, data)
						}
						continue
					}
					if v := f.Series[0].Data[0]; v != nil && int64(*v) > got {
						got = int64(*v)
						if got == target.Load() {
							seen.Add(1)
						}
					}
				}
			})
		}
	}
	wait := func(want int64) time.Duration {
		start := time.Now()
		for seen.Load() < tenants*perTenant {
			if time.Since(start) > 60*time.Second {
				b.Fatalf("only %d of %d viewers reached %d", seen.Load(), tenants*perTenant, want)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}
	wait(1)
	b.Logf("%d viewers of %d tenants connected and shown complete views in %v", tenants*perTenant, tenants, time.Since(opened).Round(time.Millisecond))
	frames := s.board.Stats().Frames
	b.ResetTimer()
	for r := 1; r <= b.N; r++ {
		seen.Store(0)
		target.Store(int64(r + 1))
		round(r)
		wait(int64(r + 1))
	}
	b.StopTimer()
	b.ReportMetric(float64(s.board.Stats().Frames-frames)/float64(b.N), "frames/op")
	cancel()
	wg.Wait()
}
