package charts_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

func TestChartHash(t *testing.T) {
	t.Parallel()
	base := charts.Chart{ID: "c", Metric: "m", X: "k", Series: "s", Window: charts.Duration(time.Minute), Where: map[string]string{"a": "1", "b": "2"}}
	h := base.Hash()
	// The hash is part of every stored checkpoint: it must not change
	// between builds. Change this value only with the encoding.
	if want := "81e3b910f8e9ab4202cdca85048c8754"; h != want {
		t.Errorf("Hash() = %s, stored checkpoints hold %s", h, want)
	}
	same := map[string]func(c *charts.Chart){
		"normalized":  func(c *charts.Chart) { c.Normalize() },
		"title":       func(c *charts.Chart) { c.Title = "Requests" },
		"id":          func(c *charts.Chart) { c.ID = "other" },
		"type":        func(c *charts.Chart) { c.Type = charts.Percent },
		"horizontal":  func(c *charts.Chart) { c.Horizontal = true },
		"unit":        func(c *charts.Chart) { c.Unit = "ms" },
		"thresholds":  func(c *charts.Chart) { c.Thresholds = []charts.Threshold{{Value: 3}} },
		"where order": func(c *charts.Chart) { c.Where = map[string]string{"b": "2", "a": "1"} },
	}
	for name, change := range same {
		c := base
		change(&c)
		if c.Hash() != h {
			t.Errorf("%s changed the hash", name)
		}
	}
	if a, b := (charts.Chart{Metric: "m", X: "k"}).Hash(), (charts.Chart{Metric: "m", X: "k", Where: map[string]string{}}).Hash(); a != b {
		t.Errorf("no where and an empty where hash apart")
	}
	differ := map[string]func(c *charts.Chart){
		"metric":    func(c *charts.Chart) { c.Metric = "n" },
		"field":     func(c *charts.Chart) { c.Field = "f" },
		"where":     func(c *charts.Chart) { c.Where = map[string]string{"a": "1"} },
		"x":         func(c *charts.Chart) { c.X = "j" },
		"bucket":    func(c *charts.Chart) { c.X, c.Bucket = charts.TimeAxis, charts.Duration(time.Second) },
		"series":    func(c *charts.Chart) { c.Series = "t" },
		"agg":       func(c *charts.Chart) { c.Agg = charts.Max },
		"window":    func(c *charts.Chart) { c.Window = charts.Duration(2 * time.Minute) },
		"top":       func(c *charts.Chart) { c.Top = 5 },
		"sort":      func(c *charts.Chart) { c.Sort = charts.SortValue },
		"histogram": func(c *charts.Chart) { c.Histogram = charts.HistogramCumulative },
	}
	for name, change := range differ {
		c := base
		change(&c)
		if c.Hash() == h {
			t.Errorf("%s did not change the hash", name)
		}
	}
}

func testCheckpoint() *charts.Checkpoint {
	return &charts.Checkpoint{
		Version: charts.CheckpointVersion,
		At:      charts.Position{Seq: 4711, Time: t0},
		Charts: []charts.ChartState{
			{Chart: "b", Def: "0123", State: []byte{1, 2, 3}},
			{Chart: "a", Def: "4567", State: []byte{}},
		},
	}
}

