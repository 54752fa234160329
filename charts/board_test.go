package charts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
)

// recorder is a Publisher that keeps every tick and signals each one.
type recorder struct {
	mu      sync.Mutex
	pending map[string][]byte
	ticks   []map[string][]byte
	read    int // ticks consumed by nextTick
	tick    chan struct{}
}

func newRecorder() *recorder {
	return &recorder{pending: map[string][]byte{}, tick: make(chan struct{}, 1024)}
}

func (r *recorder) Publish(topic string, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[topic] = msg
}

func (r *recorder) Flush() {
	r.mu.Lock()
	r.ticks = append(r.ticks, r.pending)
	r.pending = map[string][]byte{}
	r.mu.Unlock()
	r.tick <- struct{}{}
}

// nextTick waits for the next tick, in order: each Flush signals once.
func (r *recorder) nextTick(t *testing.T) map[string][]byte {
	t.Helper()
	select {
	case <-r.tick:
	case <-time.After(5 * time.Second):
		t.Fatal("no tick within 5s")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tick := r.ticks[r.read]
	r.read++
	return tick
}

// next waits for the next tick that carries topic and decodes its frame.
func (r *recorder) next(t *testing.T, topic string) wireFrame {
	t.Helper()
	for range 1000 {
		if msg := r.nextTick(t)[topic]; msg != nil {
			var f wireFrame
			if err := json.Unmarshal(msg, &f); err != nil {
				t.Fatalf("frame is not JSON: %v: %s", err, msg)
			}
			return f
		}
	}
	t.Fatalf("no frame for %q in 1000 ticks", topic)
	return wireFrame{}
}

// until waits for a frame of topic for which ok is true.
func (r *recorder) until(t *testing.T, topic string, ok func(wireFrame) bool) wireFrame {
	t.Helper()
	for range 100 {
		if f := r.next(t, topic); ok(f) {
			return f
		}
	}
	t.Fatalf("no matching frame for %q in 100 frames", topic)
	return wireFrame{}
}

func hasCategories(f wireFrame) bool { return len(f.Categories) > 0 }

type wireFrame struct {
	Type       string   `json:"type"`
	Chart      string   `json:"chart"`
	Seq        uint64   `json:"seq"`
	Time       string   `json:"time"`
	Categories []string `json:"categories"`
	Series     []struct {
		Name string     `json:"name"`
		Data []*float64 `json:"data"`
	} `json:"series"`
}

func startBoard(t *testing.T, cfg charts.Config, ds ...charts.Dashboard) (*charts.Board, *recorder) {
	t.Helper()
	rec := newRecorder()
	b := charts.NewBoard(cfg, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := b.SetDashboards(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	return b, rec
}

var webDash = charts.Dashboard{ID: "web", Charts: []charts.Chart{
	{ID: "by-route", Type: charts.Stacked, Metric: "req", X: "route", Series: "status"},
	{ID: "push"},
}}

func TestBoardPublishesAcceptedSamples(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	if f := rec.next(t, "by-route"); len(f.Categories) != 0 {
		t.Fatalf("a new chart starts empty, got %v", f.Categories)
	}
	err := b.Accept(context.Background(), []ingest.Sample{
		sample("req", 1, 0, "route", "/a", "status", "200"),
		sample("req", 1, 0, "route", "/a", "status", "200"),
		sample("req", 1, 0, "route", "/b", "status", "500"),
	})
	if err != nil {
		t.Fatal(err)
	}
	f := rec.next(t, "by-route")
	if f.Type != "frame" || f.Chart != "by-route" || f.Seq < 2 {
		t.Errorf("frame header %+v", f)
	}
	if strings.Join(f.Categories, ",") != "/a,/b" || len(f.Series) != 2 {
		t.Fatalf("frame %+v", f)
	}
	if s := f.Series[0]; s.Name != "200" || *s.Data[0] != 2 || s.Data[1] != nil {
		t.Errorf("series 200: %s %v (want [2 null])", s.Name, s.Data)
	}

	got, err := b.Frame(context.Background(), "by-route")
	if err != nil || !strings.Contains(string(got), `"categories":["/a","/b"]`) {
		t.Errorf("Frame = %s, %v", got, err)
	}
	if _, err := b.Frame(context.Background(), "nope"); !errors.Is(err, charts.ErrNotFound) {
		t.Errorf("Frame of an unknown chart: %v", err)
	}
}

func TestBoardCoalescesWithinTheInterval(t *testing.T) {
	b, rec := startBoard(t, charts.Config{MaxFPS: 2}, webDash)
	rec.next(t, "by-route")
	// Wait out the interval so the next change is a leading edge.
	time.Sleep(600 * time.Millisecond)
	ctx := context.Background()
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", "/a")}); err != nil {
		t.Fatal(err)
	}
	first := rec.next(t, "by-route")
	for range 20 {
		if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", "/a")}); err != nil {
			t.Fatal(err)
		}
	}
	second := rec.next(t, "by-route")
	if second.Seq != first.Seq+1 {
		t.Errorf("20 changes inside one interval gave frames %d then %d: they must be coalesced into one", first.Seq, second.Seq)
	}
	if v := second.Series[0].Data[0]; v == nil || *v != 21 {
		t.Errorf("coalesced frame lost samples: %v", v)
	}
}

func TestBoardPushChart(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	ctx := context.Background()
	err := b.SetData(ctx, "push", []string{"q1", "q2"}, []charts.FrameSeries{{Name: "eu", Data: []float64{1, math.NaN()}}})
	if err != nil {
		t.Fatal(err)
	}
	f := rec.until(t, "push", hasCategories)
	if len(f.Categories) != 2 || f.Series[0].Data[1] != nil {
		t.Errorf("push frame %+v", f)
	}
	if err := b.SetData(ctx, "by-route", nil, nil); !errors.Is(err, charts.ErrNotPush) {
		t.Errorf("SetData on a metric chart: %v", err)
	}
	err = b.SetData(ctx, "push", []string{"q1"}, []charts.FrameSeries{{Name: "eu", Data: []float64{1, 2}}})
	if len(charts.FieldErrors(err)) != 1 {
		t.Errorf("mismatched lengths: %v", err)
	}
}

func TestBoardKeepsDataOfUnchangedChartsAcrossRedefinition(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	ctx := context.Background()
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 5, 0, "route", "/a")}); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "by-route", hasCategories)
	more := webDash
	more.Charts = append([]charts.Chart{{ID: "extra", Metric: "req", X: "route"}}, webDash.Charts...)
	if err := b.SetDashboards(ctx, []charts.Dashboard{more}); err != nil {
		t.Fatal(err)
	}
	got, _ := b.Frame(ctx, "by-route")
	if !strings.Contains(string(got), `"/a"`) {
		t.Errorf("unchanged chart lost its data: %s", got)
	}
	if _, ok := b.Chart("extra"); !ok {
		t.Error("new chart not in the catalog")
	}
}

