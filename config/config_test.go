package config_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// contractExample is the file shown in CONTRACT.md, verbatim.
const contractExample = `addr: 127.0.0.1:8080
data: ./data
auth:
  ingest_tokens: [s3cret]      # none: ingest is open, and the log says so at start
  admin_tokens: [adm1n]        # writes to dashboards through the API
  read: public                 # public | token
  embed_secret: ""             # key that signs embed tokens
stream:
  max_fps: 10                  # frames per chart per second, at most
  allowed_origins: []          # origins besides dashd's own that may open the stream
dashboards:
  - id: web
    title: Web traffic
    charts:
      - id: req-by-route
        title: Requests by route
        type: stacked            # grouped | stacked | percent
        metric: http_requests
        x: route                 # a tag key, or ` + "`time` with `bucket: 10s`" + `
        series: status
        agg: sum                 # sum count avg min max last rate
        window: 5m
`

func TestContractExample(t *testing.T) {
	f, err := config.Parse("dashd.yaml", []byte(contractExample))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Auth.IngestTokens = []string{"s3cret"}
	want.Auth.AdminTokens = []string{"adm1n"}
	want.Stream.AllowedOrigins = []string{}
	want.Dashboards = []charts.Dashboard{{
		ID:    "web",
		Title: "Web traffic",
		Charts: []charts.Chart{{
			ID: "req-by-route", Title: "Requests by route", Type: charts.Stacked,
			Metric: "http_requests", Field: "value", X: "route", Series: "status",
			Agg: charts.Sum, Window: charts.Duration(5 * time.Minute), Sort: charts.SortName,
		}},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}

func TestExampleFile(t *testing.T) {
	f, err := config.Load(filepath.Join("..", "examples", "dashd.yaml"))
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			t.Fatal(ce.Detail())
		}
		t.Fatal(err)
	}
	if len(f.Dashboards) != 2 {
		t.Fatalf("got %d dashboards, want 2", len(f.Dashboards))
	}
	for _, d := range f.Dashboards {
		if len(d.Charts) == 0 {
			t.Errorf("dashboard %s has no charts", d.ID)
		}
	}
}

func TestDefault(t *testing.T) {
	d := config.Default()
	tests := map[string]struct{ got, want any }{
		"addr":       {d.Addr, "127.0.0.1:8080"},
		"data":       {d.Data, "./data"},
		"log_level":  {d.LogLevel, "info"},
		"log_format": {d.LogFormat, "text"},
		"read":       {d.Auth.Read, config.ReadPublic},
		"max_fps":    {d.Stream.MaxFPS, 10},
		"tokens":     {len(d.Auth.IngestTokens) + len(d.Auth.AdminTokens), 0},
		"nats":       {d.NATS.URL, ""},
		"open":       {d.Auth.Open, false},
		"hosts":      {len(d.AllowedHosts), 0},
		"dashboards": {len(d.Dashboards), 0},
	}
	for name, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", name, tt.got, tt.want)
		}
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default does not validate: %v", err)
	}
	if config.Default() == d {
		t.Error("Default returned the same *File twice")
	}
}

