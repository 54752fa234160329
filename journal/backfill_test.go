package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// frameData is a frame without its chart id and seq, to compare two charts.
func frameData(t *testing.T, b *charts.Board, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := b.Frame(ctx, id)
	if err != nil {
		t.Fatalf("Frame(%s): %v", id, err)
	}
	var f struct {
		Categories []string          `json:"categories"`
		Series     []json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(msg, &f); err != nil {
		t.Fatalf("frame of %s: %v", id, err)
	}
	return fmt.Sprintf("%v %s", f.Categories, f.Series)
}

// A chart defined while samples stream in is filled from the log up to the
// last batch the board had applied, and from the live batches after it: it
// ends exactly like an identical chart that was there from the start — no
// sample missed at the cut, none counted twice.
func TestChartDefinedWhileRunningIsFilledFromTheLog(t *testing.T) {
	j := open(t, journal.Config{})
	board := charts.NewBoard(charts.Config{History: j}, discard{}) // frames are read back with Board.Frame
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	boardDone := make(chan error, 1)
	go func() { boardDone <- board.Run(ctx) }()
	defer func() { cancel(); <-boardDone }()

	chart := func(id string) charts.Chart {
		return charts.Chart{ID: id, Metric: "req", X: "route", Series: "status", Agg: charts.Sum, Window: charts.Duration(time.Hour)}
	}
	dash := func(cs ...charts.Chart) []charts.Dashboard { return []charts.Dashboard{{ID: "d", Charts: cs}} }
	if err := board.SetDashboards(ctx, dash(chart("from-start"))); err != nil {
		t.Fatal(err)
	}
	go j.Follow(ctx, board, journal.FollowConfig{})

	const batches, perBatch = 400, 25
	batch := func(n int) []ingest.Sample {
		out := make([]ingest.Sample, perBatch)
		for i := range out {
			out[i] = ingest.Sample{Metric: "req", Field: "value", Value: float64(n%7 + i),
				Tags: []ingest.Tag{tag("route", fmt.Sprintf("/r%d", i%5)), tag("status", fmt.Sprint(200+n%3))}, Time: time.Now()}
		}
		return out
	}
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for n := range batches {
			if err := j.Accept(ctx, batch(n)); err != nil {
				t.Errorf("Accept: %v", err)
				return
			}
		}
	}()
	// Define the twin once the board has applied a good part of the log,
	// while the rest is still coming.
	deadline := time.Now().Add(20 * time.Second)
	for board.Stats().Applied < batches*perBatch/4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := board.SetDashboards(ctx, dash(chart("from-start"), chart("late"))); err != nil {
		t.Fatal(err)
	}
	<-pushed
	for board.Stats().Applied < batches*perBatch && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := board.Stats().Applied; got != batches*perBatch {
		t.Fatalf("the board applied %d samples, want %d", got, batches*perBatch)
	}
	var want, got string
	for time.Now().Before(deadline) {
		want, got = frameData(t, board, "from-start"), frameData(t, board, "late")
		if want == got {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if want != got {
		t.Fatalf("the chart defined while running shows\n%s\nthe same chart there from the start shows\n%s", got, want)
	}
	filled := board.Stats().Filled
	if filled == 0 || filled >= batches*perBatch {
		t.Fatalf("%d samples were filled from the log, want some but not all %d (the rest came live)", filled, batches*perBatch)
	}
}

// ReplayThrough stops at the sequence it is given and reads from since on.
func TestReplayThrough(t *testing.T) {
	j := open(t, journal.Config{})
	for i := range 5 {
		accept(t, j, []ingest.Sample{{Metric: "m", Field: "value", Value: float64(i), Time: time.Now()}})
	}
	read := func(since time.Time, through uint64) []float64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var got []float64
		err := j.ReplayThrough(ctx, since, through, func(b []ingest.Sample, _ charts.Position) error {
			for _, s := range b {
				got = append(got, s.Value)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ReplayThrough(%d): %v", through, err)
		}
		return got
	}
	for _, tc := range []struct {
		since   time.Time
		through uint64
		want    []float64
	}{
		{time.Time{}, 0, nil},
		{time.Time{}, 1, []float64{0}},
		{time.Time{}, 3, []float64{0, 1, 2}},
		{time.Time{}, 5, []float64{0, 1, 2, 3, 4}},
		{time.Time{}, 99, []float64{0, 1, 2, 3, 4}},
		{time.Now().Add(time.Hour), 5, nil},
	} {
		if got := read(tc.since, tc.through); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("since %v through %d: got %v, want %v", tc.since, tc.through, got, tc.want)
		}
	}
}
