package web_test

import (
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
