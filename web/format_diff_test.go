package web_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/dashd/dashd/charts"
)

// TestFormatMatchesGo writes thousands of random numbers with random
// formats in Go (charts.NumberFormat) and in the client
// (static/dashd-format.js, under Node) and wants the same text from both:
// the shared vectors (charts/testdata/format.json) pin the cases meant,
// this finds the ones nobody thought of (ties, powers of ten, huge and tiny
// numbers, every unit).
func TestFormatMatchesGo(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	type tcase struct {
		Format charts.NumberFormat `json:"format"`
		Value  float64             `json:"value"`
		Axis   charts.Axis         `json:"axis"`
	}
	r := rand.New(rand.NewPCG(19, 2026))
	units := []string{"", "ms", "s", "ns", "us", "µs", "min", "h", "B", "KiB", "MiB", "GiB", "%", "req", "€"}
	seps := []string{",", ".", "", " ", "'"}
	number := func() float64 {
		switch r.IntN(5) {
		case 0: // a round number: ties and powers of ten
			return float64(r.IntN(2001)-1000) * math.Pow(10, float64(r.IntN(12)-6)) / 8
		case 1:
			return float64(r.IntN(100000))
		default:
			return (r.Float64()*2 - 1) * math.Pow(10, float64(r.IntN(30)-12))
		}
	}
	var cases []tcase
	for range 5000 {
		var c tcase
		c.Format.Unit = units[r.IntN(len(units))]
		if r.IntN(3) == 0 {
			d := r.IntN(10)
			c.Format.Decimals = &d
		}
		if r.IntN(4) == 0 {
			c.Format.Prefix = "$"
		}
		if r.IntN(4) == 0 {
			s := seps[r.IntN(len(seps))]
			c.Format.Thousands = &s
		}
		if r.IntN(5) == 0 {
			c.Format.Scale = charts.ScaleNone
		}
		c.Value = number()
		iv := math.Pow(10, float64(r.IntN(16)-8)) * []float64{1, 2, 2.5, 5}[r.IntN(4)]
		c.Axis = charts.Axis{Min: 0, Max: iv * float64(r.IntN(10)+1), Interval: iv}
		if r.IntN(2) == 0 {
			c.Value = c.Axis.Interval * float64(r.IntN(11))
		}
		cases = append(cases, c)
	}
	in, _ := json.Marshal(cases)
	script := `const f = require('./static/dashd-format.js');
let s = ''; process.stdin.on('data', d => s += d).on('end', () => {
  const out = JSON.parse(s).map(c => [f.value(c.value, c.format), f.tick(c.value, c.format, c.axis)]);
  process.stdout.write(JSON.stringify(out));
});`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = strings.NewReader(string(in))
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var js [][2]string
	if err := json.Unmarshal(b, &js); err != nil || len(js) != len(cases) {
		t.Fatalf("node answered %d of %d (%v)", len(js), len(cases), err)
	}
	bad := 0
	for i, c := range cases {
		value, tick := c.Format.Value(c.Value), c.Format.Tick(c.Value, c.Axis)
		if value != js[i][0] || tick != js[i][1] {
			f, _ := json.Marshal(c.Format)
			t.Errorf("%v with %s on %+v: Go writes %q and tick %q, the client %q and %q", c.Value, f, c.Axis, value, tick, js[i][0], js[i][1])
			if bad++; bad == 20 {
				t.Fatal("more differ")
			}
		}
	}
}
