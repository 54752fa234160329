package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dashd/dashd/catalog"
	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/journal"
)

// discard is a Publisher that keeps nothing.
type discard struct{}

func (discard) Publish(string, []byte) {}
func (discard) Flush()                 {}

// start runs a board that follows an in-memory journal's definitions and
// push data, as cmd/dashd wires them.
func start(t *testing.T, provisioned ...charts.Dashboard) (*catalog.Definitions, *catalog.PushData, *charts.Board) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := journal.Open(ctx, journal.Config{})
	if err != nil {
		t.Fatal(err)
	}
	board := charts.NewBoard(charts.Config{}, discard{})
	boardDone := make(chan error, 1)
	go func() { boardDone <- board.Run(ctx) }()
	push := catalog.NewPushData(store, board, nil)
	defs := catalog.NewDefinitions(store, board, nil, push.Reapply)
	if _, err := defs.Provision(ctx, provisioned, false); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 2)
	watchDone := make(chan struct{}, 2)
	go func() {
		defer func() { watchDone <- struct{}{} }()
		defs.Watch(ctx, func([]charts.Dashboard) { ready <- struct{}{} })
	}()
	go func() {
		defer func() { watchDone <- struct{}{} }()
		push.Watch(ctx, func() { ready <- struct{}{} })
	}()
	<-ready
	<-ready
	t.Cleanup(func() {
		cancel()
		<-watchDone
		<-watchDone
		<-boardDone
		store.Close()
	})
	return defs, push, board
}

func TestAWriteReturnsOnceTheBoardShowsIt(t *testing.T) {
	t.Parallel()
	file := charts.Dashboard{ID: "file", Charts: []charts.Chart{{ID: "f1", Metric: "m", X: "k"}}}
	defs, push, board := start(t, file)
	ctx := context.Background()

	created, err := defs.Put(ctx, charts.Dashboard{ID: "api", Charts: []charts.Chart{{ID: "a1", Metric: "m", X: "k"}, {ID: "p1"}}})
	if err != nil || !created {
		t.Fatalf("Put: created %v, %v", created, err)
	}
	if _, ok := board.Chart("a1"); !ok {
		t.Fatal("Put returned before the board showed the dashboard")
	}
	if created, err := defs.Put(ctx, charts.Dashboard{ID: "api", Title: "Again", Charts: []charts.Chart{{ID: "a1", Metric: "m", X: "k"}, {ID: "p1"}}}); err != nil || created {
		t.Fatalf("a second Put: created %v, %v", created, err)
	}
	if d, _ := board.Dashboard("api"); d.Title != "Again" {
		t.Fatalf("the board shows %q after the second Put", d.Title)
	}

	one := 1.0
	if err := push.Put(ctx, "p1", journal.PushData{Categories: []string{"x"}, Series: []journal.PushSeries{{Name: "s", Data: []*float64{&one}}}}); err != nil {
		t.Fatal(err)
	}
	frame, err := board.Frame(ctx, "p1")
	if err != nil || !strings.Contains(string(frame), `"categories":["x"]`) {
		t.Fatalf("push data: the board's frame right after Put is %s (%v)", frame, err)
	}

	if err := defs.Delete(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if _, ok := board.Dashboard("api"); ok {
		t.Fatal("Delete returned before the board dropped the dashboard")
	}
	if err := defs.Delete(ctx, "api"); !errors.Is(err, charts.ErrNotFound) {
		t.Fatalf("deleting it again: %v, want not found", err)
	}
}

func TestRefusedWritesStoreNothing(t *testing.T) {
	t.Parallel()
	file := charts.Dashboard{ID: "file", Charts: []charts.Chart{{ID: "f1", Metric: "m", X: "k"}, {ID: "p1"}}}
	defs, push, board := start(t, file)
	ctx := context.Background()

	var prov *catalog.ProvisionedError
	if _, err := defs.Put(ctx, charts.Dashboard{ID: "file", Charts: []charts.Chart{{ID: "f2", Metric: "m", X: "k"}}}); !errors.As(err, &prov) {
		t.Fatalf("a write to a provisioned dashboard: %v, want a ProvisionedError", err)
	}
	if err := defs.Delete(ctx, "file"); !errors.As(err, &prov) {
		t.Fatalf("deleting a provisioned dashboard: %v", err)
	}
	if _, err := defs.Put(ctx, charts.Dashboard{ID: "clash", Charts: []charts.Chart{{ID: "f1", Metric: "m", X: "k"}}}); len(charts.FieldErrors(err)) == 0 {
		t.Fatalf("a chart id of another dashboard: %v, want a field error", err)
	}
	many := make([]charts.Chart, charts.MaxChartsPerDashboard+1)
	for i := range many {
		many[i] = charts.Chart{ID: fmt.Sprintf("c%d", i), Metric: "m", X: "k"}
	}
	if _, err := defs.Put(ctx, charts.Dashboard{ID: "big", Charts: many}); len(charts.FieldErrors(err)) == 0 {
		t.Fatalf("%d charts in one dashboard: %v, want a field error", len(many), err)
	}
	if _, ok := board.Dashboard("big"); ok {
		t.Fatal("a refused dashboard is on the board")
	}

	cats := make([]string, charts.MaxChartCells+1)
	data := make([]*float64, len(cats))
	for i := range cats {
		cats[i] = fmt.Sprintf("q%d", i)
	}
	err := push.Put(ctx, "p1", journal.PushData{Categories: cats, Series: []journal.PushSeries{{Name: "s", Data: data}}})
	if len(charts.FieldErrors(err)) == 0 {
		t.Fatalf("push data over the cell limit: %v, want a field error", err)
	}
	if err := push.Put(ctx, "f1", journal.PushData{}); !errors.Is(err, charts.ErrNotPush) {
		t.Fatalf("push data on a metric chart: %v", err)
	}
}
