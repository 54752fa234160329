package web_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRewindScript checks dashd-rewind.js's syntax and runs its unit tests
// (reading ?at=, the state it shows) under Node, where Node is installed.
func TestRewindScript(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	for _, args := range [][]string{
		{"--check", "static/dashd-rewind.js"},
		{"--test", "build/dashd-rewind.test.js"},
	} {
		out, err := exec.Command(node, args...).CombinedOutput()
		if err != nil {
			t.Errorf("node %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
