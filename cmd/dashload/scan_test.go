package main

import (
	"testing"
)

func TestScanMessage(t *testing.T) {
	tests := map[string]struct {
		msg  string
		want []frameInfo
	}{
		"frame with probe": {
			msg:  `{"type":"frame","chart":"dashload-2","seq":7,"time":"2026-01-01T00:00:00Z","categories":["0probe","c000"],"series":[{"name":"a","data":[42,1.5]}]}`,
			want: []frameInfo{{chart: 2, probe: 42, hasProbe: true}},
		},
		"probe in a later series and position": {
			msg:  `{"type":"frame","chart":"dashload-0","seq":1,"time":"x","categories":["c000","c\"1","0probe"],"series":[{"name":"b","data":[1,2,null]},{"name":"a","data":[3,null,1e+06]}]}`,
			want: []frameInfo{{chart: 0, probe: 1000000, hasProbe: true}},
		},
		"batch": {
			msg: `{"type":"batch","frames":[` +
				`{"type":"frame","chart":"dashload-0","seq":1,"time":"x","categories":["0probe"],"series":[{"name":"a","data":[5]}]},` +
				`{"type":"frame","chart":"dashload-1","seq":1,"time":"x","categories":["0probe"],"series":[{"name":"a","data":[6]}]}]}`,
			want: []frameInfo{{chart: 0, probe: 5, hasProbe: true}, {chart: 1, probe: 6, hasProbe: true}},
		},
		"another chart, no probe": {
			msg:  `{"type":"frame","chart":"web","seq":1,"time":"x","categories":["a"],"series":[{"name":"a","data":[5]}]}`,
			want: []frameInfo{{chart: -1}},
		},
		"empty frame": {
			msg:  `{"type":"frame","chart":"dashload-3","seq":1,"time":"x","categories":[],"series":[]}`,
			want: []frameInfo{{chart: 3}},
		},
		"not a frame": {msg: `{"hello":1}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []frameInfo
			n := scanMessage([]byte(tc.msg), func(fi frameInfo) { got = append(got, fi) })
			if n != len(tc.want) || len(got) != len(tc.want) {
				t.Fatalf("found %d frames %v, want %v", n, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("frame %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://127.0.0.1:1/"} {
		if err := loopbackURL(u); err != nil {
			t.Errorf("loopbackURL(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range []string{"http://localhost:8080", "http://10.0.0.1:80", "https://127.0.0.1:443", "http://127.0.0.1", "http://127.0.0.1:80/x", "http://[::1]:80", "http://u:p@127.0.0.1:80"} {
		if err := loopbackURL(u); err == nil {
			t.Errorf("loopbackURL(%q) = nil, want a refusal", u)
		}
	}
}
