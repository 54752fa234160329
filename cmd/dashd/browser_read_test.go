package main

// Browser tests of issue 19, "charts that read right at a glance": a
// frozen server turns the badge stale, kiosk fills the screen, empty
// charts say what is missing, tooltips show user text verbatim, and the
// legend of many series is reachable by keyboard.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// buildDashd builds the dashd binary into a temporary directory.
func buildDashd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dashd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A frozen server (SIGSTOP: its sockets stay open, nothing comes through
// them) turns the badge stale within the client's timeout (6 s without a
// frame or a heartbeat), with the age of the last word heard; once the
// server runs again (SIGCONT) the badge is live again.
func TestBrowserFrozenServerTurnsStale(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the dashd binary")
	}
	bin := buildDashd(t)
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "dashd.yaml")
	if err := os.WriteFile(cfg, []byte(`dashboards:
  - id: frozen
    charts:
      - id: frozen
`), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config", cfg, "--data", "", "--addr", addr)
	logs, err := os.Create(filepath.Join(tmp, "dashd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := "http://" + addr
	waitReady(t, url)

	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/d/frozen")); err != nil {
		t.Fatal(err)
	}
	const state = `document.querySelector('[data-link]').getAttribute('data-state')`
	pollTrue(t, ctx, "the page goes live", state+` === 'live'`)
	// Quiet but alive: heartbeats keep it live past the timeout. (The
	// chart is a push chart, with no data: nothing else comes.)
	time.Sleep(8 * time.Second)
	if got := eval[string](t, ctx, state); got != "live" {
		t.Fatalf("a quiet server that runs turned the badge %q", got)
	}

	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](state+` === 'stale'`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the badge is %q 10 s after the server froze, want stale: %v", eval[string](t, ctx, state), err)
	}
	took := time.Since(stopped)
	t.Logf("stale %.1f s after SIGSTOP", took.Seconds())
	if took > 9*time.Second {
		t.Errorf("stale after %v, want within the 6 s timeout (and the 2 s heartbeat period)", took)
	}
	time.Sleep(2 * time.Second) // the age counts up
	text := eval[string](t, ctx, `document.querySelector('[data-link]').textContent`)
	if m := regexp.MustCompile(`(\d+) s ago`).FindStringSubmatch(text); m == nil {
		t.Errorf("the stale badge says %q, want its age (\"N s ago\")", text)
	} else {
		var n int
		fmt.Sscan(m[1], &n)
		if n < 7 {
			t.Errorf("the stale badge says %q: the age should count from the last word heard, at least 7 s", text)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the page is live again after SIGCONT", state+` === 'live'`)
}
