package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// referenceBanner starts the line the reference prints once it listens;
// compare reads the URL from it.
const referenceBanner = "dashload reference: listening on "

func cmdReference(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dashload reference", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "`HOST:PORT` to listen on (127.0.0.1 only; port 0 picks a free one)")
	forAtMost := fs.Duration("for", time.Hour, "stop by itself after this `duration` (at most 24h)")
	maxQueue := fs.Int("max-queue", 256, "messages queued per viewer before it is disconnected as too slow")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: dashload reference [--addr 127.0.0.1:PORT]

Serve the reference fan-out server: a plain WebSocket fan-out on
gorilla/websocket to measure dashd against. One writer goroutine per
connection drains its queue into one message (the queued pushes coalesced
into {"type":"batch","frames":[…]}), a 512-byte read buffer, a pooled
write buffer, the read loop in its own goroutine (the HTTP handler returns
after the upgrade). It answers the requests dashload makes: PUT
/api/v1/dashboards/ID (ignored), POST /api/v1/ingest, /write,
/api/v1/import/prometheus (decoded minimally; each push becomes one
message of the frames it changed, encoded once and queued to every viewer,
with no frame-rate limit), GET /api/v1/stream and /api/v1/stream/sse.
It stops on SIGINT/SIGTERM or after --for.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("--addr %q refused: the reference listens on 127.0.0.1 only (e.g. 127.0.0.1:0)", *addr)
	}
	if *forAtMost <= 0 || *forAtMost > 24*time.Hour {
		return fmt.Errorf("--for %s is out of range (above 0, at most 24h)", *forAtMost)
	}
	if *maxQueue < 1 {
		return fmt.Errorf("--max-queue must be at least 1")
	}
	before, after, err := raiseNoFile()
	if err != nil {
		fmt.Fprintf(stderr, "dashload reference: %v\n", err)
	}
	fmt.Fprintf(stderr, "dashload reference: open-files limit (RLIMIT_NOFILE) %d → %d\n", before, after)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(stdout, "%shttp://%s (pid %d)\n", referenceBanner, ln.Addr(), os.Getpid())
	ctx, cancel := context.WithTimeout(ctx, *forAtMost)
	defer cancel()
	ref := newReference(slog.New(slog.NewTextHandler(stderr, nil)))
	ref.maxQueue = *maxQueue
	return ref.serve(ctx, ln)
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sc scenario
	fs := flag.NewFlagSet("dashload compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sc.addFlags(fs, true)
	refURL := fs.String("reference", "", "`URL` of a reference already running (dashload reference); empty starts one as a child process")
	pause := fs.Duration("pause", 2*time.Second, "pause between the two runs")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: dashload compare --target http://127.0.0.1:PORT [flags]

Run one scenario against dashd (--target), then the same against the
reference fan-out server, and print both figures and the ratio
dashd/reference. The reference is started as a child process of this
binary (dashload reference --addr 127.0.0.1:0), so that its RSS is its
own and its garbage collector does not share a heap with the load
generator; it is stopped at the end.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), howItMeasures)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sc.check(); err != nil {
		return err
	}
	if *refURL != "" {
		if err := loopbackURL(*refURL); err != nil {
			return fmt.Errorf("--reference: %w", err)
		}
	}
	if *pause < 0 || *pause > time.Minute {
		return fmt.Errorf("--pause %s is out of range (0 to 1m)", *pause)
	}
	if err := ensureFiles(sc.viewers+sc.sse, stderr); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "dashload compare: run 1 of 2, dashd at %s\n", sc.target)
	dres, err := runScenario(ctx, sc, stderr)
	if err != nil {
		return fmt.Errorf("against dashd: %w", err)
	}
	dres.print(stderr)
	if !sleepUntil(ctx, time.Now().Add(*pause)) {
		return ctx.Err()
	}

	refSc := sc
	refSc.serverPID = 0
	if *refURL == "" {
		child, u, pid, err := startReference(ctx, sc.duration+sc.ramp+5*time.Minute, stderr)
		if err != nil {
			return err
		}
		defer stopChild(child)
		refSc.target, refSc.serverPID = u, pid
	} else {
		refSc.target = *refURL
	}
	fmt.Fprintf(stderr, "dashload compare: run 2 of 2, reference at %s\n", refSc.target)
	rres, err := runScenario(ctx, refSc, stderr)
	if err != nil {
		return fmt.Errorf("against the reference: %w", err)
	}
	rres.print(stderr)
	printComparison(stdout, sc, dres, rres)
	return nil
}