func TestRedefinedChartKeepsRaisingSeq(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	ctx := context.Background()
	var before uint64
	for i := range 5 {
		if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		before = rec.until(t, "by-route", func(f wireFrame) bool { return len(f.Categories) == i+1 }).Seq
	}
	changed := webDash
	changed.Charts = slices.Clone(webDash.Charts)
	changed.Charts[0].Agg = charts.Max
	if err := b.SetDashboards(ctx, []charts.Dashboard{changed}); err != nil {
		t.Fatal(err)
	}
	after := rec.next(t, "by-route")
	if after.Seq <= before {
		t.Errorf("after the definition changed the frame has seq %d, not above %d: viewers would ignore it", after.Seq, before)
	}
}

func TestBoardAnnouncesDashboardVersions(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	topic := charts.DashboardTopic("web")
	announced := func() map[string]any {
		t.Helper()
		for range 1000 {
			if msg := rec.nextTick(t)[topic]; msg != nil {
				var a map[string]any
				if err := json.Unmarshal(msg, &a); err != nil {
					t.Fatal(err)
				}
				return a
			}
		}
		t.Fatal("no announcement in 1000 ticks")
		return nil
	}
	// SetDashboards already published the first version; it names the
	// definition the board normalized.
	d, _ := b.Dashboard("web")
	if first := announced(); first["version"] != d.Version() || first["type"] != "dashboard" || first["id"] != "web" {
		t.Errorf("first announcement %v, want version %s", first, d.Version())
	}

	changed := webDash
	changed.Title = "Renamed"
	if err := b.SetDashboards(context.Background(), []charts.Dashboard{changed}); err != nil {
		t.Fatal(err)
	}
	a := announced()
	d, _ = b.Dashboard("web")
	if a["version"] != d.Version() || a["version"] == nil {
		t.Errorf("after a change: %v, want version %s", a, d.Version())
	}
	if err := b.SetDashboards(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if a := announced(); a["deleted"] != true {
		t.Errorf("after deletion: %v", a)
	}
}

func TestBoardRefusesBadDefinitionsAndChangesNothing(t *testing.T) {
	b, _ := startBoard(t, charts.Config{}, webDash)
	bad := []charts.Dashboard{
		{ID: "a", Charts: []charts.Chart{{ID: "x", Metric: "m", X: "k", Agg: "median"}}},
		{ID: "b", Charts: []charts.Chart{{ID: "x", Metric: "m", X: "k"}}},
	}
	err := b.SetDashboards(context.Background(), bad)
	fields := []string{}
	for _, fe := range charts.FieldErrors(err) {
		fields = append(fields, fe.Field)
	}
	if strings.Join(fields, " ") != "dashboards[0].charts[0].agg dashboards[1].charts[0].id" {
		t.Errorf("errors name %v; err: %v", fields, err)
	}
	if _, ok := b.Dashboard("web"); !ok || len(b.Dashboards()) != 1 {
		t.Error("a refused definition changed the catalog")
	}
}

func TestBoardAppliesEveryAcceptedBatchBeforeStopping(t *testing.T) {
	rec := newRecorder()
	b := charts.NewBoard(charts.Config{MaxFPS: 1}, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	if err := b.SetDashboards(context.Background(), []charts.Dashboard{webDash}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := b.Accept(context.Background(), []ingest.Sample{sample("req", 1, 0, "route", "/a")}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
	if got := b.Stats().Applied; got != 100 {
		t.Errorf("applied %d of 100 accepted samples", got)
	}
	if err := b.Accept(context.Background(), []ingest.Sample{sample("req", 1, 0, "route", "/a")}); !errors.Is(err, charts.ErrClosed) {
		t.Errorf("Accept after stop: %v", err)
	}
	rec.mu.Lock()
	last := rec.ticks[len(rec.ticks)-1]["by-route"]
	rec.mu.Unlock()
	if !strings.Contains(string(last), `"data":[100]`) {
		t.Errorf("the last frame does not carry every sample: %s", last)
	}
}

func TestBoardCountsWhatItCannotShow(t *testing.T) {
	now := time.Now()
	dash := charts.Dashboard{ID: "d", Charts: []charts.Chart{{ID: "c", Metric: "m", X: "k", Window: charts.Duration(time.Minute)}}}
	b, rec := startBoard(t, charts.Config{Limits: charts.Limits{MaxCategories: 2}, Now: func() time.Time { return now }}, dash)
	rec.next(t, "c")
	old := ingest.Sample{Metric: "m", Field: "value", Value: 1, Time: now.Add(-time.Hour), Tags: []ingest.Tag{{Key: "k", Value: "a"}}}
	batch := []ingest.Sample{old, {Metric: "nobody-reads-this", Field: "value", Value: 1, Time: now}}
	for _, k := range []string{"a", "b", "c", "d"} {
		batch = append(batch, ingest.Sample{Metric: "m", Field: "value", Value: 1, Time: now, Tags: []ingest.Tag{{Key: "k", Value: k}}})
	}
	if err := b.Accept(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "c", hasCategories)
	got := b.Stats()
	if got.Outside != 1 || got.Unread != 1 || got.Folded != 2 {
		t.Errorf("outside %d, unread %d, folded %d; want 1, 1, 2", got.Outside, got.Unread, got.Folded)
	}
}

func TestBoardOverloadAnswersRetryAfter(t *testing.T) {
	// A board that is never run: its queue fills and stays full.
	b := charts.NewBoard(charts.Config{QueueLen: 1}, newRecorder())
	ctx := context.Background()
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0)}); err != nil {
		t.Fatal(err)
	}
	err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0)})
	var oe *ingest.OverloadError
	if !errors.As(err, &oe) || oe.RetryAfter <= 0 {
		t.Errorf("a full queue answered %v, want an OverloadError with RetryAfter", err)
	}
}

