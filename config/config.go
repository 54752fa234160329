package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/embed"
)

// The values of Auth.Read.
const (
	ReadPublic = "public" // anyone may read dashboards, charts and streams
	ReadToken  = "token"  // reading needs a token
)

// MaxFPS is the largest Stream.MaxFPS accepted.
const MaxFPS = 60

// File is the configuration file, key for key. Default gives its defaults;
// Load fills a Default with what the file sets.
//
// A field tagged `secret:"true"` holds secrets, and so does everything
// under it unless a field there is tagged `secret:"false"`: no message of
// this package ever shows their values (see secret.go). Under auth, a new
// key is secret unless it says otherwise.
type File struct {
	Addr string `yaml:"addr"`
	// AllowedHosts are the Host header values served, each a name or
	// name:port ("dash.example.com", "[::1]:8080"), a name possibly
	// starting with the wildcard "*.". Empty: on a loopback Addr only
	// loopback names; on any other Addr, every Host. cmd/dashd applies it.
	AllowedHosts []string           `yaml:"allowed_hosts"`
	Data         string             `yaml:"data"` // "" keeps everything in memory
	LogLevel     string             `yaml:"log_level"`
	LogFormat    string             `yaml:"log_format"`
	Auth         Auth               `yaml:"auth" secret:"true"`
	Stream       Stream             `yaml:"stream"`
	NATS         NATS               `yaml:"nats"`
	Checkpoints  Checkpoints        `yaml:"checkpoints"`
	Embed        Embed              `yaml:"embed"`
	Dashboards   []charts.Dashboard `yaml:"dashboards"`
}

// Auth holds the tokens and the read policy. Its values are secret unless
// a field is tagged `secret:"false"`.
type Auth struct {
	// IngestTokens may push samples; none means ingest is open.
	IngestTokens []string `yaml:"ingest_tokens"`
	// AdminTokens may write dashboards through the API.
	AdminTokens []string `yaml:"admin_tokens"`
	// Read is ReadPublic or ReadToken.
	Read string `yaml:"read" secret:"false"`
	// EmbedSecret is the key that signs embed tokens.
	EmbedSecret string `yaml:"embed_secret"`
	// Open lets dashd start on a non-loopback Addr with neither ingest
	// nor admin tokens (protected mode, as Redis has it: without it,
	// such a server refuses to start). cmd/dashd applies it.
	Open bool `yaml:"open" secret:"false"`
}

