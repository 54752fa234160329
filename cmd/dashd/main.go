// Command dashd turns pushed metrics into live, embeddable bar-chart
// dashboards. See the README for a tour; CONTRACT.md names the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/wscheck"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, "dashd", version())
			return 0
		case "check-ws":
			return checkWS(ctx, args[1:], stdout, stderr)
		case "embed-token":
			return embedToken(args[1:], stdout, stderr)
		}
	}
	opts, err := parseOptions(args, lookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "dashd:", err)
		return 2
	}
	logger, err := newLogger(opts.file.LogLevel, opts.file.LogFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "dashd:", err)
		return 2
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	m, err := New(Config{File: opts.file, Demo: opts.demo, Logger: logger, ConfigPath: opts.path, Overrides: opts.overrides, Hangup: hup, ShutdownDelay: opts.shutdownDelay})
	if err != nil {
		logger.Error("dashd cannot start", "err", err)
		return 1
	}
	if err := m.Run(ctx); err != nil {
		logger.Error("dashd stopped with an error", "err", err)
		return 1
	}
	return 0
}

// maxShutdownDelay bounds --shutdown-delay: longer than any health check
// needs, shorter than a service manager's stop timeout (systemd's default
// is 90 s).
const maxShutdownDelay = time.Minute

// options is what the command line, the environment and the file say.
type options struct {
	file      *config.File
	demo      bool
	path      string           // the configuration file, "" for none
	overrides config.Overrides // what flags and the environment set over it
	// shutdownDelay is Config.ShutdownDelay (--shutdown-delay): a setting
	// of the process's lifecycle, not of the file.
	shutdownDelay time.Duration
}

// parseOptions layers the settings: flag > environment (DASHD_<FLAG>) >
// file > default.
func parseOptions(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("dashd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := config.Default()
	configPath := fs.String("config", "", "configuration file (YAML)")
	addr := fs.String("addr", def.Addr, "address to listen on, host:port")
	data := fs.String("data", def.Data, `data directory ("" keeps everything in memory)`)
	demo := fs.Bool("demo", false, "serve demo dashboards fed by a built-in generator")
	logLevel := fs.String("log-level", def.LogLevel, "debug, info, warn or error")
	logFormat := fs.String("log-format", def.LogFormat, "text or json")
	shutdownDelay := fs.Duration("shutdown-delay", 0, "after SIGTERM, keep serving this long with /readyz answering 503 before closing the port, so that a load balancer stops sending traffic first (its health-check interval × the failures it needs, plus one interval)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  dashd [flags]          run the server\n  dashd check-ws URL     explain a WebSocket handshake step by step\n  dashd embed-token      mint an embed token (--config FILE --chart ID --ttl 24h)\n  dashd version\n\nFlags (each also read from DASHD_<NAME>, e.g. DASHD_ADDR):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q (see dashd -h)", fs.Arg(0))
	}

	// A flag not given on the command line takes its environment variable.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || envErr != nil {
			return
		}
		name := "DASHD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookupEnv(name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
			given[f.Name] = true
		}
	})
	if envErr != nil {
		return options{}, envErr
	}
	if *shutdownDelay < 0 || *shutdownDelay > maxShutdownDelay {
		return options{}, fmt.Errorf("--shutdown-delay %s: expected a duration from 0 to %s", *shutdownDelay, maxShutdownDelay)
	}

	file := config.Default()
	if *configPath != "" {
		var err error
		if file, err = config.Load(*configPath); err != nil {
			return options{}, err
		}
	}
	var o config.Overrides
	pick := func(name string, v *string) *string {
		if given[name] {
			return v
		}
		return nil
	}
	o.Addr, o.Data = pick("addr", addr), pick("data", data)
	o.LogLevel, o.LogFormat = pick("log-level", logLevel), pick("log-format", logFormat)
	file.Apply(o)
	if err := file.Validate(); err != nil {
		return options{}, fmt.Errorf("settings: %w", err)
	}
	return options{file: file, demo: *demo, path: *configPath, overrides: o, shutdownDelay: *shutdownDelay}, nil
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: expected debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, fmt.Errorf("log format %q: expected text or json", format)
}

func checkWS(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-ws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	origin := fs.String("origin", "", "Origin header to send (as a browser would)")
	token := fs.String("token", "", "bearer token to send")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each step")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dashd check-ws [flags] URL\n\nPerforms a WebSocket opening handshake and explains each step.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	opts := wscheck.Options{Origin: *origin, Timeout: *timeout}
	if *token != "" {
		opts.Header = map[string][]string{"Authorization": {"Bearer " + *token}}
	}
	if err := wscheck.Check(ctx, fs.Arg(0), stdout, opts); err != nil {
		fmt.Fprintln(stdout, "\nresult: FAIL:", err)
		return 1
	}
	fmt.Fprintln(stdout, "\nresult: ok")
	return 0
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
