package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/dashd/dashd/ingest"
)

// TestInfluxDBClient writes with the official InfluxDB 2 client, as users do.
func TestInfluxDBClient(t *testing.T) {
	sk := &sink{}
	base := server(t, sk, ingest.HandlerConfig{})
	client := influxdb2.NewClientWithOptions(base, "s3cret", influxdb2.DefaultOptions().SetPrecision(time.Millisecond))
	defer client.Close()
	w := client.WriteAPIBlocking("my-org", "my-bucket")
	ts := now.Add(-time.Second)
	p1 := influxdb2.NewPoint("cpu", map[string]string{"host": "a", "cpu": "cpu0"},
		map[string]any{"idle": 97.5, "procs": 12, "up": true}, ts)
	p2 := influxdb2.NewPoint("net", map[string]string{"iface": "eth 0"}, map[string]any{"bytes": uint64(1 << 40)}, ts)
	if err := w.WritePoint(context.Background(), p1, p2); err != nil {
		t.Fatal(err)
	}
	got := sk.samples()
	checkInvariants(t, got)
	want := map[string]float64{"cpu/idle": 97.5, "cpu/procs": 12, "cpu/up": 1, "net/bytes": 1 << 40}
	if len(got) != len(want) {
		t.Fatalf("got %d samples: %+v", len(got), got)
	}
	for _, s := range got {
		if v, ok := want[s.Metric+"/"+s.Field]; !ok || v != s.Value || !s.Time.Equal(ts) {
			t.Fatalf("unexpected sample %+v", s)
		}
		if s.Metric == "cpu" && (len(s.Tags) != 2 || s.Tags[0] != (ingest.Tag{Key: "cpu", Value: "cpu0"}) || s.Tags[1] != (ingest.Tag{Key: "host", Value: "a"})) {
			t.Fatalf("cpu tags %v", s.Tags)
		}
		if s.Metric == "net" && (len(s.Tags) != 1 || s.Tags[0].Value != "eth 0") {
			t.Fatalf("net tags %v", s.Tags)
		}
	}

	// A refusal reaches the client with dashd's message.
	bad := influxdb2.NewPoint("cpu", nil, map[string]any{"state": "ok"}, ts)
	err := w.WritePoint(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), `field "state" is a string`) {
		t.Fatalf("err = %v", err)
	}
	if len(sk.samples()) != len(want) {
		t.Fatal("the refused point reached the sink")
	}
	// Tokens are the access policy's: cmd/dashd's TestInfluxDBClientTokens.
}