// Stream holds the live-stream settings.
type Stream struct {
	// MaxFPS is the most frames per chart per second, in (0, MaxFPS].
	MaxFPS int `yaml:"max_fps"`
	// AllowedOrigins are the origins besides dashd's own that may open the stream.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Embed holds the settings of pages that embed dashd charts.
type Embed struct {
	// AllowedParents are the origins of pages that may embed dashd: frame
	// /embed/{chart} (Content-Security-Policy: frame-ancestors), read the
	// chart API and /embed.js across origins (CORS), and open the stream
	// (added to stream.allowed_origins). "*" allows every origin. Empty:
	// any page may frame /embed/{chart}, and no other origin gets CORS or
	// the stream, so <dashd-chart> works nowhere else.
	AllowedParents []string `yaml:"allowed_parents"`
	// Revoked lists the ids (jti) of embed tokens refused from start on.
	Revoked []string `yaml:"revoked"`
	// MaxFilteredViews bounds the filtered views (chart × an embed
	// token's where) held at once; past it a new filter is refused with
	// 429. 0 means charts.DefaultMaxFilteredViews.
	MaxFilteredViews int `yaml:"max_filtered_views"`
}

// NATS says where an external NATS is; an empty URL means the embedded server.
type NATS struct {
	URL string `yaml:"url"`
	// Replicas of the sample stream and the dashboard bucket in a NATS
	// cluster, 1 to 5 (0 means 1). Three survive the loss of one server.
	// The embedded server is alone, so it needs nats.url.
	Replicas int `yaml:"replicas"`
	// MaxBytes caps the log of samples, in bytes (0: the default, 1 GiB);
	// past it the oldest samples go first, even inside a chart's window.
	// At about 14 bytes a sample, 1 GiB holds some 75 million samples: two
	// hours at 10,000 samples a second. Applied at start, also to a log
	// that exists.
	MaxBytes int64 `yaml:"max_bytes"`
}

// MinLogBytes is the smallest nats.max_bytes: one request's worth of
// messages with room to spare.
const MinLogBytes = 64 << 20

// Checkpoints says how often the charts' state is checkpointed, so that a
// restart replays only the log after the newest checkpoint, and how many
// are kept. cmd/dashd applies it.
type Checkpoints struct {
	// Interval between checkpoints (taken only when the charts moved);
	// 0 turns checkpoints off, written and read.
	Interval charts.Duration `yaml:"interval"`
	// Keep is the most checkpoints kept; those older than the log's
	// retention are removed too.
	Keep int `yaml:"keep"`
	// MaxBytes bounds the bytes of the checkpoints kept: past it the
	// oldest go, whatever Keep says (the newest is always kept).
	MaxBytes int64 `yaml:"max_bytes"`
}

// MaxFilteredViews is the most embed.max_filtered_views may be.
const MaxFilteredViews = 1_000_000

// The defaults and bounds of Checkpoints.
const (
	DefaultCheckpointInterval = charts.Duration(time.Minute)
	DefaultCheckpointKeep     = 1440 // a day at one a minute
	MinCheckpointInterval     = charts.Duration(time.Second)
	MaxCheckpointKeep         = 100_000
	DefaultCheckpointMaxBytes = 1 << 30 // 1 GiB
)

// MaxReplicas is the most JetStream replicas a stream may have.
const MaxReplicas = 5

// Default returns the configuration used where neither the file, the
// environment nor a flag says otherwise. It is the one place defaults live.
func Default() *File {
	return &File{
		Addr:      "127.0.0.1:8080",
		Data:      "./data",
		LogLevel:  "info",
		LogFormat: "text",
		Auth:      Auth{Read: ReadPublic},
		Stream:    Stream{MaxFPS: 10},
		Checkpoints: Checkpoints{
			Interval: DefaultCheckpointInterval,
			Keep:     DefaultCheckpointKeep,
			MaxBytes: DefaultCheckpointMaxBytes,
		},
	}
}

// Overrides are values set by a higher layer (flags, the environment); a nil
// field leaves the file's value alone.
type Overrides struct {
	Addr, Data, LogLevel, LogFormat *string
}

// Apply sets every non-nil field of o on f. Call Validate afterwards.
func (f *File) Apply(o Overrides) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&f.Addr, o.Addr)
	set(&f.Data, o.Data)
	set(&f.LogLevel, o.LogLevel)
	set(&f.LogFormat, o.LogFormat)
}

// Validate checks f as Load does (normalizing its dashboards) and returns
// every problem as *charts.FieldError values joined with errors.Join, with
// paths such as "dashboards[0].charts[1].agg" but no file positions. It is for
// a File built or changed in code; Load already validated what it returns.
func (f *File) Validate() error {
	var errs []error
	secrets := secretValues(f)
	for _, fe := range f.validate() {
		fe.Message = scrub(fe.Message, secrets)
		errs = append(errs, fe)
	}
	return errors.Join(errs...)
}

// Load reads, decodes and validates the configuration file at path. Keys the
// file leaves out keep their Default values. Any problem, an unknown key
// included, makes it fail with an *Error listing every problem found (up to
// MaxProblems), each with its line, column and key path.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src)
}

// Parse is Load for a file already read; name is used in messages.
func Parse(name string, src []byte) (*File, error) {
	f := Default()
	if err := decode(name, src, f); err != nil {
		return nil, err
	}
	return f, nil
}