func TestKeepsDefaults(t *testing.T) {
	tests := map[string]struct {
		src  string
		want func(*config.File)
	}{
		"empty file":           {"", func(*config.File) {}},
		"only comments":        {"# nothing yet\n", func(*config.File) {}},
		"null keeps default":   {"data:\nstream:\n", func(*config.File) {}},
		"empty data is memory": {`data: ""`, func(f *config.File) { f.Data = "" }},
		"partial stream":       {"stream:\n  allowed_origins: [https://a.example]\n", func(f *config.File) { f.Stream.AllowedOrigins = []string{"https://a.example"} }},
		"embed section": {"embed:\n  allowed_parents: [https://blog.example, '*']\n  revoked: [ab12]\nauth:\n  read: token\n  embed_secret: 0123456789abcdef0123456789abcdef\n", func(f *config.File) {
			f.Embed.AllowedParents = []string{"https://blog.example", "*"}
			f.Embed.Revoked = []string{"ab12"}
			f.Auth.Read = config.ReadToken
			f.Auth.EmbedSecret = "0123456789abcdef0123456789abcdef"
		}},
		"allowed hosts and open": {"addr: 0.0.0.0:8080\nallowed_hosts: [dash.example.com, '*.example.com', 'dash.example.com:8443', 10.0.0.5, '[::1]', '[::1]:8080', localhost]\nauth:\n  open: true\n", func(f *config.File) {
			f.Addr = "0.0.0.0:8080"
			f.AllowedHosts = []string{"dash.example.com", "*.example.com", "dash.example.com:8443", "10.0.0.5", "[::1]", "[::1]:8080", "localhost"}
			f.Auth.Open = true
		}},
		"numbers as tokens": {"auth:\n  ingest_tokens: [12345]\n", func(f *config.File) { f.Auth.IngestTokens = []string{"12345"} }},
		"merge key override": {`dashboards:
  - id: a
    charts:
      - &c
        id: c
        metric: m
        x: route
      - <<: *c
        id: d
`, func(f *config.File) {
			c := charts.Chart{ID: "c", Title: "c", Type: charts.Grouped, Metric: "m", Field: "value", X: "route", Agg: charts.Sum, Sort: charts.SortName}
			d := c
			d.ID, d.Title = "d", "d"
			f.Dashboards = []charts.Dashboard{{ID: "a", Title: "a", Charts: []charts.Chart{c, d}}}
		}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := config.Parse("dashd.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			want := config.Default()
			tt.want(want)
			if !reflect.DeepEqual(f, want) {
				t.Errorf("got  %+v\nwant %+v", f, want)
			}
		})
	}
}

// chart wraps chart lines (indented by 8) into a one-dashboard file, so
// chart keys are on line 4 and after, at column 9.
func chart(lines ...string) string {
	return "dashboards:\n  - id: d\n    charts:\n      - " + strings.TrimPrefix(strings.Join(lines, "\n"), "        ") + "\n"
}

