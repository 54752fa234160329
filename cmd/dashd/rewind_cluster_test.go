package main

import (
	"net/http"
	"testing"
	"time"
)

// TestClusterRewind: three dashd nodes, each on its own server of a NATS
// cluster: the frame of a past moment is the same from every node, and
// the same after one of them restarts.
func TestClusterRewind(t *testing.T) {
	// Not parallel: the cluster tests run alone (see TestCluster).
	if testing.Short() {
		t.Skip("runs a NATS cluster of three and three dashd nodes")
	}
	ns := startNATSCluster(t, 3)
	a, _ := startClusterNode(t, ns[0].ClientURL())
	b, _ := startClusterNode(t, ns[1].ClientURL())
	c, stopC := startClusterNode(t, ns[2].ClientURL())

	ingestJSON(t, a, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2},{"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":1}]`)
	if code, body := post(t, b.url+"/write", "text/plain", "http_requests,route=/a,status=200 value=3\n"); code != http.StatusNoContent {
		t.Fatalf("line protocol on b: %d %s", code, body)
	}
	t1 := between()
	ingestJSON(t, c, `[{"metric":"http_requests","tags":{"route":"/c","status":"404"},"value":7}]`)
	t2 := between()

	moments := map[string]string{}
	for _, at := range []time.Time{t1, t2} {
		for _, id := range []string{"req-by-route", "req-over-time", "acks"} {
			want := chartData(frameAt(t, a, id, at).frame)
			moments[id+at.String()] = want
			for name, n := range map[string]*server{"b": b, "c": c} {
				if got := chartData(frameAt(t, n, id, at).frame); got != want {
					t.Errorf("%s at %s on node %s: %s, on a: %s", id, at, name, got, want)
				}
			}
		}
	}
	if f := frameAt(t, b, "req-by-route", t1); len(f.Categories) != 2 {
		t.Errorf("at t1: %+v, want /a and /b", f.frame)
	} else if x := f.value("/a", "200"); x == nil || *x != 5 {
		t.Errorf("at t1 /a 200 = %v, want 5", x)
	}

	stopC()
	c, _ = startClusterNode(t, ns[2].ClientURL())
	for _, at := range []time.Time{t1, t2} {
		for _, id := range []string{"req-by-route", "req-over-time", "acks"} {
			if got := chartData(frameAt(t, c, id, at).frame); got != moments[id+at.String()] {
				t.Errorf("%s at %s on node c after its restart: %s, before %s", id, at, got, moments[id+at.String()])
			}
		}
	}
}
