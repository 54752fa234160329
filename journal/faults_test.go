package journal_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// freePort is a loopback port nobody listens on now, so that a NATS
// server can be stopped and a new one started at the same address.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// natsAt runs a nats-server with JetStream on 127.0.0.1:port, its store
// in dir: an external NATS that a test may stop and start again.
func natsAt(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatalf("nats-server on port %d did not start", port)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// post pushes one JSON sample of metric "faults" with tag req=name and
// returns the status, the Retry-After header and how long the answer took.
func post(t *testing.T, url, name string) (int, string, time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	body := fmt.Sprintf(`{"samples":[{"metric":"faults","tags":{"req":%q},"value":1},{"metric":"faults","tags":{"req":%q},"value":2}]}`, name, name)
	start := time.Now()
	resp, err := client.Post(url+"/api/v1/ingest", "application/json", strings.NewReader(body))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("push %s: no answer after %s: %v", name, took, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), took
}

// With an external NATS stopped, ingest answers 503 with Retry-After at
// once, and what it refused is not stored when NATS comes back (nats.go
// buffered it and sent it after the reconnect), while what was accepted
// before and after is stored exactly once.
func TestIngestWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	port, dir := freePort(t), t.TempDir()
	ns := natsAt(t, port, dir)
	j := open(t, journal.Config{URL: ns.ClientURL()})
	srv := httptest.NewServer(ingest.JSONHandler(j, ingest.HandlerConfig{}))
	defer srv.Close()

	if code, _, _ := post(t, srv.URL, "before"); code != http.StatusOK {
		t.Fatalf("push with NATS up: %d, want 200", code)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	// At once, maybe before the client noticed, and once it has.
	for _, name := range []string{"down-at-once", "down-noticed"} {
		if name == "down-noticed" {
			for deadline := time.Now().Add(5 * time.Second); j.Connected() && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
		}
		code, retry, took := post(t, srv.URL, name)
		t.Logf("%s: %d Retry-After %q in %s", name, code, retry, took)
		if code != http.StatusServiceUnavailable || retry == "" {
			t.Fatalf("push %s with NATS down: %d, Retry-After %q; want 503 with Retry-After", name, code, retry)
		}
		if took > 5*time.Second {
			t.Fatalf("push %s with NATS down took %s to be refused", name, took)
		}
	}

	natsAt(t, port, dir)
	for deadline := time.Now().Add(20 * time.Second); !j.Connected(); {
		if time.Now().After(deadline) {
			t.Fatal("the journal did not reconnect to the new nats-server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// JetStream may need a moment to recover its stream: a 503 until then
	// stores nothing, so pushing again is safe.
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, _, _ := post(t, srv.URL, "after")
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("push after NATS came back: %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let anything nats.go might still hold reach the stream.
	time.Sleep(500 * time.Millisecond)

	var got []string
	for _, s := range replayAll(t, j) {
		got = append(got, s.Tags[0].Value)
	}
	if want := "[before before after after]"; fmt.Sprint(got) != want {
		t.Fatalf("the log holds the samples of %v, want %s (refused requests must store nothing)", got, want)
	}
}

// faultySink takes batches as a board does, except that the calls whose
// numbers are in fail are answered with an error that is not an overload,
// and takes nothing of them.
type faultySink struct {
	mu      sync.Mutex
	calls   int
	fail    map[int]bool
	values  []float64
	through []uint64
}

func (s *faultySink) Accept(ctx context.Context, batch []ingest.Sample) error {
	return s.AcceptAt(ctx, batch, charts.Position{})
}

func (s *faultySink) AcceptAt(_ context.Context, batch []ingest.Sample, pos charts.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail[s.calls] {
		return fmt.Errorf("injected failure of call %d", s.calls)
	}
	for _, x := range batch {
		s.values = append(s.values, x.Value)
	}
	s.through = append(s.through, pos.Seq)
	return nil
}

func (s *faultySink) snapshot() ([]float64, []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]float64(nil), s.values...), append([]uint64(nil), s.through...)
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A supervised follower that fails (here: its sink refuses a batch, once
// during the replay and once live) starts again after the last batch the
// sink took: every stored sample reaches the sink exactly once, in order,
// the batches after the failure too, and the restarts are counted.
func TestFollowSupervisedRestarts(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	j := open(t, journal.Config{Registerer: reg})
	push := func(v float64) {
		accept(t, j, []ingest.Sample{{Metric: "m", Field: "value", Value: v, Time: time.Now()}, {Metric: "m", Field: "value", Value: v + 0.5, Time: time.Now()}})
	}
	for v := range 5 {
		push(float64(v))
	}

	// Call 1 is the replay of the five stored messages; call 3 a live one.
	sink := &faultySink{fail: map[int]bool{1: true, 3: true}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caughtUp := make(chan struct{}, 8)
	done := make(chan error, 1)
	go func() {
		done <- j.FollowSupervised(ctx, sink, journal.FollowConfig{RestartBackoff: time.Millisecond, CaughtUp: func(journal.ReplayResult) {
			caughtUp <- struct{}{}
		}})
	}()
	select {
	case <-caughtUp:
	case <-time.After(20 * time.Second):
		t.Fatal("the follower never caught up")
	}
	for v := 5; v < 10; v++ {
		push(float64(v))
	}

	var want []float64
	for v := range 10 {
		want = append(want, float64(v), float64(v)+0.5)
	}
	var got []float64
	var throughs []uint64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, throughs = sink.snapshot()
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // anything delivered twice would come now
	got, throughs = sink.snapshot()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the sink got %v, want %v (each stored sample once, in order)", got, want)
	}
	for i := 1; i < len(throughs); i++ {
		if throughs[i] <= throughs[i-1] {
			t.Fatalf("positions %v do not rise", throughs)
		}
	}
	if n := counter(t, reg, "dashd_journal_follow_restarts_total"); n != 2 {
		t.Fatalf("dashd_journal_follow_restarts_total = %v, want 2", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("FollowSupervised after ctx ended: %v", err)
	}
	if n := len(caughtUp); n != 0 {
		t.Fatalf("CaughtUp called %d more times, want once", n)
	}
}

// A board that has stopped takes nothing more: the supervisor gives up.
func TestFollowSupervisedStopsOnClosedSink(t *testing.T) {
	t.Parallel()
	j := open(t, journal.Config{})
	accept(t, j, tricky(time.Now()))
	sink := sinkFunc(func(context.Context, []ingest.Sample) error { return charts.ErrClosed })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := j.FollowSupervised(ctx, sink, journal.FollowConfig{RestartBackoff: time.Millisecond}); !errors.Is(err, charts.ErrClosed) {
		t.Fatalf("FollowSupervised with a closed board = %v, want charts.ErrClosed", err)
	}
}

type sinkFunc func(context.Context, []ingest.Sample) error

func (f sinkFunc) Accept(ctx context.Context, b []ingest.Sample) error { return f(ctx, b) }

// watchRevocations runs WatchRevocations until the test ends and returns
// the channel of the jtis it reports; "" marks ready.
func watchRevocations(t *testing.T, j *journal.Journal) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan string, 64)
	done := make(chan error, 1)
	go func() {
		done <- j.WatchRevocations(ctx, func(jti string) { ch <- jti }, func() { ch <- "" })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchRevocations: %v", err)
		}
	})
	return ch
}

// next reads jtis from ch up to and including the marker "" (ready), or n
// of them when ready is false.
func next(t *testing.T, ch <-chan string, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		select {
		case s := <-ch:
			got = append(got, s)
		case <-time.After(10 * time.Second):
			t.Fatalf("WatchRevocations reported %q, and then nothing", got)
		}
	}
	return got
}

// A revocation made on one node is seen by every other, and by a node
// opened later on the same NATS.
func TestRevocationsReachEveryNode(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	ctx := context.Background()
	a := open(t, journal.Config{URL: ns.ClientURL()})
	b := open(t, journal.Config{URL: ns.ClientURL()})
	if err := a.Revoke(ctx, "3f9a0c11d2e4b5a6c7", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	seen := watchRevocations(t, b)
	if got := fmt.Sprint(next(t, seen, 2)); got != "[3f9a0c11d2e4b5a6c7 ]" {
		t.Fatalf("b first saw %s, want the stored revocation, then ready", got)
	}
	if err := a.Revoke(ctx, "Zm9v_YmFy-", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(next(t, seen, 1)); got != "[Zm9v_YmFy-]" {
		t.Fatalf("b then saw %s, want the new revocation", got)
	}
	// Revoking again changes nothing and is no error.
	if err := b.Revoke(ctx, "Zm9v_YmFy-", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}

	// Each revocation expires with its token, plus an hour's grace.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "KV_"+journal.RevokedBucketName)
	if err != nil {
		t.Fatal(err)
	}
	for jti, want := range map[string]time.Duration{"3f9a0c11d2e4b5a6c7": 2 * time.Hour, "Zm9v_YmFy-": 366*24*time.Hour + time.Hour} {
		m, err := st.GetLastMsgForSubject(ctx, "$KV."+journal.RevokedBucketName+"."+jti)
		if err != nil {
			t.Fatal(err)
		}
		got, err := time.ParseDuration(m.Header.Get("Nats-TTL"))
		if err != nil || got < want-5*time.Second || got > want {
			t.Errorf("revocation %s has TTL %q, want about %s", jti, m.Header.Get("Nats-TTL"), want)
		}
	}

	c := open(t, journal.Config{URL: ns.ClientURL()})
	if got := fmt.Sprint(next(t, watchRevocations(t, c), 3)); got != "[3f9a0c11d2e4b5a6c7 Zm9v_YmFy- ]" {
		t.Fatalf("a node opened later saw %s", got)
	}
}

// Revocations survive a restart of a node with its own (embedded) store.
func TestRevocationsSurviveRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := open(t, journal.Config{Dir: dir})
	if err := j.Revoke(context.Background(), "0123abcd", time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = open(t, journal.Config{Dir: dir})
	if got := fmt.Sprint(next(t, watchRevocations(t, j), 2)); got != "[0123abcd ]" {
		t.Fatalf("after a restart WatchRevocations saw %s", got)
	}
}

// A jti that is not hex or base64url is refused with a clear error, and
// never becomes a key (a wildcard or a separator would address others).
func TestRevokeRefusesBadJTI(t *testing.T) {
	t.Parallel()
	j := open(t, journal.Config{})
	ctx := context.Background()
	for name, jti := range map[string]string{
		"empty":     "",
		"dot":       "a.b",
		"star":      "*",
		"gt":        ">",
		"wildcard":  "abc.>",
		"space":     "a b",
		"slash":     "a/b",
		"equals":    "a=b",
		"non-ascii": "é",
		"newline":   "ab\n",
		"too long":  strings.Repeat("a", 129),
	} {
		err := j.Revoke(ctx, jti, time.Now().Add(time.Hour))
		if err == nil || !strings.Contains(err.Error(), "token id") {
			t.Errorf("%s: Revoke(%q) = %v, want an error about the token id", name, jti, err)
		}
	}
	if err := j.Revoke(ctx, strings.Repeat("a", 128), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("a 128-character jti: %v", err)
	}
	if got := fmt.Sprint(next(t, watchRevocations(t, j), 2)); got != "["+strings.Repeat("a", 128)+" ]" {
		t.Fatalf("the bucket holds %s, want only the valid jti", got)
	}
}

// proxy forwards TCP connections to a NATS server; it can swallow what the
// server sends (acks lost on the way), cut every connection, and refuse
// new ones, as a network would.
type proxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   []net.Conn
	mute    bool // swallow server-to-client bytes
	refused bool // close new connections at once
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			refused := p.refused
			p.mu.Unlock()
			s, err := net.Dial("tcp", target)
			if refused || err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					p.mu.Lock()
					mute := p.mute
					p.mu.Unlock()
					if n > 0 && !mute {
						if _, err := c.Write(buf[:n]); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	return p
}

func (p *proxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) set(mute, refused bool) {
	p.mu.Lock()
	p.mute, p.refused = mute, refused
	p.mu.Unlock()
}

// cut closes every connection made so far.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A publish stored by JetStream whose ack is lost (the connection drops
// before it arrives) is not answered as refused: Accept resends it with
// the same message id once reconnected, JetStream answers that it has it,
// and the samples are stored once. When the connection does not come
// back in time, Accept says the outcome is unknown, and counts it.
func TestLostAck(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		back   bool // the connection comes back within AckTimeout
		stored int  // copies of the batch in the log
	}{
		"settled by a resend": {back: true, stored: 1},
		"outcome unknown":     {back: false, stored: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := startNATS(t)
			p := newProxy(t, ns.Addr().String())
			reg := prometheus.NewRegistry()
			j := open(t, journal.Config{URL: p.url(), Registerer: reg}) // AckTimeout 2 s
			direct := open(t, journal.Config{URL: ns.ClientURL()})
			batch := tricky(time.Now())

			p.set(true, false) // acks are lost from now on
			cutDone := make(chan struct{})
			go func() {
				defer close(cutDone)
				// Cut the connection once JetStream holds the batch.
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					if st, err := direct.State(context.Background()); err == nil && st.Messages > 0 {
						break
					}
				}
				p.set(false, !tc.back)
				p.cut()
			}()
			start := time.Now()
			err := j.Accept(context.Background(), batch)
			took := time.Since(start)
			<-cutDone
			t.Logf("Accept: %v after %s", err, took)
			var over *ingest.OverloadError
			switch {
			case tc.back && err != nil:
				t.Fatalf("Accept of a batch that was stored, its ack lost, then reconnected: %v, want nil", err)
			case !tc.back && (!errors.As(err, &over) || !over.Unavailable || !strings.Contains(over.Reason, "may or may not be stored")):
				t.Fatalf("Accept with its ack lost for good: %v, want an unavailable OverloadError saying the samples may be stored", err)
			}
			if took > 5*time.Second {
				t.Fatalf("Accept took %s (AckTimeout 2s)", took)
			}
			if got, want := len(replayAll(t, direct)), tc.stored*len(batch); got != want {
				t.Fatalf("the log holds %d samples, want %d", got, want)
			}
			wantUnconfirmed := 0.0
			if !tc.back {
				wantUnconfirmed = 1
			}
			if n := counter(t, reg, "dashd_journal_store_unconfirmed_total"); n != wantUnconfirmed {
				t.Fatalf("dashd_journal_store_unconfirmed_total = %v, want %v", n, wantUnconfirmed)
			}
		})
	}
}