// validate returns every semantic problem of f, in file order where it can.
func (f *File) validate() []*charts.FieldError {
	var out []*charts.FieldError
	bad := func(field, format string, args ...any) {
		out = append(out, &charts.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if msg := checkAddr(f.Addr); msg != "" {
		bad("addr", "%s", msg)
	}
	for i, h := range f.AllowedHosts {
		if msg := checkHost(h); msg != "" {
			bad(fmt.Sprintf("allowed_hosts[%d]", i), "%s", msg)
		}
	}
	switch f.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not a log level (expected debug, info, warn or error)", f.LogLevel)
	}
	switch f.LogFormat {
	case "text", "json":
	default:
		bad("log_format", "%q is not a log format (expected text or json)", f.LogFormat)
	}
	for _, list := range []struct {
		key    string
		tokens []string
	}{{"auth.ingest_tokens", f.Auth.IngestTokens}, {"auth.admin_tokens", f.Auth.AdminTokens}} {
		for i, tok := range list.tokens {
			if strings.TrimSpace(tok) == "" {
				bad(fmt.Sprintf("%s[%d]", list.key, i), "is empty (expected a token; leave the list empty for none)")
			} else if tok != strings.TrimSpace(tok) {
				bad(fmt.Sprintf("%s[%d]", list.key, i), "has leading or trailing spaces (a client would never send them)")
			}
		}
	}
	switch f.Auth.Read {
	case ReadPublic, ReadToken:
	default:
		bad("auth.read", "%q is not a read policy (expected %s or %s)", f.Auth.Read, ReadPublic, ReadToken)
	}
	if f.Stream.MaxFPS <= 0 || f.Stream.MaxFPS > MaxFPS {
		bad("stream.max_fps", "%d is out of range (expected 1 to %d frames per chart per second)", f.Stream.MaxFPS, MaxFPS)
	}
	for i, o := range f.Stream.AllowedOrigins {
		if msg := checkOrigin(o); msg != "" {
			bad(fmt.Sprintf("stream.allowed_origins[%d]", i), "%s", msg)
		}
	}
	if s := f.Auth.EmbedSecret; s != "" && len(s) < embed.MinSecretLen {
		bad("auth.embed_secret", "has %d bytes, too few to sign tokens safely (expected at least %d, e.g. the output of `openssl rand -hex 32`)", len(s), embed.MinSecretLen)
	}
	if f.Auth.Read == ReadToken && f.Auth.EmbedSecret == "" && len(f.Auth.AdminTokens) == 0 {
		bad("auth.read", "is %q but nothing could grant reading (expected auth.embed_secret for embed tokens, or auth.admin_tokens)", ReadToken)
	}
	for i, o := range f.Embed.AllowedParents {
		if o == "*" {
			continue
		}
		if msg := checkOrigin(o); msg != "" {
			bad(fmt.Sprintf("embed.allowed_parents[%d]", i), "%s, or * for any", msg)
		}
	}
	if n := f.Embed.MaxFilteredViews; n < 0 || n > MaxFilteredViews {
		bad("embed.max_filtered_views", "is %d (expected 0 for the default %d, or 1 to %d)", n, charts.DefaultMaxFilteredViews, MaxFilteredViews)
	}
	for i, id := range f.Embed.Revoked {
		if strings.TrimSpace(id) == "" {
			bad(fmt.Sprintf("embed.revoked[%d]", i), "is empty (expected the jti of an embed token)")
		}
	}
	if f.NATS.URL != "" {
		if msg := checkNATSURL(f.NATS.URL); msg != "" {
			bad("nats.url", "%s", msg)
		}
	}
	switch r := f.NATS.Replicas; {
	case r < 0 || r > MaxReplicas:
		bad("nats.replicas", "%d is out of range (expected 1 to %d; 3 survives the loss of one NATS server)", r, MaxReplicas)
	case r > 1 && f.NATS.URL == "":
		bad("nats.replicas", "is %d but the embedded NATS is a single server (expected nats.url pointing at a NATS cluster, or replicas 1)", r)
	}

	if b := f.NATS.MaxBytes; b != 0 && b < MinLogBytes {
		bad("nats.max_bytes", "%d is too small (expected at least %d, 64 MiB, or 0 for the default of 1 GiB)", b, MinLogBytes)
	}

	if iv := f.Checkpoints.Interval; iv < 0 || (iv > 0 && iv < MinCheckpointInterval) {
		bad("checkpoints.interval", "%s is out of range (expected at least %s, e.g. 1m, or 0 to turn checkpoints off)", time.Duration(iv), time.Duration(MinCheckpointInterval))
	}
	if k := f.Checkpoints.Keep; k < 1 || k > MaxCheckpointKeep {
		bad("checkpoints.keep", "%d is out of range (expected 1 to %d)", k, MaxCheckpointKeep)
	}
	if f.Checkpoints.MaxBytes < 1<<20 {
		bad("checkpoints.max_bytes", "%d is too small (expected at least 1048576, 1 MiB; the default is 1073741824, 1 GiB)", f.Checkpoints.MaxBytes)
	}

	// The board's own rules (each dashboard's Check, ids unique, the limits
	// on dashboards and charts), so that a file dashd starts with is one
	// the board takes whole.
	for _, fe := range charts.FieldErrors(charts.CheckDashboards(f.Dashboards)) {
		bad(fe.Field, "%s", fe.Message)
	}
	return out
}

func checkAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not a host:port address (expected e.g. 127.0.0.1:8080, :8080 or [::1]:8080)", addr)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Sprintf("%q has an invalid host %q (expected a name or an IP address)", addr, host)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Sprintf("%q has an invalid port %q (expected a number from 0 to 65535)", addr, port)
	}
	return ""
}

