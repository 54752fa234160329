package journal_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
	"github.com/dashd/dashd/journal"
)

// running is tricky with running totals among its samples: with and
// without a start, heads and grouped ones, not all in a row.
func running(base time.Time) []ingest.Sample {
	b := tricky(base)
	b[0].Running = &ingest.Running{Series: 1<<64 - 1, Start: base.Add(-time.Hour), Head: true}
	b[1].Running = &ingest.Running{Series: 7, Start: base.Add(-time.Hour), Grouped: true}
	b[3].Running = &ingest.Running{Series: 0}
	b[8].Running = &ingest.Running{Series: 42, Start: time.Unix(-5, 3), Head: true, Grouped: true}
	return b
}

func TestRunningTotalsRoundTrip(t *testing.T) {
	t.Parallel()
	batch := running(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC))
	b := journal.EncodeBatch(batch)
	if b[0] != 2 {
		t.Fatalf("a batch with running totals is written as format %d, want 2", b[0])
	}
	got, err := journal.DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameSamples(batch, got); err != nil {
		t.Fatal(err)
	}
	// Without running totals, the bytes are format 1 as before.
	if b := journal.EncodeBatch(tricky(time.Unix(1700000000, 0))); b[0] != 1 {
		t.Fatalf("a batch without running totals is written as format %d, want 1", b[0])
	}
}

// v1Message was written by dashd before running totals existed (EncodeBatch
// of one sample "m" value 1 at Unix 1 s + 2 ns): messages like it are on
// users' disks and must decode as they did.
const v1Message = "0102016d0576616c756501000100010184a8d6b907000000000000f03f"

func TestOldMessagesStillDecode(t *testing.T) {
	t.Parallel()
	b, err := hex.DecodeString(v1Message)
	if err != nil {
		t.Fatal(err)
	}
	got, err := journal.DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []ingest.Sample{{Metric: "m", Field: "value", Value: 1, Time: time.Unix(1, 2)}}
	if err := sameSamples(want, got); err != nil {
		t.Fatal(err)
	}
	if got[0].Running != nil {
		t.Fatal("a v1 sample came back as a running total")
	}
}

func TestDecodeRefusesBadRunningTotals(t *testing.T) {
	t.Parallel()
	one := []ingest.Sample{{Metric: "m", Field: "value", Value: 1, Time: time.Unix(1, 2),
		Running: &ingest.Running{Series: 9, Start: time.Unix(1, 0), Head: true}}}
	good := journal.EncodeBatch(one)
	if _, err := journal.DecodeBatch(good); err != nil {
		t.Fatal(err)
	}
	v1 := journal.EncodeBatch([]ingest.Sample{{Metric: "m", Field: "value", Value: 1, Time: time.Unix(1, 2)}})
	tail := len(v1) // where the running totals begin in good
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := map[string][]byte{
		"no trailer":           append([]byte{2}, v1[1:]...),
		"no running totals":    mutate(func(b []byte) []byte { return append(b[:tail], 0) }),
		"more than samples":    mutate(func(b []byte) []byte { b[tail] = 2; return b }),
		"index 0":              mutate(func(b []byte) []byte { b[tail+1] = 0; return b }),
		"index past the end":   mutate(func(b []byte) []byte { b[tail+1] = 2; return b }),
		"unknown flags":        mutate(func(b []byte) []byte { b[tail+10] |= 0x80; return b }),
		"cut in the series":    good[:tail+5],
		"cut before the start": good[:tail+11],
		"trailing":             append(append([]byte(nil), good...), 0),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := journal.DecodeBatch(b)
			if err == nil || !strings.Contains(err.Error(), "corrupt") {
				t.Fatalf("decoded: %v", err)
			}
		})
	}
}