func TestFrameEncodingEscapesAndWritesNull(t *testing.T) {
	f := charts.Frame{Chart: "c", Seq: 7, Time: t0, Categories: []string{"</script><img src=x onerror=alert(1)>", "a\"b\\\n\u2028"},
		Series: []charts.FrameSeries{{Name: "&", Data: []float64{1.5, math.NaN()}}}}
	b := f.AppendJSON(nil)
	for _, bad := range []string{"<", ">", "&", "\u2028"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("encoding contains a raw %q: %s", bad, b)
		}
	}
	var back wireFrame
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if back.Categories[0] != f.Categories[0] || back.Categories[1] != f.Categories[1] || back.Series[0].Name != "&" {
		t.Errorf("round trip changed strings: %+v", back)
	}
	if *back.Series[0].Data[0] != 1.5 || back.Series[0].Data[1] != nil || back.Seq != 7 || back.Time != "2026-11-23T12:00:00Z" {
		t.Errorf("round trip: %s", b)
	}
}

func TestHorizontalOptionPutsTheFirstCategoryOnTop(t *testing.T) {
	def := charts.Chart{ID: "c", Metric: "m", X: "k", Horizontal: true, Sort: charts.SortValue}
	def.Normalize()
	b, err := charts.Option(def, charts.Frame{Categories: []string{"biggest", "smaller"}})
	if err != nil {
		t.Fatal(err)
	}
	var opt struct {
		XAxis []struct{ Type string }
		YAxis []struct {
			Type    string
			Inverse bool
			Data    []string
		}
	}
	if err := json.Unmarshal(b, &opt); err != nil {
		t.Fatal(err)
	}
	if opt.XAxis[0].Type != "value" || opt.YAxis[0].Type != "category" || !opt.YAxis[0].Inverse || opt.YAxis[0].Data[0] != "biggest" {
		t.Errorf("horizontal axes: %s", b)
	}
}