func TestProblems(t *testing.T) {
	tests := map[string]struct {
		src  string
		want []string // the lines of Error(), exactly
	}{
		"bad aggregation": {
			chart("        id: c", "        metric: m", "        x: route", "        agg: median"),
			[]string{`dashd.yaml:7:14: dashboards[0].charts[0].agg: "median" is not an aggregation (expected sum, count, avg, min, max, last or rate)`},
		},
		"unknown top-level key": {
			"adr: 127.0.0.1:8080\n",
			[]string{`dashd.yaml:1:1: adr: unknown key (expected one of addr, allowed_hosts, data, log_level, log_format, auth, stream, nats, checkpoints, embed, dashboards; did you mean addr?)`},
		},
		"unknown chart key": {
			chart("        id: c", "        metric: m", "        x: route", "        windw: 5m"),
			[]string{`dashd.yaml:7:9: dashboards[0].charts[0].windw: unknown key (expected one of id, title, type, horizontal, metric, field, where, x, bucket, series, agg, window, top, sort, histogram, unit, format, thresholds, width, height; did you mean window?)`},
		},
		"bad number format": {
			chart("        id: c", "        metric: m", "        x: route", "        format: {decimals: 12, prefix: $, sign: x}"),
			[]string{
				`dashd.yaml:7:28: dashboards[0].charts[0].format.decimals: 12 is out of range (expected 0 to 9; leave it out for automatic decimals)`,
				`dashd.yaml:7:43: dashboards[0].charts[0].format.sign: unknown key (expected one of decimals, prefix, suffix, thousands, scale)`,
			},
		},
		"unknown key in flow mapping": {
			"stream: {max_fps: 3, fps: 1}\n",
			[]string{`dashd.yaml:1:22: stream.fps: unknown key (expected one of max_fps, allowed_origins)`},
		},
		"camel case key": {
			"logLevel: debug\n",
			[]string{`dashd.yaml:1:1: logLevel: unknown key (expected one of addr, allowed_hosts, data, log_level, log_format, auth, stream, nats, checkpoints, embed, dashboards; did you mean log_level?)`},
		},
		"bad duration": {
			chart("        id: c", "        metric: m", "        x: route", "        window: 5 minutes"),
			[]string{`dashd.yaml:7:17: dashboards[0].charts[0].window: "5 minutes" is not a duration (expected e.g. 10s, 5m, 1h)`},
		},
		"duration without unit": {
			chart("        id: c", "        metric: m", "        x: time", "        bucket: 10"),
			[]string{`dashd.yaml:7:17: dashboards[0].charts[0].bucket: "10" is not a duration (expected e.g. 10s, 5m, 1h)`},
		},
		"missing key is placed at its mapping": {
			chart("        id: c", "        metric: m"),
			[]string{`dashd.yaml:4:9: dashboards[0].charts[0].x: is missing (expected a tag key for the categories, or "time" with a bucket)`},
		},
		"window shorter than bucket": {
			chart("        id: c", "        metric: m", "        x: time", "        bucket: 1m", "        window: 10s"),
			[]string{`dashd.yaml:8:17: dashboards[0].charts[0].window: 10s is shorter than the bucket 1m0s`},
		},
		"repeated chart id in a dashboard": {
			chart("        id: c", "        metric: m", "        x: route", "      - id: c", "        metric: m", "        x: route"),
			[]string{`dashd.yaml:7:13: dashboards[0].charts[1].id: "c" is already the id of charts[0]`},
		},
		"repeated chart id across dashboards": {
			"dashboards:\n  - id: a\n    charts:\n      - id: c\n        metric: m\n        x: route\n  - id: b\n    charts:\n      - {id: c, metric: m, x: route}\n",
			[]string{`dashd.yaml:9:14: dashboards[1].charts[0].id: "c" is already a chart of dashboard "a" (chart ids are unique across dashboards)`},
		},
		"repeated dashboard id": {
			"dashboards:\n  - id: a\n    charts: []\n  - id: a\n    charts: []\n",
			[]string{`dashd.yaml:4:9: dashboards[1].id: "a" is already the id of dashboards[0]`},
		},
		"bad dashboard id": {
			"dashboards:\n  - id: 'no spaces'\n    charts: []\n",
			[]string{`dashd.yaml:2:9: dashboards[0].id: "no spaces" is not a valid id (expected 1-64 letters, digits, '_', '.' or '-')`},
		},
		"max_fps zero": {
			"stream:\n  max_fps: 0\n",
			[]string{`dashd.yaml:2:12: stream.max_fps: 0 is out of range (expected 1 to 60 frames per chart per second)`},
		},
		"max_fps too high": {
			"stream:\n  max_fps: 61\n",
			[]string{`dashd.yaml:2:12: stream.max_fps: 61 is out of range (expected 1 to 60 frames per chart per second)`},
		},
		"max_fps not a number": {
			"stream:\n  max_fps: fast\n",
			[]string{`dashd.yaml:2:12: stream.max_fps: "fast" is not a whole number`},
		},
		"max_fps with a fraction": {
			"stream:\n  max_fps: 2.5\n",
			[]string{`dashd.yaml:2:12: stream.max_fps: 2.5 is not a whole number`},
		},
		"bool not true or false": {
			chart("        id: c", "        metric: m", "        x: route", "        horizontal: yes"),
			[]string{`dashd.yaml:7:21: dashboards[0].charts[0].horizontal: "yes" is not true or false`},
		},
		"read policy": {
			"auth:\n  read: private\n",
			[]string{`dashd.yaml:2:9: auth.read: "private" is not a read policy (expected public or token)`},
		},
		"log format": {
			"log_format: logfmt\n",
			[]string{`dashd.yaml:1:13: log_format: "logfmt" is not a log format (expected text or json)`},
		},
		"log level": {
			"log_level: verbose\n",
			[]string{`dashd.yaml:1:12: log_level: "verbose" is not a log level (expected debug, info, warn or error)`},
		},
		"addr without port": {
			"addr: localhost\n",
			[]string{`dashd.yaml:1:7: addr: "localhost" is not a host:port address (expected e.g. 127.0.0.1:8080, :8080 or [::1]:8080)`},
		},
		"addr with a bad port": {
			"addr: localhost:http\n",
			[]string{`dashd.yaml:1:7: addr: "localhost:http" has an invalid port "http" (expected a number from 0 to 65535)`},
		},
		"origin with a path": {
			"stream:\n  allowed_origins:\n    - https://ok.example\n    - https://a.example/\n",
			[]string{`dashd.yaml:4:7: stream.allowed_origins[1]: "https://a.example/" is not an origin: browsers send no path, not even a trailing /, no query and no user (expected scheme://host[:port], e.g. https://example.com)`},
		},
		"nats url": {
			"nats:\n  url: localhost:4222\n",
			[]string{`dashd.yaml:2:8: nats.url: "localhost:4222" is not a NATS URL (expected e.g. nats://127.0.0.1:4222, several joined by commas)`},
		},
		"nats max_bytes too small": {
			"nats:\n  max_bytes: 1000\n",
			[]string{`dashd.yaml:2:14: nats.max_bytes: 1000 is too small (expected at least 67108864, 64 MiB, or 0 for the default of 1 GiB)`},
		},
		"nats replicas out of range": {
			"nats:\n  url: nats://127.0.0.1:4222\n  replicas: 7\n",
			[]string{`dashd.yaml:3:13: nats.replicas: 7 is out of range (expected 1 to 5; 3 survives the loss of one NATS server)`},
		},
		"nats replicas without a cluster": {
			"nats:\n  replicas: 3\n",
			[]string{`dashd.yaml:2:13: nats.replicas: is 3 but the embedded NATS is a single server (expected nats.url pointing at a NATS cluster, or replicas 1)`},
		},
		"checkpoints interval too short": {
			"checkpoints:\n  interval: 10ms\n",
			[]string{`dashd.yaml:2:13: checkpoints.interval: 10ms is out of range (expected at least 1s, e.g. 1m, or 0 to turn checkpoints off)`},
		},
		"checkpoints interval negative": {
			"checkpoints:\n  interval: -1m\n",
			[]string{`dashd.yaml:2:13: checkpoints.interval: -1m0s is out of range (expected at least 1s, e.g. 1m, or 0 to turn checkpoints off)`},
		},
		"checkpoints max_bytes": {
			"checkpoints:\n  max_bytes: 1000\n",
			[]string{`dashd.yaml:2:14: checkpoints.max_bytes: 1000 is too small (expected at least 1048576, 1 MiB; the default is 1073741824, 1 GiB)`},
		},
		"checkpoints keep": {
			"checkpoints:\n  keep: 0\n",
			[]string{`dashd.yaml:2:9: checkpoints.keep: 0 is out of range (expected 1 to 100000)`},
		},
		"empty token": {
			"auth:\n  ingest_tokens: [a, '']\n",
			[]string{`dashd.yaml:2:22: auth.ingest_tokens[1]: is empty (expected a token; leave the list empty for none)`},
		},
		"list expected": {
			"auth:\n  ingest_tokens: s3cret\n",
			[]string{`dashd.yaml:2:18: auth.ingest_tokens: expected a list (items on lines starting with '- ', or [a, b]), found a string (value hidden, 6 bytes)`},
		},
		"embed parent with a path": {
			"embed:\n  allowed_parents: [https://ok.example, '*', https://a.example/x]\n",
			[]string{`dashd.yaml:2:46: embed.allowed_parents[2]: "https://a.example/x" is not an origin: browsers send no path, not even a trailing /, no query and no user (expected scheme://host[:port], e.g. https://example.com), or * for any`},
		},
		"embed revoked empty": {
			"embed:\n  revoked: ['']\n",
			[]string{`dashd.yaml:2:13: embed.revoked[0]: is empty (expected the jti of an embed token)`},
		},
		"embed unknown key": {
			"embed:\n  parents: []\n",
			[]string{`dashd.yaml:2:3: embed.parents: unknown key (expected one of allowed_parents, revoked, max_filtered_views)`},
		},
		"short embed secret": {
			"auth:\n  embed_secret: abc\n",
			[]string{`dashd.yaml:2:17: auth.embed_secret: has 3 bytes, too few to sign tokens safely (expected at least 32, e.g. the output of ` + "`openssl rand -hex 32`" + `)`},
		},
		"embed secret one byte short": {
			"auth:\n  embed_secret: 0123456789abcdef0123456789abcde\n",
			[]string{`dashd.yaml:2:17: auth.embed_secret: has 31 bytes, too few to sign tokens safely (expected at least 32, e.g. the output of ` + "`openssl rand -hex 32`" + `)`},
		},
		"allowed host with a scheme": {
			"allowed_hosts: [ok.example, 'https://dash.example.com']\n",
			[]string{`dashd.yaml:1:29: allowed_hosts[1]: "https://dash.example.com" has a scheme (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`},
		},
		"allowed host with a path": {
			"allowed_hosts:\n  - dash.example.com/\n",
			[]string{`dashd.yaml:2:5: allowed_hosts[0]: "dash.example.com/" has a path (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`},
		},
		"allowed host with a wildcard inside": {
			"allowed_hosts: ['dash.*.example.com']\n",
			[]string{`dashd.yaml:1:17: allowed_hosts[0]: "dash.*.example.com" has a wildcard that is not a leading "*." (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`},
		},
		"allowed host alone wildcard": {
			"allowed_hosts: ['*']\n",
			[]string{`dashd.yaml:1:17: allowed_hosts[0]: "*" has a wildcard that is not a leading "*." (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`},
		},
		"allowed host empty": {
			"allowed_hosts: ['']\n",
			[]string{`dashd.yaml:1:17: allowed_hosts[0]: is empty (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`},
		},
		"allowed host with a bad port": {
			"allowed_hosts: ['dash.example.com:0', 'a.example:http']\n",
			[]string{
				`dashd.yaml:1:17: allowed_hosts[0]: "dash.example.com:0" has an invalid port "0" (expected a number from 1 to 65535)`,
				`dashd.yaml:1:39: allowed_hosts[1]: "a.example:http" has an invalid port "http" (expected a number from 1 to 65535)`,
			},
		},
		"allowed host IPv6 without brackets": {
			"allowed_hosts: ['::1']\n",
			[]string{`dashd.yaml:1:17: allowed_hosts[0]: "::1" is not a host: write an IPv6 address in brackets, as the Host header does, e.g. [::1] or [::1]:8080`},
		},
		"allowed host bad IPv6": {
			"allowed_hosts: ['[::g]:80', '[127.0.0.1]']\n",
			[]string{
				`dashd.yaml:1:17: allowed_hosts[0]: "[::g]:80" has an invalid IPv6 address (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`,
				`dashd.yaml:1:29: allowed_hosts[1]: "[127.0.0.1]" has an invalid IPv6 address (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`,
			},
		},
		"allowed host with a user and a space": {
			"allowed_hosts: ['me@dash.example.com', 'dash example']\n",
			[]string{
				`dashd.yaml:1:17: allowed_hosts[0]: "me@dash.example.com" is not a host (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`,
				`dashd.yaml:1:40: allowed_hosts[1]: "dash example" is not a host (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`,
			},
		},
		"allowed host empty label": {
			"allowed_hosts: ['dash..example.com', '*.']\n",
			[]string{
				`dashd.yaml:1:17: allowed_hosts[0]: "dash..example.com" is not a host name (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`,
				`dashd.yaml:1:38: allowed_hosts[1]: "*." is not a host name (expected a host name or host:port as sent in the Host header, e.g. dash.example.com, *.example.com or [::1]:8080)`,
			},
		},
		"allowed hosts not a list": {
			"allowed_hosts: dash.example.com\n",
			[]string{`dashd.yaml:1:16: allowed_hosts: expected a list (items on lines starting with '- ', or [a, b]), found "dash.example.com"`},
		},
		"open not a bool": {
			"auth:\n  open: [true]\n",
			[]string{`dashd.yaml:2:9: auth.open: expected true or false, found a list`},
		},
		"read token with nothing to grant it": {
			"auth:\n  read: token\n",
			[]string{`dashd.yaml:2:9: auth.read: is "token" but nothing could grant reading (expected auth.embed_secret for embed tokens, or auth.admin_tokens)`},
		},
		"mapping expected": {
			"stream: fast\n",
			[]string{`dashd.yaml:1:9: stream: expected a mapping with the keys max_fps, allowed_origins, found "fast"`},
		},
		"string expected": {
			"addr: [a, b]\n",
			[]string{`dashd.yaml:1:7: addr: expected a string, found a list`},
		},
		"document is a list": {
			"- addr: x\n",
			[]string{`dashd.yaml:1:1: expected a mapping with the keys addr, allowed_hosts, data, log_level, log_format, auth, stream, nats, checkpoints, embed, dashboards, found a list`},
		},
		"repeated key": {
			"addr: :1\ndata: x\naddr: :2\n",
			[]string{`dashd.yaml:3:1: the key "addr" appears again (first on line 1; expected each key once)`},
		},
		"syntax error": {
			"auth:\n  ingest_tokens: [a\n",
			[]string{`dashd.yaml:2:18: auth.ingest_tokens: sequence end token ']' not found`},
		},
		"two documents": {
			"addr: :1\n---\naddr: :2\n",
			[]string{`dashd.yaml:3:1: a second YAML document (expected one document; remove the '---' or split the file)`},
		},
		"every kind at once, in file order": {
			"adr: x\nstream:\n  max_fps: 0\n" + chart("        id: c", "        metric: m", "        agg: median", "        windw: 1m", "        bucket: 5x") + "log_level: loud\n",
			[]string{
				`dashd.yaml:1:1: adr: unknown key (expected one of addr, allowed_hosts, data, log_level, log_format, auth, stream, nats, checkpoints, embed, dashboards; did you mean addr?)`,
				`dashd.yaml:3:12: stream.max_fps: 0 is out of range (expected 1 to 60 frames per chart per second)`,
				`dashd.yaml:7:9: dashboards[0].charts[0].x: is missing (expected a tag key for the categories, or "time" with a bucket)`,
				`dashd.yaml:9:14: dashboards[0].charts[0].agg: "median" is not an aggregation (expected sum, count, avg, min, max, last or rate)`,
				`dashd.yaml:10:9: dashboards[0].charts[0].windw: unknown key (expected one of id, title, type, horizontal, metric, field, where, x, bucket, series, agg, window, top, sort, histogram, unit, format, thresholds, width, height; did you mean window?)`,
				`dashd.yaml:11:17: dashboards[0].charts[0].bucket: "5x" is not a duration (expected e.g. 10s, 5m, 1h)`,
				`dashd.yaml:12:12: log_level: "loud" is not a log level (expected debug, info, warn or error)`,
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := config.Parse("dashd.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; got %+v", f)
			}
			if f != nil {
				t.Errorf("got a *File with the error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, want *config.Error: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s\nin\n%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"), ce.Detail())
			}
		})
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("dashboards:\n  - id: d\n    charts:\n")
	for i := range 25 {
		b.WriteString("      - {id: c" + string(rune('a'+i)) + ", metric: m, x: route, agg: median}\n")
	}
	_, err := config.Parse("dashd.yaml", []byte(b.String()))
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T, want *config.Error: %v", err, err)
	}
	if len(ce.Problems) != config.MaxProblems || ce.Omitted != 25-config.MaxProblems {
		t.Errorf("got %d problems and %d omitted, want %d and %d", len(ce.Problems), ce.Omitted, config.MaxProblems, 25-config.MaxProblems)
	}
	lines := strings.Split(err.Error(), "\n")
	if last := lines[len(lines)-1]; last != "dashd.yaml: 5 more problems not shown" {
		t.Errorf("last line %q", last)
	}
	if p := ce.Problems[0]; p.Line != 4 || p.Path != "dashboards[0].charts[0].agg" {
		t.Errorf("first problem %+v", p)
	}
}