func TestCheckpointEncoding(t *testing.T) {
	t.Parallel()
	b, err := testCheckpoint().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got charts.Checkpoint
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	want := testCheckpoint()
	want.Charts[0], want.Charts[1] = want.Charts[1], want.Charts[0] // sorted by id
	if !got.At.Time.Equal(want.At.Time) || got.At.Seq != want.At.Seq || got.Version != want.Version || !reflect.DeepEqual(got.Charts, want.Charts) {
		t.Fatalf("got %+v, want %+v", got, *want)
	}
	var zero charts.Checkpoint
	if err := zero.UnmarshalBinary(must(t, (&charts.Checkpoint{}).MarshalBinary)); err != nil || !zero.At.Time.IsZero() || zero.Charts == nil || len(zero.Charts) != 0 {
		t.Fatalf("an empty checkpoint came back as %+v, %v", zero, err)
	}

	corrupt := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	tests := map[string]struct {
		in   []byte
		is   error
		want string
	}{
		"another version": {corrupt(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 2); return b }), charts.ErrCheckpointVersion, "version 2; this build reads version 1"},
		"truncated":       {b[:len(b)-3], charts.ErrCheckpointTruncated, fmt.Sprintf("%d of its %d bytes", len(b)-3, len(b))},
		"header cut":      {b[:10], charts.ErrCheckpointTruncated, "shorter than the 16-byte header"},
		"empty":           {nil, charts.ErrCheckpointTruncated, "0 bytes"},
		"a flipped bit":   {corrupt(func(b []byte) []byte { b[20] ^= 4; return b }), charts.ErrCheckpointChecksum, "CRC-32C"},
		"bytes after":     {append(append([]byte(nil), b...), 0), charts.ErrCheckpointCorrupt, "1 bytes after its end"},
		"not one":         {[]byte("{\"json\": true, \"x\": 1}"), charts.ErrCheckpointCorrupt, "not a dashd checkpoint"},
	}
	for name, tc := range tests {
		got := *testCheckpoint()
		err := got.UnmarshalBinary(tc.in)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %v saying %q", name, err, tc.is, tc.want)
		}
		if !reflect.DeepEqual(got, *testCheckpoint()) {
			t.Errorf("%s: a refused checkpoint changed the value", name)
		}
	}
	if _, err := (&charts.Checkpoint{Version: 7}).MarshalBinary(); !errors.Is(err, charts.ErrCheckpointVersion) {
		t.Errorf("version 7 encoded: %v", err)
	}
}

func must(t *testing.T, f func() ([]byte, error)) []byte {
	t.Helper()
	b, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCheckpoint: any bytes decode to a checkpoint that encodes back to
// them, or to an error; never a panic.
func FuzzCheckpoint(f *testing.F) {
	b, err := testCheckpoint().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		var c charts.Checkpoint
		if c.UnmarshalBinary(in) != nil {
			return
		}
		out, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("a decoded checkpoint does not encode: %v", err)
		}
		var d charts.Checkpoint
		if err := d.UnmarshalBinary(out); err != nil || !reflect.DeepEqual(c, d) {
			t.Fatalf("re-encoded checkpoint: %v", err)
		}
	})
}

// memLog is a log in memory: the History of the board tests. Every batch
// has the position its index gives it.
type memLog struct {
	mu      sync.Mutex
	batches []logged
	calls   int
	gate    chan struct{} // if set, ReplayThrough waits for it to close
}

type logged struct {
	samples []ingest.Sample
	pos     charts.Position
}

func (l *memLog) ReplayThrough(ctx context.Context, since time.Time, through uint64, apply func([]ingest.Sample, charts.Position) error) error {
	l.mu.Lock()
	l.calls++
	batches := l.batches
	gate := l.gate
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, b := range batches {
		if b.pos.Seq > through {
			break
		}
		if b.pos.Time.Before(since) {
			continue
		}
		if err := apply(b.samples, b.pos); err != nil {
			return err
		}
	}
	return nil
}

func (l *memLog) replays() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// ckptLog makes n batches a second apart, each of up to 40 samples no
// newer than its log time (as the journal clamps them).
func ckptLog(n int) *memLog {
	rng := rand.New(rand.NewPCG(20, 14))
	l := &memLog{}
	for i := range n {
		at := t0.Add(time.Duration(i+1) * time.Second)
		batch := make([]ingest.Sample, 1+rng.IntN(40))
		for j := range batch {
			batch[j] = sample("req", float64(rng.IntN(9)+1), at.Sub(t0)-time.Duration(rng.Int64N(int64(50*time.Second))),
				"route", fmt.Sprintf("/r%d", rng.IntN(12)), "host", fmt.Sprintf("h%d", rng.IntN(5)), "status", []string{"200", "200", "404", "500"}[rng.IntN(4)])
		}
		l.batches = append(l.batches, logged{batch, charts.Position{Seq: uint64(100 + 3*i), Time: at}})
	}
	return l
}