func TestOptionIsEscapedAndKeyed(t *testing.T) {
	def := charts.Chart{ID: "c", Title: "<script>alert(1)</script>", Type: charts.Stacked, Metric: "m", X: "k",
		Thresholds: []charts.Threshold{{Value: 5, Label: "limit"}}}
	def.Normalize()
	f := charts.Frame{Categories: []string{"<b>"}, Series: []charts.FrameSeries{{Name: "t", Data: []float64{1}}}}
	b, err := charts.Option(def, f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(b), "<>") {
		t.Errorf("option has raw angle brackets: %s", b)
	}
	var opt struct {
		Series []struct {
			ID, Stack string
		}
		XAxis []struct{ Data []string }
	}
	if err := json.Unmarshal(b, &opt); err != nil {
		t.Fatal(err)
	}
	if len(opt.Series) != 2 || opt.Series[0].ID != "s:t" || opt.Series[0].Stack != "total" || opt.Series[1].ID != "t" {
		t.Errorf("series %+v: a user series named t must not take the threshold id", opt.Series)
	}
	if len(opt.XAxis) != 1 || len(opt.XAxis[0].Data) != 1 || opt.XAxis[0].Data[0] != "<b>" {
		t.Errorf("categories missing from the x axis (go-echarts needs Validate before JSON): %+v", opt.XAxis)
	}
}

