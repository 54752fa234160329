package ingest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dashd/dashd/ingest"
)

// Each fuzz target checks that a decoder never panics, that it either
// returns samples or a *DecodeError with at least one problem, and that
// every sample it returns keeps the Sample contract.

func checkResult(t *testing.T, samples []ingest.Sample, err error) {
	t.Helper()
	if err != nil {
		var de *ingest.DecodeError
		if !errors.As(err, &de) || len(de.Problems) == 0 || len(de.Problems) > 20 {
			t.Fatalf("error %v (%T) is not a *DecodeError with 1..20 problems", err, err)
		}
		if samples != nil {
			t.Fatal("samples returned with an error")
		}
		return
	}
	checkInvariants(t, samples)
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"samples":[{"metric":"a","tags":{"k":"v"},"value":1,"time":"2026-03-01T12:00:00Z"}]}`,
		`[{"metric":"a","value":-1.5e3,"field":"f","time":1772366400000}]`,
		"{\"metric\":\"a\",\"value\":1}\n{\"metric\":\"b\",\"tags\":{\"x\":\"\\u00e9\"},\"value\":2}\n",
		`[{"metric":"a","value":1,"extra":[1,{"x":null}]}]`,
		`{"samples":[`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ingest.DecodeJSON(body, ingest.DecodeOptions{Now: now})
		checkResult(t, got, err)
	})
}

func FuzzLineProtocol(f *testing.F) {
	for _, s := range []string{
		"cpu,host=a,cpu=0 idle=1.5,n=3i,u=4u,up=true 1772366400000000000\n",
		"m,t=a\\ b v=1\n# comment\n\nm2 v=2\n",
		"m s=\"str\"\n", "m v=1 1772366400\n", "m,a=1,a=2 v=1",
	} {
		f.Add([]byte(s), uint8(0))
	}
	precisions := []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, time.Minute, time.Hour}
	f.Fuzz(func(t *testing.T, body []byte, p uint8) {
		got, err := ingest.DecodeLineProtocol(body, precisions[int(p)%len(precisions)], ingest.DecodeOptions{Now: now})
		checkResult(t, got, err)
	})
}

func FuzzPrometheus(f *testing.F) {
	for _, s := range []string{
		promText,
		"a 1\nb{x=\"y\"} 2 1772366400000\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
		"m NaN\n", "{\"a.b\"} 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, _, err := ingest.DecodePrometheus(body, ingest.DecodeOptions{Now: now})
		checkResult(t, got, err)
	})
}