var ckptDash = charts.Dashboard{ID: "d", Charts: []charts.Chart{
	{ID: "by-route", Type: charts.Stacked, Metric: "req", X: "route", Series: "status", Window: charts.Duration(time.Minute)},
	{ID: "by-host", Metric: "req", X: "host", Agg: charts.Avg},
	{ID: "over-time", Metric: "req", X: charts.TimeAxis, Bucket: charts.Duration(10 * time.Second), Window: charts.Duration(2 * time.Minute), Series: "status", Agg: charts.Count},
	{ID: "top", Metric: "req", X: "route", Top: 3, Sort: charts.SortValue, Agg: charts.Last, Window: charts.Duration(30 * time.Second)},
	{ID: "changed", Metric: "req", X: "host", Window: charts.Duration(time.Minute)},
	{ID: "retitled", Metric: "req", X: "route", Agg: charts.Max, Title: "before"},
	{ID: "push"},
}}

// ckptDashAfter is ckptDash as redefined before a restart: "changed" reads
// another window (its state cannot be restored), "retitled" only looks
// different (it can), "new" is new.
func ckptDashAfter() charts.Dashboard {
	d := ckptDash
	d.Charts = append([]charts.Chart(nil), ckptDash.Charts...)
	d.Charts[4].Window = charts.Duration(2 * time.Minute)
	d.Charts[5].Title, d.Charts[5].Unit = "after", "req"
	d.Charts = append(d.Charts, charts.Chart{ID: "new", Metric: "req", X: "status", Window: charts.Duration(time.Minute)})
	return d
}

// feed hands the board batches from..to-1 of l, each with the clock at its
// log time, and waits until each is applied.
func feed(t *testing.T, b *charts.Board, clock *testClock, l *memLog, from, to int) {
	t.Helper()
	for _, lb := range l.batches[from:to] {
		clock.Set(lb.pos.Time)
		want := b.Stats().Applied + uint64(len(lb.samples))
		if err := b.AcceptAt(context.Background(), lb.samples, lb.pos); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the batch applied", func() bool { return b.Stats().Applied >= want })
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// framesOf reads the current frame of every metric chart of d, seq set to
// 0: how many frames a board built depends on when it flushed, not on the
// log. (A push chart's data is not in the log.)
func framesOf(t *testing.T, b *charts.Board, d charts.Dashboard) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range d.Charts {
		if c.Metric == "" {
			continue
		}
		msg, err := b.Frame(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]any
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatal(err)
		}
		f["seq"] = 0
		norm, _ := json.Marshal(f)
		out[c.ID] = string(norm)
	}
	return out
}

func startCkptBoard(t *testing.T, cfg charts.Config, d charts.Dashboard) *charts.Board {
	t.Helper()
	b, _ := startBoard(t, cfg, d)
	return b
}

