package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dashd/dashd/config"
)

// leak is a secret: no message, no line of Detail may show it. 24 bytes is
// a fine token but too short for auth.embed_secret.
const (
	leak     = "tok-d41d8cd98f00b204e980"
	longLeak = leak + "-long-enough-to-sign"
	mark     = "d41d8cd9" // what must never appear
)

// secretAuthKeys lists the keys of auth whose values are secret: every
// one but those tagged secret:"false", so a key added later is tested
// without anyone adding it here.
func secretAuthKeys(t *testing.T) map[string]reflect.Kind {
	t.Helper()
	keys := map[string]reflect.Kind{}
	at := reflect.TypeFor[config.Auth]()
	for i := range at.NumField() {
		f := at.Field(i)
		if f.Tag.Get("secret") == "false" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		keys[name] = f.Type.Kind()
	}
	for _, k := range []string{"ingest_tokens", "admin_tokens", "embed_secret"} {
		if _, ok := keys[k]; !ok {
			t.Fatalf("auth.%s is not among the secret keys %v", k, keys)
		}
	}
	return keys
}

// noLeak fails if err, its problems or its Detail show the secret.
func noLeak(t *testing.T, err error) *config.Error {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T, want *config.Error: %v", err, err)
	}
	outs := map[string]string{"Error()": ce.Error(), "Detail()": ce.Detail()}
	for i, p := range ce.Problems {
		outs["Problems["+string(rune('0'+i))+"]"] = p.Path + " " + p.Message
	}
	for what, s := range outs {
		if strings.Contains(s, mark) {
			t.Errorf("%s shows the secret:\n%s", what, s)
		}
	}
	return ce
}

// Every secret key under auth, given a wrong type or value in every way
// that makes goccy or dashd name it, is reported with the file, the line,
// the column and the key, never with its value.
func TestSecretsNeverEchoed(t *testing.T) {
	t.Parallel()
	type form struct {
		yaml   string // KEY: …, indented under auth:
		after  string // lines after the auth section
		want   string // a part of Error()
		onLine int    // the line a problem names auth.KEY on; 0: none does
	}
	list := map[string]form{
		"a string for a list":   {"KEY: " + leak, "", "expected a list (items on lines starting with '- ', or [a, b]), found a string (value hidden, 24 bytes)", 2},
		"a nested list":         {"KEY: [ok, [" + leak + "]]", "", "expected a string, found a list", 2},
		"a mapping item":        {"KEY: [{" + leak + ": x}]", "", "expected a string, found a mapping", 2},
		"a bool tag":            {"KEY: [!!bool " + leak + "]", "", "(value hidden)", 2},
		"an alias to nothing":   {"KEY: *" + leak, "", "could not find alias (value hidden)", 2},
		"a folded header":       {"KEY: > " + leak, "", "invalid header option: (value hidden)", 2},
		"an unterminated quote": {"KEY: [\"" + leak + "]", "", "could not find end character of double-quoted text", 2},
		"a bad item after it":   {"KEY:\n    - " + leak + "\n    - {a: b}", "", "expected a string, found a mapping", 4},
		"a problem after it":    {"KEY:\n    - " + leak, "log_level: loud\n", `log_level: "loud" is not a log level`, 0},
		"a tab":                 {"KEY: [" + leak + "]\n\tKEY: [" + leak + "]", "", "found character", 3},
	}
	scalar := map[string]form{
		"too short":             {"KEY: " + leak, "", "has 24 bytes, too few to sign tokens safely (expected at least 32", 2},
		"a list for a string":   {"KEY: [" + leak + "]", "", "expected a string, found a list", 2},
		"a mapping":             {"KEY: {" + leak + ": 1}", "", "expected a string, found a mapping", 2},
		"a bool tag":            {"KEY: !!bool " + leak, "", "(value hidden)", 2},
		"an alias to nothing":   {"KEY: *" + leak, "", "could not find alias (value hidden)", 2},
		"a folded header":       {"KEY: > " + leak, "", "invalid header option: (value hidden)", 2},
		"an unterminated quote": {"KEY: \"" + longLeak, "", "could not find end character of double-quoted text", 2},
		"a block, then trouble": {"KEY: |\n    " + longLeak + "\n    " + longLeak, "log_level: loud\n", `log_level: "loud" is not a log level`, 0},
		"a problem after it":    {"KEY: " + longLeak, "log_level: loud\n", `log_level: "loud" is not a log level`, 0},
		"a value, then junk":    {"KEY: " + longLeak + " # ok\n  KEY2 " + leak, "", "", 0},
	}
	for key, kind := range secretAuthKeys(t) {
		forms := scalar
		if kind == reflect.Slice {
			forms = list
		}
		for name, f := range forms {
			t.Run(key+"/"+name, func(t *testing.T) {
				t.Parallel()
				src := "auth:\n  " + strings.ReplaceAll(f.yaml, "KEY", key) + "\n" + f.after
				_, err := config.Parse("dashd.yaml", []byte(src))
				if err == nil {
					t.Fatalf("no error for\n%s", src)
				}
				ce := noLeak(t, err)
				t.Logf("%s\n%s", src, ce.Detail())
				if !strings.Contains(err.Error(), f.want) {
					t.Errorf("error lacks %q:\n%s", f.want, err)
				}
				if f.onLine == 0 {
					return
				}
				for _, p := range ce.Problems {
					if p.Line == f.onLine && p.Column > 0 && strings.HasPrefix(p.Path, "auth."+key) {
						return
					}
				}
				t.Errorf("no problem placed on line %d names auth.%s: %+v", f.onLine, key, ce.Problems)
			})
		}
	}
}

// A secret that reaches another key (an alias) is scrubbed from that
// key's message too, in a file and in a File built in code.
func TestSecretsScrubbedElsewhere(t *testing.T) {
	t.Parallel()
	src := "auth:\n  ingest_tokens: [&t " + leak + "]\naddr: *t\n"
	_, err := config.Parse("dashd.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	noLeak(t, err)
	if want := `dashd.yaml:3:1: addr: "(value hidden)" is not a host:port address`; !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}

	f := config.Default()
	f.Auth.IngestTokens = []string{leak}
	f.Addr = leak
	err = f.Validate()
	if err == nil || strings.Contains(err.Error(), mark) || !strings.Contains(err.Error(), `addr: "(value hidden)" is not a host:port address`) {
		t.Errorf("Validate: %v", err)
	}
}

// auth.read and auth.open are no secrets: their values are shown.
func TestShownAuthKeys(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"auth:\n  read: private\n": `dashd.yaml:2:9: auth.read: "private" is not a read policy (expected public or token)`,
		"auth:\n  open: yes\n":     `dashd.yaml:2:9: auth.open: "yes" is not true or false`,
	}
	for src, want := range tests {
		_, err := config.Parse("dashd.yaml", []byte(src))
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", src, err, want)
		}
	}
}

// Parse and Detail survive any input: secretLines reads files that do not
// parse, by indentation alone.
func FuzzParse(f *testing.F) {
	f.Add(contractExample)
	f.Add("auth:\n  ingest_tokens:\n    - " + leak + "\n    - {a: b}\n")
	f.Add("auth:\n\tembed_secret: \"" + leak + "\n")
	f.Add("auth:\n  embed_secret: |\n    " + longLeak + "\nlog_level: loud\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := config.Parse("dashd.yaml", []byte(src))
		if err == nil {
			return
		}
		var ce *config.Error
		if errors.As(err, &ce) {
			_ = ce.Detail()
		}
	})
}