// startReference runs "dashload reference --addr 127.0.0.1:0" from this
// binary and returns it, its URL and its pid.
func startReference(ctx context.Context, limit time.Duration, stderr io.Writer) (*exec.Cmd, string, int, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", 0, fmt.Errorf("find this binary to start the reference: %w", err)
	}
	cmd := exec.Command(exe, "reference", "--addr", "127.0.0.1:0", "--for", limit.String(), "--max-queue", "256")
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", 0, fmt.Errorf("start the reference: %w", err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), referenceBanner); ok {
				lines <- rest
			}
		}
		close(lines)
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		if !ok {
			stopChild(cmd)
			return nil, "", 0, errors.New("the reference ended before it listened")
		}
		u, _, _ := strings.Cut(line, " ")
		return cmd, u, cmd.Process.Pid, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	stopChild(cmd)
	return nil, "", 0, errors.New("the reference did not start listening within 10s")
}

// stopChild ends the reference this process started: SIGTERM, then
// SIGKILL after 10s.
func stopChild(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// printComparison writes the table: each figure for dashd, for the
// reference, and dashd/reference.
func printComparison(w io.Writer, sc scenario, d, r *result) {
	fmt.Fprintf(w, "scenario: %d WebSocket + %d SSE viewers, %d charts × %d categories × %d series, push %s/s × %d samples (%s), %s\n",
		sc.viewers, sc.sse, sc.charts, sc.categories, sc.series, rateText(sc), sc.batch, sc.format, windowText(sc))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tdashd\treference\tdashd/reference\t")
	row := func(name string, dv, rv float64, f func(float64) string) {
		ratio := "n/a"
		if rv != 0 && !math.IsNaN(dv) && !math.IsNaN(rv) {
			ratio = fmt.Sprintf("%.2f", dv/rv)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, f(dv), f(rv), ratio)
	}
	num := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	ms := func(v float64) string { return fmtDur(time.Duration(v)) }
	row("viewers connected", float64(d.ConnectedWS+d.ConnectedSSE), float64(r.ConnectedWS+r.ConnectedSSE), num)
	row("viewers dropped", float64(d.Dropped), float64(r.Dropped), num)
	row("chart updates/s", d.UpdatesPerSec, r.UpdatesPerSec, num)
	row("messages/s", d.MessagesPerSec, r.MessagesPerSec, num)
	perUpd := func(res *result) float64 {
		if res.WireUpdates == 0 {
			return math.NaN()
		}
		return float64(res.WireBytes) / float64(res.WireUpdates)
	}
	row("bytes on the wire per update", perUpd(d), perUpd(r), num)
	row("samples accepted/s", d.SamplesPerSec, r.SamplesPerSec, num)
	row("latency p50", float64(d.P50), float64(r.P50), ms)
	row("latency p90", float64(d.P90), float64(r.P90), ms)
	row("latency p99", float64(d.P99), float64(r.P99), ms)
	row("latency max", float64(d.Max), float64(r.Max), ms)
	row("server RSS/viewer (KiB)", d.RSSPerViewer/1024, r.RSSPerViewer/1024, func(v float64) string {
		if math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", v)
	})
	row("server CPU (cores)", d.ServerCPU, r.ServerCPU, func(v float64) string { return fmt.Sprintf("%.2f", v) })
	row("dashload CPU (cores)", d.ToolCPU, r.ToolCPU, func(v float64) string { return fmt.Sprintf("%.2f", v) })
	row("other processes' CPU (cores)", d.OtherCPU, r.OtherCPU, func(v float64) string { return fmt.Sprintf("%.2f", v) })
	tw.Flush()
}

func rateText(sc scenario) string {
	if sc.idle {
		return "0"
	}
	if sc.pushRate == 0 {
		return "max"
	}
	return fmt.Sprintf("%g", sc.pushRate)
}

func windowText(sc scenario) string {
	if sc.idle {
		return "idle for " + sc.duration.String()
	}
	return "for " + sc.duration.String()
}
