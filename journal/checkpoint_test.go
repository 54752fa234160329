package journal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// acceptAt stores batch as one message and returns its position in the log.
func acceptAt(t testing.TB, j *journal.Journal, batch []ingest.Sample) charts.Position {
	t.Helper()
	accept(t, j, batch)
	_, last, err := j.Bounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// checkpoint is a checkpoint at pos whose one chart's state is state.
func checkpoint(pos charts.Position, state []byte) *charts.Checkpoint {
	return &charts.Checkpoint{At: pos, Charts: []charts.ChartState{{Chart: "c", Def: "0123456789abcdef", State: state}}}
}

// stateOf is the state of a checkpoint's one chart ("" for none).
func stateOf(cp *charts.Checkpoint) string {
	if cp == nil || len(cp.Charts) == 0 {
		return ""
	}
	return string(cp.Charts[0].State)
}

func one(metric string, v float64, at time.Time) []ingest.Sample {
	return []ingest.Sample{{Metric: metric, Field: "value", Value: v, Time: at}}
}

func TestCheckpointsPutListLoadPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, cfg := range map[string]journal.Config{"memory": {}, "file": {Dir: t.TempDir()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			j := open(t, cfg)
			if got, err := j.Checkpoints(ctx); err != nil || len(got) != 0 {
				t.Fatalf("Checkpoints of an empty bucket = %v, %v; want none", got, err)
			}
			var pos []charts.Position
			for i := range 3 {
				pos = append(pos, acceptAt(t, j, one("m", float64(i), time.Now())))
			}
			// Stored out of order; one is large (several chunks of the object store).
			data := map[uint64][]byte{
				pos[2].Seq: []byte("third"),
				pos[0].Seq: bytes.Repeat([]byte{0, 1, 2, 3, 255}, 100_000),
				pos[1].Seq: []byte("second"),
			}
			size := map[uint64]int64{}
			for _, i := range []int{2, 0, 1} {
				cp := checkpoint(pos[i], data[pos[i].Seq])
				if err := j.PutCheckpoint(ctx, cp); err != nil {
					t.Fatal(err)
				}
				b, _ := cp.MarshalBinary()
				size[pos[i].Seq] = int64(len(b))
			}
			infos, err := j.Checkpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != 3 {
				t.Fatalf("Checkpoints = %+v, want 3", infos)
			}
			for i, info := range infos {
				if info.At.Seq != pos[i].Seq || !info.At.Time.Equal(pos[i].Time) || info.Version != charts.CheckpointVersion || info.Size != size[pos[i].Seq] {
					t.Errorf("Checkpoints[%d] = %+v, want at %+v, version %d, size %d", i, info, pos[i], charts.CheckpointVersion, size[pos[i].Seq])
				}
			}
			for _, p := range pos {
				cp, err := j.LoadCheckpoint(ctx, p.Seq)
				if err != nil {
					t.Fatal(err)
				}
				if got := stateOf(cp); got != string(data[p.Seq]) || cp.At.Seq != p.Seq || !cp.At.Time.Equal(p.Time) {
					t.Errorf("LoadCheckpoint(%d) = %d bytes at %+v, want %d bytes at %+v", p.Seq, len(got), cp.At, len(data[p.Seq]), p)
				}
			}
			if _, err := j.LoadCheckpoint(ctx, pos[2].Seq+100); !errors.Is(err, journal.ErrNoCheckpoint) {
				t.Errorf("LoadCheckpoint of a missing one: %v, want ErrNoCheckpoint", err)
			}
			if err := j.PutCheckpoint(ctx, checkpoint(charts.Position{}, nil)); err == nil {
				t.Error("PutCheckpoint at seq 0 was taken")
			}

			// Older than keepAfter: gone.
			if n, err := j.PruneCheckpoints(ctx, pos[1].Time, 100); err != nil || n != 1 {
				t.Fatalf("PruneCheckpoints(keepAfter the second) = %d, %v; want 1 removed", n, err)
			}
			// Past keepNewest: gone, newest kept.
			if n, err := j.PruneCheckpoints(ctx, time.Time{}, 1); err != nil || n != 1 {
				t.Fatalf("PruneCheckpoints(keep 1) = %d, %v; want 1 removed", n, err)
			}
			infos, err = j.Checkpoints(ctx)
			if err != nil || len(infos) != 1 || infos[0].At.Seq != pos[2].Seq {
				t.Fatalf("after pruning: %+v, %v; want only seq %d", infos, err, pos[2].Seq)
			}
			if _, err := j.LoadCheckpoint(ctx, pos[0].Seq); !errors.Is(err, journal.ErrNoCheckpoint) {
				t.Errorf("a pruned checkpoint loads: %v", err)
			}
		})
	}
}

func TestCheckpointBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := open(t, journal.Config{})
	var pos []charts.Position
	for i := range 6 {
		pos = append(pos, acceptAt(t, j, one("m", float64(i), time.Now())))
	}
	for _, i := range []int{1, 3} {
		if err := j.PutCheckpoint(ctx, checkpoint(pos[i], []byte(fmt.Sprint("cp", i)))); err != nil {
			t.Fatal(err)
		}
	}
	// The newest is damaged: one byte changed after it was encoded.
	b, err := checkpoint(pos[5], []byte("cp5")).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-6] ^= 0x40
	if err := j.PutCheckpointBytes(ctx, pos[5], charts.CheckpointVersion, b); err != nil {
		t.Fatal(err)
	}
	if _, err := j.LoadCheckpoint(ctx, pos[5].Seq); !errors.Is(err, charts.ErrCheckpointChecksum) {
		t.Fatalf("LoadCheckpoint of a damaged one: %v, want ErrCheckpointChecksum", err)
	}
	tests := map[string]struct {
		seq  uint64
		want string // "" for none
	}{
		"at one":                 {seq: pos[3].Seq, want: "cp3"},
		"after one":              {seq: pos[4].Seq, want: "cp3"},
		"between":                {seq: pos[2].Seq, want: "cp1"},
		"at the oldest":          {seq: pos[1].Seq, want: "cp1"},
		"before every one":       {seq: pos[0].Seq, want: ""},
		"the newest is damaged":  {seq: pos[5].Seq, want: "cp3"},
		"far past the log's end": {seq: math.MaxUint64, want: "cp3"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cp, err := j.CheckpointBefore(ctx, tc.seq)
			if err != nil {
				t.Fatal(err)
			}
			if got := stateOf(cp); got != tc.want {
				t.Fatalf("CheckpointBefore(%d) = %q, want %q", tc.seq, got, tc.want)
			}
		})
	}
}

// A checkpoint whose position the log no longer holds (aged out, or a log
// made anew whose message at that seq is another) is never returned: the
// log after it would not be whole.
func TestCheckpointBeforeNeedsItsPositionRetained(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A log of at most 4 KiB: old messages go as new ones come.
	j := open(t, journal.Config{MaxBytes: 4 << 10})
	old := acceptAt(t, j, one("m", 1, time.Now()))
	if err := j.PutCheckpoint(ctx, checkpoint(old, []byte("old"))); err != nil {
		t.Fatal(err)
	}
	if cp, err := j.CheckpointBefore(ctx, old.Seq); err != nil || stateOf(cp) != "old" {
		t.Fatalf("while retained: %q, %v", stateOf(cp), err)
	}
	// The same seq with another time: not this log's message.
	other := charts.Position{Seq: old.Seq + 1}
	next := acceptAt(t, j, one("m", 2, time.Now()))
	other.Time = next.Time.Add(-time.Second)
	if err := j.PutCheckpoint(ctx, checkpoint(other, []byte("other log"))); err != nil {
		t.Fatal(err)
	}
	if cp, err := j.CheckpointBefore(ctx, next.Seq); err != nil || stateOf(cp) != "old" {
		t.Fatalf("a checkpoint of another log at seq %d: got %q, %v; want the older one", other.Seq, stateOf(cp), err)
	}
	for range 200 {
		accept(t, j, one("m", 3, time.Now()))
	}
	first, last, err := j.Bounds(ctx)
	if err != nil || first.Seq <= old.Seq {
		t.Fatalf("the log still holds seq %d (first %d, %v)", old.Seq, first.Seq, err)
	}
	if ok, err := j.Retains(ctx, old); ok || err != nil {
		t.Fatalf("Retains(%+v) = %v, %v after it aged out", old, ok, err)
	}
	cp, err := j.CheckpointBefore(ctx, last.Seq)
	if err != nil || cp != nil {
		t.Fatalf("CheckpointBefore = %+v, %v; want none (its position is gone)", cp, err)
	}
}

func TestBoundsAndPositionAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := open(t, journal.Config{})
	if first, last, err := j.Bounds(ctx); err != nil || first.Seq != 0 || last.Seq != 0 {
		t.Fatalf("Bounds of an empty log = %+v, %+v, %v", first, last, err)
	}
	if p, err := j.PositionAt(ctx, time.Now()); err != nil || p.Seq != 0 {
		t.Fatalf("PositionAt in an empty log = %+v, %v", p, err)
	}
	var pos []charts.Position
	for i := range 6 {
		p := acceptAt(t, j, one("m", float64(i), time.Now()))
		if len(pos) > 0 && !p.Time.After(pos[len(pos)-1].Time) {
			// Stored in the same nanosecond: the test needs distinct times.
			time.Sleep(time.Microsecond)
			p = acceptAt(t, j, one("m", float64(i), time.Now()))
		}
		pos = append(pos, p)
	}
	first, last, err := j.Bounds(ctx)
	if err != nil || first.Seq != pos[0].Seq || !first.Time.Equal(pos[0].Time) || last.Seq != pos[5].Seq || !last.Time.Equal(pos[5].Time) {
		t.Fatalf("Bounds = %+v, %+v, %v; want %+v, %+v", first, last, err, pos[0], pos[5])
	}
	tests := map[string]struct {
		at   time.Time
		want charts.Position
	}{
		"before the first": {pos[0].Time.Add(-time.Nanosecond), charts.Position{}},
		"long before":      {pos[0].Time.Add(-time.Hour), charts.Position{}},
		"at the first":     {pos[0].Time, pos[0]},
		"at one":           {pos[3].Time, pos[3]},
		"just after one":   {pos[3].Time.Add(time.Nanosecond), pos[3]},
		"between":          {pos[3].Time.Add(pos[4].Time.Sub(pos[3].Time) / 2), pos[3]},
		"just before one":  {pos[4].Time.Add(-time.Nanosecond), pos[3]},
		"at the last":      {pos[5].Time, pos[5]},
		"after the last":   {pos[5].Time.Add(time.Hour), pos[5]},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := j.PositionAt(ctx, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got.Seq != tc.want.Seq || !got.Time.Equal(tc.want.Time) {
				t.Fatalf("PositionAt(%s) = %+v, want %+v", tc.at.Format(time.RFC3339Nano), got, tc.want)
			}
		})
	}
}

func TestReplayRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := open(t, journal.Config{})
	var pos []charts.Position
	for i := range 5 {
		pos = append(pos, acceptAt(t, j, one("m", float64(i), time.Now().Add(-time.Minute))))
	}
	tests := map[string]struct {
		after, through uint64
		want           []float64
		last           charts.Position
	}{
		"the middle":      {pos[1].Seq, pos[3].Seq, []float64{2, 3}, pos[3]},
		"all":             {0, pos[4].Seq, []float64{0, 1, 2, 3, 4}, pos[4]},
		"one":             {pos[0].Seq, pos[1].Seq, []float64{1}, pos[1]},
		"none (equal)":    {pos[2].Seq, pos[2].Seq, nil, charts.Position{}},
		"none (backward)": {pos[3].Seq, pos[1].Seq, nil, charts.Position{}},
		"past the end":    {pos[3].Seq, pos[4].Seq + 100, []float64{4}, pos[4]},
		"after the end":   {pos[4].Seq, pos[4].Seq + 100, nil, charts.Position{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []float64
			var last charts.Position
			err := j.ReplayRange(ctx, tc.after, tc.through, func(b []ingest.Sample, p charts.Position) error {
				for _, s := range b {
					got = append(got, s.Value)
				}
				if p.Seq <= last.Seq {
					t.Errorf("positions do not rise: %+v after %+v", p, last)
				}
				last = p
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || last.Seq != tc.last.Seq || !last.Time.Equal(tc.last.Time) {
				t.Fatalf("ReplayRange(%d, %d) = %v ending at %+v, want %v ending at %+v", tc.after, tc.through, got, last, tc.want, tc.last)
			}
		})
	}
	// An error of apply ends it with that error.
	stop := errors.New("stop")
	if err := j.ReplayRange(ctx, 0, pos[4].Seq, func([]ingest.Sample, charts.Position) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("ReplayRange kept going past apply's error: %v", err)
	}
}

// positioned is a PositionedSink that keeps what it is given.
type positioned struct {
	collector
	pos []charts.Position
}

func (p *positioned) AcceptAt(ctx context.Context, batch []ingest.Sample, pos charts.Position) error {
	if err := p.collector.Accept(ctx, batch); err != nil {
		return err
	}
	p.mu.Lock()
	p.pos = append(p.pos, pos)
	p.mu.Unlock()
	return nil
}

// The determinism rule: a sample's time is never after the log's timestamp
// of its message (a sample without a time gets that timestamp), in Follow
// and in every replay, so that what a chart shows depends on the log
// alone and not on the reader's clock.
func TestTimesAreClampedToTheLog(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := open(t, journal.Config{})
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	batch := []ingest.Sample{
		{Metric: "m", Field: "value", Value: 1, Time: past},                      // kept
		{Metric: "m", Field: "value", Value: 2, Time: time.Now().Add(time.Hour)}, // the future: clamped
		{Metric: "m", Field: "value", Value: 3},                                  // no time: the message's
	}
	at := acceptAt(t, j, batch)
	want := []time.Time{past, at.Time, at.Time}
	check := func(how string, got []ingest.Sample) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d samples, want %d", how, len(got), len(want))
		}
		for i := range want {
			if !got[i].Time.Equal(want[i]) {
				t.Errorf("%s: sample %d has time %s, want %s", how, i, got[i].Time.Format(time.RFC3339Nano), want[i].Format(time.RFC3339Nano))
			}
		}
	}

	var sink positioned
	followCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- j.Follow(followCtx, &sink, journal.FollowConfig{CaughtUp: func(journal.ReplayResult) { stop() }})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	check("Follow", sink.all())
	if len(sink.pos) != 1 || sink.pos[0].Seq != at.Seq || !sink.pos[0].Time.Equal(at.Time) {
		t.Errorf("Follow gave positions %+v, want [%+v]", sink.pos, at)
	}

	var replayed []ingest.Sample
	if err := j.ReplayRange(ctx, 0, at.Seq, func(b []ingest.Sample, _ charts.Position) error {
		replayed = append(replayed, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check("ReplayRange", replayed)

	replayed = nil
	if err := j.ReplayThrough(ctx, time.Time{}, at.Seq, func(b []ingest.Sample, _ charts.Position) error {
		replayed = append(replayed, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check("ReplayThrough", replayed)
}

// FollowConfig.After starts after a checkpoint's position: nothing at or
// before it is delivered, everything after it is, and a follower with
// nothing after it is caught up at once.
func TestFollowAfter(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := open(t, journal.Config{})
	var pos []charts.Position
	for i := range 4 {
		pos = append(pos, acceptAt(t, j, one("m", float64(i), time.Now())))
	}
	for name, tc := range map[string]struct {
		after uint64
		want  string
	}{
		"in the middle": {pos[1].Seq, "[2 3]"},
		"at the end":    {pos[3].Seq, "[]"},
	} {
		t.Run(name, func(t *testing.T) {
			var sink positioned
			followCtx, stop := context.WithCancel(ctx)
			var res journal.ReplayResult
			err := j.FollowSupervised(followCtx, &sink, journal.FollowConfig{
				After: tc.after, Since: time.Now().Add(time.Hour), // After wins over Since
				CaughtUp: func(r journal.ReplayResult) { res = r; stop() },
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			for _, s := range sink.all() {
				got = append(got, s.Value)
			}
			if fmt.Sprint(got) != tc.want && !(tc.want == "[]" && got == nil) {
				t.Fatalf("Follow after seq %d delivered %v, want %s", tc.after, got, tc.want)
			}
			if res.Samples != uint64(len(got)) {
				t.Errorf("CaughtUp reported %d samples, delivered %d", res.Samples, len(got))
			}
		})
	}
}
