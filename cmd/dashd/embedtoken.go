package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dashd/dashd/api"
	"github.com/dashd/dashd/config"
	"github.com/dashd/dashd/embed"
)

// embedToken is `dashd embed-token`: it prints a token signed with the
// configuration's auth.embed_secret.
func embedToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embed-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file with auth.embed_secret (required)")
	chart := fs.String("chart", "", "the chart the token reads")
	dashboard := fs.String("dashboard", "", "the dashboard the token reads (instead of --chart)")
	ttl := fs.Duration("ttl", api.DefaultEmbedTTL, "how long the token is valid")
	var where []string
	fs.Func("where", "a tag filter every read with the token is held to, tag=value (repeat for several)", func(s string) error {
		where = append(where, s)
		return nil
	})
	rewind := fs.String("rewind", "on", "how far back the token may show past moments: on (any the log retains), off (live only), or a duration (1h)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dashd embed-token --config FILE (--chart ID | --dashboard ID) [--ttl 24h] [--where tag=value]... [--rewind on|off|1h]\n\nPrints an embed token: use it as /embed/ID?token=… or <dashd-chart token=\"…\">.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *configPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	f, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", err)
		return 2
	}
	if f.Auth.EmbedSecret == "" {
		fmt.Fprintf(stderr, "dashd embed-token: %s sets no auth.embed_secret (set it, e.g. to the output of `openssl rand -hex 32`)\n", *configPath)
		return 2
	}
	keys, err := embed.New(embed.Config{Secret: f.Auth.EmbedSecret})
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", err)
		return 2
	}
	filter, err := embed.ParseWhere(where)
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token: --where:", err)
		return 2
	}
	reach, err := api.ParseRewind(*rewind)
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", err)
		return 2
	}
	tok, claims, err := keys.Mint(embed.Scope{Chart: *chart, Dashboard: *dashboard, Where: filter, Rewind: reach}, *ttl)
	if err != nil {
		fmt.Fprintln(stderr, "dashd embed-token:", strings.TrimPrefix(err.Error(), "embed: "))
		return 2
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "jti %s, expires %s (revoke it with embed.revoked: [%s])\n", claims.ID, claims.ExpiresAt().UTC().Format(time.RFC3339), claims.ID)
	return 0
}
