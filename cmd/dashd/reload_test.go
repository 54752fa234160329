package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashd/dashd/config"
)

// syncBuffer is a log sink the test reads while dashd writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const reloadBase = `addr: 127.0.0.1:0
data: ""
auth:
  admin_tokens: [adm1n]
dashboards:
  - id: one
    title: One
    charts:
      - id: c1
        metric: m
        x: k
  - id: two
    charts:
      - id: c2
        metric: m
        x: k
`

// startWithFile runs dashd on a configuration file that it reloads.
func startWithFile(t *testing.T, src string, interval time.Duration) (*server, string, chan<- os.Signal, *syncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dashd.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	hup := make(chan os.Signal, 1)
	m, err := New(Config{File: f, ConfigPath: path, ReloadInterval: interval, Hangup: hup, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	s := &server{Main: m, url: "http://" + m.Addr()}
	waitReady(t, s.url)
	return s, path, hup, logs
}

// rewrite replaces the file with one of another size, so that the change
// shows even within the file system's timestamp granularity.
func rewrite(t *testing.T, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A change to the file is picked up without a restart: a changed dashboard
// changes, a new one appears, one removed from the file is deleted, and one
// made through the API stays. A bad file is logged with the config
// package's located error and changes nothing; a setting that cannot
// change live is logged as needing a restart.
func TestConfigFileChangesAreReloaded(t *testing.T) {
	t.Parallel()
	s, path, _, logs := startWithFile(t, reloadBase, 20*time.Millisecond)
	code, body := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/mine", `{"charts":[{"id":"mine-1","metric":"m","x":"k"}]}`, "Authorization", "Bearer adm1n"))
	if code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}

	changed := strings.Replace(reloadBase, "title: One", "title: One, renamed", 1)
	changed = strings.Replace(changed, "  - id: two\n    charts:\n      - id: c2\n", "  - id: three\n    charts:\n      - id: c3\n", 1)
	rewrite(t, path, changed)
	eventually(t, "the renamed dashboard", func() bool {
		d, ok := s.board.Dashboard("one")
		return ok && d.Title == "One, renamed"
	})
	eventually(t, "the new dashboard", func() bool { _, ok := s.board.Dashboard("three"); return ok })
	eventually(t, "the removed dashboard gone", func() bool { _, ok := s.board.Dashboard("two"); return !ok })
	if _, ok := s.board.Dashboard("mine"); !ok {
		t.Error("the dashboard made through the API did not survive the reload")
	}
	code, _ = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/three", `{"charts":[{"id":"c3","metric":"m","x":"k"}]}`, "Authorization", "Bearer adm1n"))
	if code != http.StatusConflict {
		t.Errorf("PUT of a dashboard the reloaded file defines: %d, want 409", code)
	}
	code, _ = do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/dashboards/two", `{"charts":[{"id":"c2","metric":"m","x":"k"}]}`, "Authorization", "Bearer adm1n"))
	if code != http.StatusCreated {
		t.Errorf("PUT of a dashboard the file no longer defines: %d, want 201", code)
	}

	// A bad file changes nothing and says where it is wrong.
	rewrite(t, path, strings.Replace(changed, "x: k\n", "x: k\n        agg: median\n", 1))
	eventually(t, "the error logged", func() bool { return strings.Contains(logs.String(), "not reloaded") })
	if !strings.Contains(logs.String(), `dashd.yaml:12:14: dashboards[0].charts[0].agg: \"median\" is not an aggregation`) {
		t.Errorf("the log does not place the mistake:\n%s", logs.String())
	}
	if d, _ := s.board.Dashboard("one"); d.Charts[0].Agg == "median" || d.Title != "One, renamed" {
		t.Errorf("a bad file changed dashboard one: %+v", d)
	}

	// A setting that cannot change live.
	rewrite(t, path, strings.Replace(changed, "addr: 127.0.0.1:0", "addr: 127.0.0.1:9999", 1))
	eventually(t, "the restart warning", func() bool {
		return strings.Contains(logs.String(), `take effect only after a restart" keys=addr`)
	})
}

// SIGHUP reloads the file even when its size and time did not change.
func TestSIGHUPReloads(t *testing.T) {
	t.Parallel()
	s, path, hup, logs := startWithFile(t, reloadBase, time.Hour)
	rewrite(t, path, strings.Replace(reloadBase, "title: One", "title: Eno", 1))
	hup <- os.Interrupt // any value: main sends syscall.SIGHUP
	eventually(t, "the reload", func() bool { d, _ := s.board.Dashboard("one"); return d.Title == "Eno" })
	if !strings.Contains(logs.String(), "SIGHUP: reloading") {
		t.Errorf("no log line of the SIGHUP:\n%s", logs.String())
	}
}
