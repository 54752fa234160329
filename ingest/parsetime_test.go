package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 12, 3, 9, 31, 5, 0, time.UTC)
	good := map[string]time.Time{
		"2026-12-03T09:31:05Z":      want,
		"2026-12-03T10:31:05+01:00": want,
		"1796290265":                want,
		"1796290265000":             want,
		"1796290265000000":          want,
		"1796290265000000000":       want,
		"1796290265.5":              want.Add(500 * time.Millisecond),
		" 1796290265 ":              want,
	}
	for in, w := range good {
		got, err := ingest.ParseTime(in)
		if err != nil || !got.Equal(w) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", in, got, err, w)
		}
	}
	bad := map[string]string{
		"":           "no time given",
		"yesterday":  "neither an RFC 3339 time",
		"2026-12-03": "neither an RFC 3339 time",
		"1e400":      "out of range",
		"NaN":        "neither an RFC 3339 time",
		"-Inf":       "neither an RFC 3339 time",
	}
	for in, msg := range bad {
		_, err := ingest.ParseTime(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseTime(%q): got %v, want an error saying %q", in, err, msg)
		}
	}
}