// A chart deleted and defined again (moved between dashboards, say) must
// still raise its seq above what open viewers hold.
func TestReaddedChartKeepsRaisingSeq(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	ctx := context.Background()
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", "/a")}); err != nil {
		t.Fatal(err)
	}
	before := rec.until(t, "by-route", hasCategories).Seq
	other := charts.Dashboard{ID: "other", Charts: []charts.Chart{{ID: "x", Metric: "m", X: "k"}}}
	if err := b.SetDashboards(ctx, []charts.Dashboard{other}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetDashboards(ctx, []charts.Dashboard{webDash}); err != nil {
		t.Fatal(err)
	}
	if after := rec.next(t, "by-route"); after.Seq <= before {
		t.Errorf("re-added chart: seq %d, not above %d", after.Seq, before)
	}
}

// Right after a definition changes, the option pairs the new definition
// with the new (empty) data, not the old chart's categories.
func TestOptionAfterRedefinitionHasNoOldData(t *testing.T) {
	b, rec := startBoard(t, charts.Config{MaxFPS: 0.5}, webDash)
	ctx := context.Background()
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", "/old")}); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "by-route", hasCategories)
	changed := webDash
	changed.Charts = slices.Clone(webDash.Charts)
	changed.Charts[0].Type = charts.Grouped
	if err := b.SetDashboards(ctx, []charts.Dashboard{changed}); err != nil {
		t.Fatal(err)
	}
	opt, err := b.Option(ctx, "by-route")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(opt), "/old") || strings.Contains(string(opt), `"stack":"total"`) {
		t.Errorf("the option mixes the new definition with the old chart: %s", opt)
	}
}

func TestRemovedChartIsRetracted(t *testing.T) {
	b, rec := startBoard(t, charts.Config{}, webDash)
	rec.next(t, "by-route")
	if err := b.SetDashboards(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		tick := rec.nextTick(t)
		if msg, ok := tick["by-route"]; ok {
			if msg != nil {
				t.Fatalf("after removal the chart's topic got %s, want a retraction (nil)", msg)
			}
			return
		}
	}
	t.Fatal("the removed chart's topic was never retracted")
}

// A read through Frame or Option sees every change applied before it, even
// inside the frame-rate interval (here a whole second), and viewers get
// that frame at the end of the interval.
func TestReadAfterWriteInsideTheFrameInterval(t *testing.T) {
	b, rec := startBoard(t, charts.Config{MaxFPS: 1}, webDash)
	ctx := context.Background()
	set := func(v float64) {
		t.Helper()
		if err := b.SetData(ctx, "push", []string{"q1"}, []charts.FrameSeries{{Name: "eu", Data: []float64{v}}}); err != nil {
			t.Fatal(err)
		}
	}
	set(1)
	rec.until(t, "push", hasCategories) // the leading edge: the next change waits a second
	set(2)
	msg, err := b.Frame(ctx, "push")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg), `"data":[2]`) {
		t.Fatalf("Frame right after the change: %s", msg)
	}
	if f := rec.next(t, "push"); f.Series[0].Data[0] == nil || *f.Series[0].Data[0] != 2 {
		t.Fatalf("viewers got %+v, want the same frame", f)
	}
	set(3)
	opt, err := b.Option(ctx, "push")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opt), `"data":[{"value":3}]`) {
		t.Fatalf("Option right after the change: %s", opt)
	}
}

// timedRecorder is a Publisher that keeps every frame published, with the
// time it was published.
type timedRecorder struct {
	mu   sync.Mutex
	pubs []timedFrame
}

type timedFrame struct {
	at    time.Time
	topic string
	msg   []byte
}

func (r *timedRecorder) Publish(topic string, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pubs = append(r.pubs, timedFrame{time.Now(), topic, msg})
}