// A board started from a checkpoint taken after k batches and fed the
// rest shows the same frames as a board fed every batch: charts whose
// definition hashes as before are restored (the log is not read for
// them), a changed or new chart is filled from the log through the
// checkpoint's position.
func TestBoardStartsFromACheckpoint(t *testing.T) {
	t.Parallel()
	const n = 150
	l := ckptLog(n)
	for name, tc := range map[string]struct {
		after       charts.Dashboard
		k           int
		wantReplays int
		damage      string // the chart whose state is cut short
	}{
		"same definitions":        {ckptDash, 90, 0, ""},
		"changed and new":         {ckptDashAfter(), 90, 1, ""},
		"checkpoint at start":     {ckptDashAfter(), 0, 0, ""},
		"checkpoint at the end":   {ckptDashAfter(), n, 1, ""},
		"a state that is damaged": {ckptDash, 90, 1, "by-route"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The reference: every batch, the final definitions throughout.
			refClock := &testClock{now: t0}
			ref := startCkptBoard(t, charts.Config{Now: refClock.Now}, tc.after)
			feed(t, ref, refClock, l, 0, n)
			want := framesOf(t, ref, tc.after)

			// The board a checkpoint is taken of, after k batches.
			clock := &testClock{now: t0}
			before := startCkptBoard(t, charts.Config{Now: clock.Now}, ckptDash)
			feed(t, before, clock, l, 0, tc.k)
			cp, err := before.Checkpoint(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.k > 0 && cp.At != l.batches[tc.k-1].pos {
				t.Fatalf("checkpoint at %+v, the last batch applied is at %+v", cp.At, l.batches[tc.k-1].pos)
			}
			if len(cp.Charts) != len(ckptDash.Charts)-1 {
				t.Fatalf("%d charts in the checkpoint, want every metric chart (%d)", len(cp.Charts), len(ckptDash.Charts)-1)
			}
			enc, err := cp.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var start charts.Checkpoint
			if err := start.UnmarshalBinary(enc); err != nil {
				t.Fatal(err)
			}
			t.Logf("checkpoint after %d batches: %d charts, %d bytes", tc.k, len(cp.Charts), len(enc))
			for i, cs := range start.Charts {
				if cs.Chart == tc.damage {
					start.Charts[i].State = cs.State[:len(cs.State)-1]
				}
			}

			// The board started from it, with the final definitions.
			log := &memLog{batches: l.batches}
			after := startCkptBoard(t, charts.Config{Now: clock.Now, Start: &start, History: log}, tc.after)
			if tc.k > 0 && tc.wantReplays > 0 {
				// Wait till the charts not restored are in a checkpoint.
				waitFor(t, "the changed charts filled", func() bool {
					c, err := after.Checkpoint(context.Background())
					return err == nil && len(c.Charts) == len(tc.after.Charts)-1
				})
			}
			feed(t, after, clock, l, tc.k, n)
			if got := framesOf(t, after, tc.after); !reflect.DeepEqual(got, want) {
				for id := range want {
					if got[id] != want[id] {
						t.Errorf("chart %s:\n from the checkpoint %s\n from the whole log  %s", id, got[id], want[id])
					}
				}
			}
			if got := log.replays(); got != tc.wantReplays {
				t.Errorf("the log was read %d times, want %d (once for the changed and new charts alike)", got, tc.wantReplays)
			}
		})
	}
}

// A checkpoint holds no chart that is still being filled from the log:
// its state would lack what the fill had not applied yet.
func TestCheckpointLeavesOutChartsBeingFilled(t *testing.T) {
	t.Parallel()
	l := ckptLog(20)
	l.gate = make(chan struct{})
	clock := &testClock{now: t0}
	one := charts.Dashboard{ID: "d", Charts: ckptDash.Charts[:1]}
	b := startCkptBoard(t, charts.Config{Now: clock.Now, History: l}, one)
	feed(t, b, clock, l, 0, 20)
	two := charts.Dashboard{ID: "d", Charts: ckptDash.Charts[:2]}
	if err := b.SetDashboards(context.Background(), []charts.Dashboard{two}); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		cp, err := b.Checkpoint(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cp.Charts {
			out = append(out, c.Chart)
		}
		return out
	}
	if got := ids(); !reflect.DeepEqual(got, []string{"by-route"}) {
		t.Fatalf("while by-host is filled, the checkpoint holds %v", got)
	}
	close(l.gate)
	waitFor(t, "by-host in the checkpoint", func() bool { return len(ids()) == 2 })
}

// A board fed batches from outside the log cannot checkpoint; a log batch
// at or before the position applied is skipped and counted.
func TestCheckpointNeedsTheLog(t *testing.T) {
	t.Parallel()
	l := ckptLog(3)
	clock := &testClock{now: t0}
	b := startCkptBoard(t, charts.Config{Now: clock.Now}, ckptDash)
	feed(t, b, clock, l, 0, 2)
	if err := b.AcceptAt(context.Background(), l.batches[1].samples, l.batches[1].pos); err != nil {
		t.Fatal(err)
	}
	feed(t, b, clock, l, 2, 3)
	if got, want := b.Stats().Repeated, uint64(len(l.batches[1].samples)); got != want {
		t.Errorf("Repeated = %d, want %d", got, want)
	}
	if _, err := b.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := b.Stats().Applied + uint64(len(l.batches[0].samples))
	if err := b.Accept(context.Background(), l.batches[0].samples); err != nil {
		t.Fatal(err)
	}
	// Accept only queues the batch; the board may take the checkpoint's
	// request first.
	waitFor(t, "the batch applied", func() bool { return b.Stats().Applied >= want })
	if _, err := b.Checkpoint(context.Background()); !errors.Is(err, charts.ErrNotFromLog) {
		t.Fatalf("a board fed by Accept checkpointed: %v", err)
	}
}

