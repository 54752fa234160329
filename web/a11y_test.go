package web_test

import (
	"compress/gzip"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestA11yScript checks dashd-a11y.js's syntax and runs its unit tests
// (descriptions, keyboard moves, the announcement rate limit on an
// injected clock, the contrast of dashd.css and the palettes) under Node,
// where Node is installed.
func TestA11yScript(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	for _, args := range [][]string{
		{"--check", "static/dashd-a11y.js"},
		{"--test", "build/dashd-a11y.test.js"},
	} {
		out, err := exec.Command(node, args...).CombinedOutput()
		if err != nil {
			t.Errorf("node %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestPagesGzipped: a page is sent gzipped to a client that accepts it
// (and whole to one that does not), so that its accessibility text costs
// little on the wire.
func TestPagesGzipped(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	plain := get(t, srv.URL+"/d/web")
	if ce := plain.header.Get("Content-Encoding"); ce != "" || !strings.Contains(plain.body, "Keyboard shortcuts") {
		t.Fatalf("without Accept-Encoding: Content-Encoding %q, body %d bytes", ce, len(plain.body))
	}
	zipped := get(t, srv.URL+"/d/web", "Accept-Encoding", "gzip")
	if ce := zipped.header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", ce)
	}
	if v := zipped.header.Get("Vary"); v != "Accept-Encoding" {
		t.Errorf("Vary %q, want Accept-Encoding", v)
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped.body))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || string(body) != plain.body {
		t.Errorf("the gzipped page is not the page (%v)", err)
	}
	if len(zipped.body)*2 > len(plain.body) {
		t.Errorf("gzipped %d bytes of %d", len(zipped.body), len(plain.body))
	}
}
