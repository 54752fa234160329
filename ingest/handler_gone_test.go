package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// TestClientGoneMidBody: a client that cancels its request halfway through
// the body, over a real connection, stops the read; nothing reaches the
// sink and the request is counted as refused with status 499.
func TestClientGoneMidBody(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/api/v1/ingest", "/write", "/api/v1/import/prometheus"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			sk := &sink{}
			outcomes := make(chan ingest.Outcome, 1)
			base := server(t, sk, ingest.HandlerConfig{Observe: func(o ingest.Outcome) { outcomes <- o }})

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, pr)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				res, err := http.DefaultClient.Do(hr)
				if err == nil {
					res.Body.Close()
				}
				done <- err
			}()
			// Half a body, larger than the transport's buffers so that it
			// is on the wire; then the client gives up.
			var half []byte
			switch path {
			case "/api/v1/ingest":
				half = []byte(`[` + strings.Repeat(`{"metric":"a","value":1},`, 4000))
			case "/write":
				half = bytes.Repeat([]byte("m v=1\n"), 16000)
			default:
				half = bytes.Repeat([]byte("m 1\n"), 24000)
			}
			if _, err := pw.Write(half); err != nil {
				t.Fatal(err)
			}
			cancel()
			// The transport waits for the body's reader to return.
			pw.CloseWithError(context.Canceled)
			if err := <-done; err == nil {
				t.Fatal("the request was answered")
			}
			var o ingest.Outcome
			select {
			case o = <-outcomes:
			case <-time.After(30 * time.Second):
				t.Fatal("the handler did not finish after the client went away")
			}
			if o.Status != ingest.StatusClientClosedRequest || !strings.Contains(o.Reason, "client went away") || o.Samples != 0 {
				t.Fatalf("outcome %+v; want status 499, the client went away", o)
			}
			if got := sk.samples(); len(got) != 0 {
				t.Fatalf("%d samples reached the sink", len(got))
			}
		})
	}
}

// TestClientGoneAfterBody: a request whose context has ended once the body
// is read is neither decoded into the sink nor answered as accepted.
func TestClientGoneAfterBody(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	var o ingest.Outcome
	h := ingest.JSONHandler(sk, ingest.HandlerConfig{Clock: func() time.Time { return now }, Observe: func(out ingest.Outcome) { o = out }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/ingest", strings.NewReader(`[{"metric":"a","value":1}]`))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if o.Status != ingest.StatusClientClosedRequest || len(sk.samples()) != 0 {
		t.Fatalf("outcome %+v, %d samples in the sink; want 499 and none", o, len(sk.samples()))
	}
}

// TestDecodersStopWhenDone: a decoder whose DecodeOptions.Done is closed
// stops and returns ErrStopped; one whose Done is open decodes as usual.
func TestDecodersStopWhenDone(t *testing.T) {
	t.Parallel()
	decoders := map[string]func(ingest.DecodeOptions) error{
		"json": func(o ingest.DecodeOptions) error { _, err := ingest.DecodeJSON(jsonBody(5000), o); return err },
		"ndjson": func(o ingest.DecodeOptions) error {
			_, err := ingest.DecodeJSON([]byte(strings.Repeat(`{"metric":"a","value":1}`+"\n", 5000)), o)
			return err
		},
		"line protocol": func(o ingest.DecodeOptions) error {
			_, err := ingest.DecodeLineProtocol(lpBody(5000), time.Nanosecond, o)
			return err
		},
		"prometheus": func(o ingest.DecodeOptions) error {
			_, _, err := ingest.DecodePrometheus(promBody(5000), o)
			return err
		},
		"prometheus past the scan": func(o ingest.DecodeOptions) error {
			// One line: the scan looks at Done only every 1,024 lines;
			// expfmt, reading through doneReader, every 4 KB.
			_, _, err := ingest.DecodePrometheus([]byte(strings.Repeat(" ", 64<<10)+"m 1\n"), o)
			return err
		},
	}
	for name, decode := range decoders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			open, closed := make(chan struct{}), make(chan struct{})
			close(closed)
			if err := decode(ingest.DecodeOptions{Now: now, Done: open}); err != nil {
				t.Fatalf("with Done open: %v", err)
			}
			if err := decode(ingest.DecodeOptions{Now: now, Done: closed}); !errors.Is(err, ingest.ErrStopped) {
				t.Fatalf("with Done closed: %v; want ErrStopped", err)
			}
		})
	}
}

// TestRequestPastItsDeadline: a request whose context ran out of time (a
// deadline the server set, the client still there) is answered 503 with
// Retry-After, not 499, and nothing reaches the sink.
func TestRequestPastItsDeadline(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	h := ingest.JSONHandler(sk, ingest.HandlerConfig{Clock: func() time.Time { return now }})
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/ingest", strings.NewReader(`[{"metric":"a","value":1}]`)))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || len(sk.samples()) != 0 {
		t.Fatalf("status %d, Retry-After %q, %d samples in the sink; want 503 with Retry-After and none: %s",
			w.Code, w.Header().Get("Retry-After"), len(sk.samples()), w.Body)
	}
}