func (r *timedRecorder) Flush() {}

// of returns the frames published on topic so far.
func (r *timedRecorder) of(topic string) []timedFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []timedFrame
	for _, p := range r.pubs {
		if p.topic == topic {
			out = append(out, p)
		}
	}
	return out
}

// Many reads of a chart that changes between them each see the newest
// data, yet viewers are sent its frames no faster than MaxFPS: a read
// builds the next frame but leaves its publishing to the next flush, which
// sends that very frame (same seq, same bytes) or a newer one.
func TestReadsDoNotPublishPastMaxFPS(t *testing.T) {
	t.Parallel()
	const fps = 2
	interval := time.Second / fps
	rec := &timedRecorder{}
	b := charts.NewBoard(charts.Config{MaxFPS: fps, Now: func() time.Time { return t0 }}, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := b.SetDashboards(ctx, []charts.Dashboard{webDash}); err != nil {
		t.Fatal(err)
	}

	read := map[uint64]string{} // seq → the frame a read got
	var last wireFrame
	const n = 100
	for i := 1; i <= n; i++ {
		if err := b.SetData(ctx, "push", []string{"q"}, []charts.FrameSeries{{Name: "eu", Data: []float64{float64(i)}}}); err != nil {
			t.Fatal(err)
		}
		var msg []byte
		if i%2 == 0 {
			var err error
			if msg, err = b.Frame(ctx, "push"); err != nil {
				t.Fatal(err)
			}
		} else {
			opt, err := b.Option(ctx, "push")
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`"data":[{"value":%d}]`, i); !strings.Contains(string(opt), want) {
				t.Fatalf("read %d: Option has not the newest data (%s): %s", i, want, opt)
			}
			if msg, err = b.Frame(ctx, "push"); err != nil { // the same frame, not a newer one
				t.Fatal(err)
			}
		}
		var f wireFrame
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatal(err)
		}
		if v := f.Series[0].Data[0]; v == nil || *v != float64(i) {
			t.Fatalf("read %d: Frame has %v, not the newest data: %s", i, v, msg)
		}
		if f.Seq <= last.Seq {
			t.Fatalf("read %d: seq %d after %d", i, f.Seq, last.Seq)
		}
		read[f.Seq], last = string(msg), f
	}

	// Viewers get the frame of the last read (or a newer one) at a flush.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pubs := rec.of("push")
		var f wireFrame
		if len(pubs) > 0 {
			if err := json.Unmarshal(pubs[len(pubs)-1].msg, &f); err != nil {
				t.Fatal(err)
			}
		}
		if f.Seq >= last.Seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("viewers never got seq %d; the last published is %d", last.Seq, f.Seq)
		}
		time.Sleep(10 * time.Millisecond)
	}

	pubs := rec.of("push")
	var prev wireFrame
	for i, p := range pubs {
		var f wireFrame
		if err := json.Unmarshal(p.msg, &f); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if gap := p.at.Sub(pubs[i-1].at); gap < interval {
				t.Fatalf("frames %d and %d went to viewers %v apart: faster than max_fps %d (%d frames published for %d reads)", prev.Seq, f.Seq, gap, fps, len(pubs), n)
			}
			if f.Seq <= prev.Seq {
				t.Errorf("published seq %d after %d", f.Seq, prev.Seq)
			}
		}
		if r, ok := read[f.Seq]; ok && r != string(p.msg) {
			t.Errorf("seq %d has two contents:\nread:      %s\npublished: %s", f.Seq, r, p.msg)
		}
		prev = f
	}
	t.Logf("%d reads, %d frames published", n, len(pubs))
}

