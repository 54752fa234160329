package charts_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/demo"
	"github.com/dashd/dashd/ingest"
)

// fullBoard is a board of 24 charts at about MaxChartCells each: 500
// categories × 50 series spread over the 20 slots of a 5-minute window
// (every chart reads every sample), 600,000 cells in all.
func fullBoard(b *testing.B) *charts.Board {
	now := t0
	aggs := []charts.Agg{charts.Sum, charts.Avg, charts.Max, charts.Last, charts.Count, charts.Rate}
	d := charts.Dashboard{ID: "full"}
	for i := range 24 {
		d.Charts = append(d.Charts, charts.Chart{ID: fmt.Sprintf("c%02d", i), Type: charts.Stacked, Metric: "m",
			X: "k", Series: "s", Agg: aggs[i%len(aggs)], Window: charts.Duration(5 * time.Minute)})
	}
	board := benchBoard(b, func() time.Time { return now }, d)
	var batch []ingest.Sample
	seq := uint64(0)
	for i := range charts.MaxChartCells {
		s := sample("m", float64(i%97), -time.Duration(i%20)*15*time.Second,
			"k", fmt.Sprintf("category-%03d", i%500), "s", fmt.Sprintf("series-%02d", i/500))
		batch = append(batch, s)
		if len(batch) == 5000 {
			seq++
			acceptAt(b, board, batch, charts.Position{Seq: seq, Time: now})
			batch = nil
		}
	}
	waitApplied(b, board, charts.MaxChartCells)
	return board
}

// demoBoard is the demo's dashboards after ten minutes of the demo's
// traffic (a batch every 150 ms at about 200 requests a second).
func demoBoard(b *testing.B) *charts.Board {
	clock := &testClock{now: t0}
	board := benchBoard(b, clock.Now, demo.Dashboards()...)
	g := demo.NewGenerator(nil, demo.GeneratorConfig{Seed: 1, Now: clock.Now})
	var samples int
	for i := range 4000 {
		now := t0.Add(time.Duration(i) * 150 * time.Millisecond)
		clock.Set(now)
		batch := g.Batch(now)
		samples += len(batch)
		acceptAt(b, board, batch, charts.Position{Seq: uint64(i + 1), Time: now})
		waitApplied(b, board, samples)
	}
	return board
}

func benchBoard(b *testing.B, now func() time.Time, ds ...charts.Dashboard) *charts.Board {
	board := charts.NewBoard(charts.Config{Now: now}, discard{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- board.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	if err := board.SetDashboards(context.Background(), ds); err != nil {
		b.Fatal(err)
	}
	return board
}

func acceptAt(b *testing.B, board *charts.Board, batch []ingest.Sample, pos charts.Position) {
	for {
		err := board.AcceptAt(context.Background(), batch, pos)
		if err == nil {
			return
		}
		if _, over := err.(*ingest.OverloadError); !over {
			b.Fatal(err)
		}
	}
}

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitApplied(b *testing.B, board *charts.Board, n int) {
	for board.Stats().Applied < uint64(n) {
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkCheckpoint measures a checkpoint of a board: "board" is the
// part that holds the board's goroutine (copying every view's cells and
// names: no batch is applied meanwhile), "whole" is Board.Checkpoint and
// MarshalBinary, as a caller pays it; bytes is the encoded size.
func BenchmarkCheckpoint(b *testing.B) {
	for name, make := range map[string]func(*testing.B) *charts.Board{
		"24-full-charts": fullBoard,
		"demo":           demoBoard,
	} {
		b.Run(name, func(b *testing.B) {
			board := make(b)
			ctx := context.Background()
			b.Run("board", func(b *testing.B) {
				b.ReportAllocs()
				var cells int
				cpu := processCPU()
				for b.Loop() {
					var err error
					if cells, err = charts.CopyStates(ctx, board); err != nil {
						b.Fatal(err)
					}
				}
				// The process's CPU time: on a shared machine the wall
				// time per op also counts the time the board waited for a
				// core. (The benchmark's own goroutine waits meanwhile.)
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(cells), "cells")
			})
			b.Run("whole", func(b *testing.B) {
				b.ReportAllocs()
				var size int
				for b.Loop() {
					cp, err := board.Checkpoint(ctx)
					if err != nil {
						b.Fatal(err)
					}
					enc, err := cp.MarshalBinary()
					if err != nil {
						b.Fatal(err)
					}
					size = len(enc)
				}
				b.ReportMetric(float64(size), "bytes")
			})
		})
	}
}

// BenchmarkRestore measures decoding a checkpoint and restoring every
// chart's view from it: what a start from a checkpoint costs before the
// board applies its first batch.
func BenchmarkRestore(b *testing.B) {
	for name, make := range map[string]func(*testing.B) *charts.Board{
		"24-full-charts": fullBoard,
		"demo":           demoBoard,
	} {
		b.Run(name, func(b *testing.B) {
			board := make(b)
			cp, err := board.Checkpoint(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			enc, err := cp.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			defs := map[string]charts.Chart{}
			for _, d := range board.Dashboards() {
				for _, c := range d.Charts {
					defs[c.ID] = c
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				var got charts.Checkpoint
				if err := got.UnmarshalBinary(enc); err != nil {
					b.Fatal(err)
				}
				for _, cs := range got.Charts {
					if _, err := charts.RestoreView(defs[cs.Chart], charts.Limits{}, cs.State); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(enc)), "bytes")
		})
	}
}
