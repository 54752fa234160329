// Command dashload is dashd's load tool. It drives a running dashd from
// outside, over loopback only: WebSocket and SSE viewers on a dashboard it
// defines, pushers at a given rate and batch size in each ingest format,
// and it prints chart updates delivered per second, messages per second,
// the latency from POST to the viewer's receipt (p50/p90/p99/max), viewers
// connected and dropped, samples accepted per second and the server's RSS
// per viewer.
//
// It also carries a reference fan-out server, a plain one written on
// gorilla/websocket (dashload reference), so that every figure can be set
// beside what the plain design reaches on the same machine in the same
// session (dashload compare).
//
// Usage:
//
//	dashload run       --target http://127.0.0.1:8080 --viewers 1000 --push-rate 5 --duration 20s
//	dashload reference --addr 127.0.0.1:0
//	dashload compare   --target http://127.0.0.1:8080 --viewers 1000 --push-rate 5 --duration 20s
//
// Run "dashload <command> -h" for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `dashload drives a dashd (or the reference server) on this machine and measures it.

Commands:
  run        open viewers on a dashboard, push samples, print what was delivered and how fast
  reference  serve the reference fan-out server (plain gorilla/websocket) to compare dashd with
  compare    run one scenario against dashd and against the reference, print both and the ratios

Run "dashload <command> -h" for the flags of each.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "reference":
		err = cmdReference(ctx, args[1:], stdout, stderr)
	case "compare":
		err = cmdCompare(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "dashload: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "dashload %s: %v\n", args[0], err)
		return 1
	}
}

// errUsage marks a command line that the flag package already reported.
var errUsage = errors.New("usage")

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return errUsage
	}
	return nil
}

// howItMeasures is printed under run's and compare's flags.
const howItMeasures = `
How it measures:
  dashload first defines its own dashboard with PUT /api/v1/dashboards/ID
  (--admin-token where the server requires one): charts dashload-0 …
  dashload-(K-1) (K = --charts), each reading metric "dashload" where tag
  chart=<n>, categories from tag "cat", series from tag "s", agg last, no
  window. Every push (one POST of --batch samples) carries one probe per
  chart: category "0probe", series "a", value = the push's sequence number,
  followed by data samples spread over the charts, --categories categories
  (c000 …) and --series series (a, b, …). dashload keeps the time each
  sequence number was POSTed; a viewer that receives a frame whose probe
  value it has not seen yet records now − send time. The first frame of
  each chart per viewer (its snapshot) is not timed.

  chart updates/s counts frames received by all viewers while pushing (a
  frame inside a batch message counts as one update); messages/s counts
  WebSocket messages and SSE events. Server RSS is VmRSS from
  /proc/PID/status (--server-pid, or the process listening on the target's
  port found through /proc/net/tcp and /proc/*/fd), read before the viewers
  connect and --settle after: the difference divided by the viewers is the
  RSS per viewer.

  With more WebSocket viewers than --sample (250), only a sample decodes:
  whole rounds of one viewer per dashboard, spread through the connection
  order. The other viewers count bytes and messages without inflating or
  parsing anything, so that dashload takes little of the CPU it shares
  with the server. Latency, bytes per update and frames per message come
  from the sample; the counting viewers' updates are their messages times
  the sample's frames per message. Each push's latency is also split into
  the pipeline (POST to the first sampled viewer's receipt) and the
  fan-out (first to last sampled viewer).

  The open-files limit of dashload is raised to its hard limit at start
  (it says so); the server needs its own (ulimit -n before starting it).
  Only http://127.0.0.1:PORT targets are accepted.
`

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sc scenario
	fs := flag.NewFlagSet("dashload run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sc.addFlags(fs, true)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: dashload run --target http://127.0.0.1:PORT [flags]\n\nOpen viewers on a dashboard, push samples, and print what was delivered and how fast.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), howItMeasures)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sc.check(); err != nil {
		return err
	}
	if err := ensureFiles(sc.viewers+sc.sse, stderr); err != nil {
		return err
	}
	res, err := runScenario(ctx, sc, stderr)
	if res != nil {
		res.print(stdout)
	}
	return err
}

// ensureFiles raises the open-files limit, says so, and refuses a number
// of viewers it cannot hold.
func ensureFiles(viewers int, w io.Writer) error {
	before, after, err := raiseNoFile()
	if err != nil {
		fmt.Fprintf(w, "dashload: %v\n", err)
	}
	if after != before {
		fmt.Fprintf(w, "dashload: raised the open-files limit (RLIMIT_NOFILE) from %d to %d\n", before, after)
	} else {
		fmt.Fprintf(w, "dashload: open-files limit (RLIMIT_NOFILE) is %d\n", after)
	}
	if need := uint64(viewers) + 300; need > after {
		return fmt.Errorf("%d viewers need about %d open files, and the limit is %d: lower --viewers, or raise the hard limit (ulimit -Hn) first", viewers, need, after)
	}
	return nil
}