// Checkpoints taken while batches stream in each hold exactly the batches
// up to their position: a view restored from one shows what a view fed
// those batches alone shows.
func TestCheckpointsUnderIngestHoldExactlyTheirPosition(t *testing.T) {
	t.Parallel()
	const n = 300
	l := ckptLog(n)
	now := t0.Add(n * time.Second)
	clock := func() time.Time { return now }
	d := charts.Dashboard{ID: "d", Charts: ckptDash.Charts[:4]}
	b := startCkptBoard(t, charts.Config{Now: clock, QueueLen: 8}, d)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, lb := range l.batches {
			for {
				err := b.AcceptAt(context.Background(), lb.samples, lb.pos)
				if err == nil {
					break
				}
				var over *ingest.OverloadError
				if !errors.As(err, &over) {
					t.Error(err)
					return
				}
			}
		}
	}()
	// One checkpoint of each position seen while the batches stream in.
	var cps []*charts.Checkpoint
	for streaming := true; streaming; {
		select {
		case <-done:
			streaming = false
		default:
		}
		cp, err := b.Checkpoint(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) == 0 || cps[len(cps)-1].At.Seq != cp.At.Seq {
			cps = append(cps, cp)
		}
	}
	if len(cps) < 3 {
		t.Logf("only %d positions checkpointed: the batches were applied faster than checkpoints were taken", len(cps))
	}
	for _, cp := range cps {
		for _, cs := range cp.Charts {
			var def charts.Chart
			for _, c := range d.Charts {
				if c.ID == cs.Chart {
					def = c
				}
			}
			def.Normalize()
			got, err := charts.RestoreView(def, charts.Limits{}, cs.State)
			if err != nil {
				t.Fatal(err)
			}
			want := charts.NewView(def, charts.Limits{})
			for _, lb := range l.batches {
				if lb.pos.Seq > cp.At.Seq {
					break
				}
				for i := range lb.samples {
					if want.Matches(&lb.samples[i]) {
						want.Add(&lb.samples[i], now)
					}
				}
			}
			g, w := got.Frame(now), want.Frame(now)
			g.Seq, w.Seq = 0, 0
			if gb, wb := frameBytes(g), frameBytes(w); string(gb) != string(wb) {
				t.Fatalf("checkpoint at %d, chart %s:\n restored %s\n want     %s", cp.At.Seq, cs.Chart, gb, wb)
			}
		}
	}
	t.Logf("checkpoints at %v", func() (seqs []uint64) {
		for _, cp := range cps {
			seqs = append(seqs, cp.At.Seq)
		}
		return seqs
	}())
}

// Stats.Filling counts the fills from History that run: a node started
// from a checkpoint is ready only once the charts that changed since are
// filled (cmd/dashd waits for Filling to reach 0).
func TestStatsCountTheFillsRunning(t *testing.T) {
	t.Parallel()
	l := ckptLog(20)
	clock := &testClock{now: t0}
	before := startCkptBoard(t, charts.Config{Now: clock.Now}, ckptDash)
	feed(t, before, clock, l, 0, 20)
	cp, err := before.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log := &memLog{batches: l.batches, gate: make(chan struct{})}
	after := startCkptBoard(t, charts.Config{Now: clock.Now, Start: cp, History: log}, ckptDashAfter())
	waitFor(t, "a fill begun", func() bool { return after.Stats().Filling == 1 })
	close(log.gate)
	waitFor(t, "the fill done", func() bool { return after.Stats().Filling == 0 })
	if got := after.Stats().Filled; got == 0 {
		t.Fatal("Filling went to 0 without a sample filled")
	}
}