// A chart removed and defined again goes on above the seq its viewers
// hold, even after many other charts came and went; and the board does
// not keep a number for every chart id it ever saw.
func TestSeqsOfRemovedChartsAreBounded(t *testing.T) {
	// Not parallel: it measures the heap.
	// Every change is flushed at once, so every chart gets a frame and a seq.
	b := charts.NewBoard(charts.Config{MaxFPS: 1e9}, discard{}) // a recorder would keep every frame
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	seq := func() uint64 {
		t.Helper()
		msg, err := b.Frame(ctx, "push")
		if err != nil {
			t.Fatal(err)
		}
		var f wireFrame
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatal(err)
		}
		return f.Seq
	}
	if err := b.SetDashboards(ctx, []charts.Dashboard{webDash}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.SetData(ctx, "push", []string{"q"}, []charts.FrameSeries{{Name: "eu", Data: []float64{float64(i)}}}); err != nil {
			t.Fatal(err)
		}
		seq()
	}
	old := seq()

	before := liveHeap()
	const rounds = 200
	for r := range rounds {
		d := charts.Dashboard{ID: "churn"}
		for i := range charts.MaxChartsPerDashboard {
			d.Charts = append(d.Charts, charts.Chart{ID: fmt.Sprintf("churn-%d-%d", r, i)})
		}
		if err := b.SetDashboards(ctx, []charts.Dashboard{d}); err != nil {
			t.Fatal(err)
		}
	}
	grew := int64(liveHeap()) - int64(before)
	t.Logf("%d chart ids came and went: the heap grew %.2f MB", rounds*charts.MaxChartsPerDashboard, float64(grew)/1e6)
	if grew > 500e3 {
		t.Errorf("%d chart ids that came and went left %.2f MB behind", rounds*charts.MaxChartsPerDashboard, float64(grew)/1e6)
	}

	if err := b.SetDashboards(ctx, []charts.Dashboard{webDash}); err != nil {
		t.Fatal(err)
	}
	if again := seq(); again <= old {
		t.Errorf("the chart defined again starts at seq %d, not above %d", again, old)
	}
}

// MaxFPS is per chart: a chart quiet for an interval goes out at once,
// even when another chart went out a moment ago. (The board once kept one
// interval for all its charts: on a server of many dashboards, each
// changing at its own moment, every update waited for the others'
// interval, 50 ms on average at the default 10 frames a second.)
func TestMaxFPSIsPerChart(t *testing.T) {
	t.Parallel()
	const interval = 2 * time.Second
	rec := &timedRecorder{}
	wall := &testClock{now: t0}
	b := charts.NewBoard(charts.Config{MaxFPS: float64(time.Second) / float64(interval), Now: func() time.Time { return t0 }, Wall: wall.Now}, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	two := charts.Dashboard{ID: "two", Charts: []charts.Chart{
		{ID: "a", Metric: "req", X: "route", Where: map[string]string{"dc": "a"}},
		{ID: "b", Metric: "req", X: "route", Where: map[string]string{"dc": "b"}},
	}}
	if err := b.SetDashboards(ctx, []charts.Dashboard{two}); err != nil {
		t.Fatal(err)
	}
	frame := func(topic string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(rec.of(topic)) < n {
			if time.Now().After(deadline) {
				t.Fatalf("chart %s: %d frames published, want %d within 10s", topic, len(rec.of(topic)), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	frame("a", 1) // the first frames of both, empty
	frame("b", 1)
	wall.Set(t0.Add(interval + 100*time.Millisecond)) // both quiet for an interval
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", "/x", "dc", "a")}); err != nil {
		t.Fatal(err)
	}
	frame("a", 2)
	if err := b.Accept(ctx, []ingest.Sample{sample("req", 1, 0, "route", "/x", "dc", "b")}); err != nil {
		t.Fatal(err)
	}
	// The wall clock stands still from here: b may go out now only if its
	// own interval counts, not a's, which has just begun. Once the board
	// has applied the batch and answered a request after it, whatever it
	// published for the batch is recorded.
	for b.Stats().Applied < 2 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.Frame(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.of("b")); n != 2 {
		t.Fatalf("chart b, quiet for an interval, has %d frames after its sample, want 2: it waits for chart a's interval", n)
	}
}
