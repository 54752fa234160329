package journal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// A rewind reads its range of the log without a consumer: the server
// holds none while the batches are handed over, across several batched
// direct gets (more messages than one request asks for), and every
// message comes in order with its position.
func TestReplayRangeMakesNoConsumer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := startNATS(t)
	// A busy machine (parallel tests, -race) may take more than the
	// default 2 s to acknowledge a write.
	j := open(t, journal.Config{URL: ns.ClientURL(), AckTimeout: 30 * time.Second})
	// Over two requests of 512 messages, and over two merged batches of
	// 16,384 samples.
	const n, per = 1100, 16
	old := time.Now().Add(-time.Minute)
	var first, last charts.Position
	for i := range n {
		batch := make([]ingest.Sample, per)
		for k := range batch {
			batch[k] = ingest.Sample{Metric: "m", Field: "value", Value: float64(i*per + k), Time: old}
		}
		p := acceptAt(t, j, batch)
		if i == 0 {
			first = p
		}
		last = p
	}

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, journal.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	consumers := func() int {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	base := consumers()

	var got []float64
	var at charts.Position
	most := 0
	err = j.ReplayRange(ctx, first.Seq, last.Seq, func(b []ingest.Sample, p charts.Position) error {
		most = max(most, consumers()-base)
		for _, s := range b {
			got = append(got, s.Value)
		}
		at = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if most != 0 {
		t.Errorf("the server held %d consumers more while the range was read; want none (batched direct gets)", most)
	}
	if len(got) != (n-1)*per || at.Seq != last.Seq || !at.Time.Equal(last.Time) {
		t.Fatalf("read %d samples ending at %+v; want %d ending at %+v", len(got), at, (n-1)*per, last)
	}
	for i, v := range got {
		if v != float64(i+per) {
			t.Fatalf("sample %d is %v, want %v: out of order or missing", i, v, float64(i+per))
		}
	}

	// A reader that has gone stops the reads at once.
	cctx, cancel := context.WithCancel(ctx)
	calls := 0
	err = j.ReplayRange(cctx, 0, last.Seq, func([]ingest.Sample, charts.Position) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("after the reader went: %v after %d batches; want context.Canceled after 1", err, calls)
	}
}

// A stream that does not allow direct gets (one an operator configured
// apart, or a server that refuses them) is still read whole: the reads
// fall back to a consumer.
func TestReplayRangeWithoutDirectGets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := startNATS(t)
	j := open(t, journal.Config{URL: ns.ClientURL(), AckTimeout: 30 * time.Second})
	old := time.Now().Add(-time.Minute)
	var last charts.Position
	for i := range 20 {
		last = acceptAt(t, j, one("m", float64(i), old))
	}

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, journal.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	cfg.AllowDirect = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got []float64
	err = j.ReplayRange(cctx, 0, last.Seq, func(b []ingest.Sample, p charts.Position) error {
		for _, s := range b {
			got = append(got, s.Value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 {
		t.Fatalf("read %v; want the 20 values 0…19", got)
	}
	for i, v := range got {
		if v != float64(i) {
			t.Fatalf("read %v; want 0…19 in order", got)
		}
	}
}
