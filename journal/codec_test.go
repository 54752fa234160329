package journal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := map[string][]ingest.Sample{
		"empty":  nil,
		"tricky": tricky(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)),
		"one":    {{Metric: "m", Field: "value", Value: 1, Time: time.Unix(1, 2)}},
	}
	for name, batch := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := journal.DecodeBatch(journal.EncodeBatch(batch))
			if err != nil {
				t.Fatal(err)
			}
			if err := sameSamples(batch, got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := journal.EncodeBatch(tricky(time.Unix(1700000000, 0)))
	tests := map[string][]byte{
		"empty":          {},
		"future version": append([]byte{9}, good[1:]...),
		"cut short":      good[:len(good)-3],
		"trailing":       append(append([]byte(nil), good...), 0),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := journal.DecodeBatch(b); err == nil {
				t.Fatal("decoded without an error")
			}
		})
	}
}

func TestSubjectOf(t *testing.T) {
	tests := map[string]string{
		"http_requests": "dashd.samples.m.http_requests",
		"cpu.user":      "dashd.samples.m.cpu=2Euser",
		"a=b":           "dashd.samples.m.a=3Db",
		"a b>*":         "dashd.samples.m.a=20b=3E=2A",
		"":              "dashd.samples.m.=",
		"é":             "dashd.samples.m.=C3=A9",
	}
	for metric, want := range tests {
		if got := journal.SubjectOf(metric); got != want {
			t.Errorf("SubjectOf(%q) = %q, want %q", metric, got, want)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0, 0})
	f.Add(journal.EncodeBatch(tricky(time.Unix(1700000000, 5))))
	f.Add(journal.EncodeBatch(running(time.Unix(1700000000, 5))))
	f.Add(journal.EncodeBatch([]ingest.Sample{{Metric: strings.Repeat("m", 300), Value: 1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, err := journal.DecodeBatch(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same samples.
		again, err := journal.DecodeBatch(journal.EncodeBatch(samples))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if err := sameSamples(samples, again); err != nil {
			t.Fatal(err)
		}
	})
}