func TestDetail(t *testing.T) {
	_, err := config.Parse("dashd.yaml", []byte(chart("        id: c", "        metric: m", "        x: route", "        agg: median")))
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T, want *config.Error: %v", err, err)
	}
	want := `dashd.yaml:7:14: dashboards[0].charts[0].agg: "median" is not an aggregation (expected sum, count, avg, min, max, last or rate)
    6 |         x: route
    7 |         agg: median
      |              ^
`
	if got := ce.Detail(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLoopback(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"127.0.0.1:8080":        true,
		"127.0.0.2:8080":        true,
		"127.255.255.254:1":     true,
		"localhost:8080":        true,
		"LocalHost:8080":        true,
		"[::1]:8080":            true,
		"[::ffff:127.0.0.1]:80": true,
		":8080":                 false,
		"0.0.0.0:8080":          false,
		"[::]:8080":             false,
		"10.0.0.5:8080":         false,
		"192.168.1.2:8080":      false,
		"128.0.0.1:8080":        false,
		"[::2]:8080":            false,
		"dash.example.com:80":   false,
		"localhost.example:80":  false,
		"foo.localhost:80":      false,
		"nope":                  false,
		"":                      false,
	}
	for addr, want := range tests {
		f := config.Default()
		f.Addr = addr
		if got := f.Loopback(); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
	if !config.Default().Loopback() {
		t.Error("the default addr is not loopback")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("got %v, want a not-exist error naming the file", err)
	}
}

func TestApplyAndValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := map[string]struct {
		o       config.Overrides
		check   func(*config.File) bool
		wantErr string
	}{
		"nothing": {config.Overrides{}, func(f *config.File) bool { return reflect.DeepEqual(f, config.Default()) }, ""},
		"all": {
			config.Overrides{Addr: str(":9000"), Data: str(""), LogLevel: str("debug"), LogFormat: str("json")},
			func(f *config.File) bool {
				return f.Addr == ":9000" && f.Data == "" && f.LogLevel == "debug" && f.LogFormat == "json"
			}, "",
		},
		"bad addr": {config.Overrides{Addr: str("nope")}, nil, `addr: "nope" is not a host:port address`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f := config.Default()
			f.Apply(tt.o)
			err := f.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				var fe *charts.FieldError
				if !errors.As(err, &fe) {
					t.Errorf("error has no *charts.FieldError")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(f) {
				t.Errorf("got %+v", f)
			}
		})
	}
}

// Checkpoints default to one a minute, a day of them kept; 0 turns them off.
func TestCheckpointsKeys(t *testing.T) {
	t.Parallel()
	d := config.Default()
	if d.Checkpoints.Interval != charts.Duration(time.Minute) || d.Checkpoints.Keep != 1440 {
		t.Fatalf("defaults = %+v, want 1m and 1440", d.Checkpoints)
	}
	f, err := config.Parse("dashd.yaml", []byte("checkpoints:\n  interval: 0s\n  keep: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Checkpoints.Interval != 0 || f.Checkpoints.Keep != 10 {
		t.Fatalf("parsed %+v, want interval 0 and keep 10", f.Checkpoints)
	}
}