// Loopback reports whether f.Addr listens on loopback only: its host is
// "localhost", an address in 127.0.0.0/8 or ::1. An empty host (":8080"),
// 0.0.0.0, [::], any other name, and an Addr that does not parse are not
// loopback: they may be reachable from elsewhere.
func (f *File) Loopback() bool {
	host, _, err := net.SplitHostPort(f.Addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkHost checks one allowed_hosts entry: what a client sends in the Host
// header (a name or an IP, with an optional port; IPv6 in brackets), and a
// name may start with the wildcard "*.".
func checkHost(h string) string {
	const expected = "expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080"
	switch {
	case h == "":
		return "is empty (" + expected + ")"
	case strings.Contains(h, "://"):
		return fmt.Sprintf("%q has a scheme (%s)", h, expected)
	case strings.ContainsAny(h, "/?#"):
		return fmt.Sprintf("%q has a path (%s)", h, expected)
	case strings.ContainsAny(h, "@ \t"):
		return fmt.Sprintf("%q is not a host (%s)", h, expected)
	}
	host := h
	if hp, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Sprintf("%q has an invalid port %q (expected a number from 1 to 65535)", h, port)
		}
		host = hp
		if strings.Contains(host, ":") {
			host = "[" + host + "]" // SplitHostPort took the brackets off
		}
	}
	if inner, ok := strings.CutPrefix(host, "["); ok {
		ip, err := netip.ParseAddr(strings.TrimSuffix(inner, "]"))
		if !strings.HasSuffix(inner, "]") || err != nil || !ip.Is6() {
			return fmt.Sprintf("%q has an invalid IPv6 address (%s)", h, expected)
		}
		return ""
	}
	if strings.Contains(host, ":") {
		return fmt.Sprintf("%q is not a host: write an IPv6 address in brackets, as the Host header does, e.g. [::1] or [::1]:8080", h)
	}
	name := strings.TrimPrefix(host, "*.")
	if strings.Contains(name, "*") {
		return fmt.Sprintf("%q has a wildcard that is not a leading \"*.\" (%s)", h, expected)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || strings.IndexFunc(label, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return fmt.Sprintf("%q is not a host name (%s)", h, expected)
		}
	}
	return ""
}

func checkOrigin(o string) string {
	const expected = "expected scheme://host[:port], e.g. https://example.com"
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Sprintf("%q is not an origin (%s)", o, expected)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q is not an origin: browsers send no path, not even a trailing /, no query and no user (%s)", o, expected)
	}
	return ""
}

// checkNATSURL accepts what nats.Connect does: one URL or several joined by
// commas.
func checkNATSURL(s string) string {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if err != nil || u.Host == "" {
			return fmt.Sprintf("%q is not a NATS URL (expected e.g. nats://127.0.0.1:4222, several joined by commas)", part)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Sprintf("%q has the scheme %q (expected nats, tls, ws or wss)", part, u.Scheme)
		}
	}
	return ""
}
