package web

import (
	"os/exec"
	"testing"
)

// TestClientAnimationPolicy runs the unit tests of issue 17's animation
// policy (web/build/wall.test.js) under Node, where Node is installed.
func TestClientAnimationPolicy(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if out, err := exec.Command(node, "--test", "build/wall.test.js").CombinedOutput(); err != nil {
		t.Errorf("node --test build/wall.test.js: %v\n%s", err, out)
	}
}
