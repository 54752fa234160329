package ingest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPromScanBoundsExpfmt holds promScan to what expfmt reads. If promScan
// passes a body that expfmt parses, no series expfmt built has more labels,
// or longer names or values, than the limits (so expfmt never did the work
// the limits exist to prevent); and if expfmt's series are well within the
// limits, promScan passes the body (so the scan refuses nothing it should
// not).
func FuzzPromScanBoundsExpfmt(f *testing.F) {
	for _, s := range []string{
		"a 1\nb{x=\"y\"} 2 1772366400000\n",
		"m{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 1\n",
		"m{a=\"x=y=z\",b=\"2\"} 1\n",
		"{\"a.b\", x=\"1\",y=\"2\"} 1\n", "{\"a=b\"=\"1\"} 1\n",
		"# HELP m a=b=c=d=e\nm 1\n", "m{a=\"\\\"=\\\\\"} 1\n", "m{a=\"123456789\"} 1\n",
		"# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 2\nh_sum{a=\"1\"} 1\nh_count{a=\"1\"} 2\n",
		"# TYPE s summary\ns{quantile=\"0.5\",a=\"1\"} 1\ns_sum 1\ns_count 2\n",
		"m{a=\"1\"\n,b=\"2\"} 1\n", "m{a\"b\"=\"1\"} 1\n", " \tm { a = \"1\" , b=\"2\" } 1\n",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxTags: 3, MaxNameBytes: 16, MaxTagValueBytes: 8, MaxSamples: -1}.WithDefaults()
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return
		}
		p, _, tooMany, _ := promScan(body, &lim, nil)
		if tooMany {
			t.Fatal("too many with no sample limit")
		}
		fams, err := parsePrometheus(body, nil)
		if err != nil {
			return
		}
		small := true // every series well within the limits
		for name, mf := range fams {
			small = small && len(name) <= 8 && !strings.ContainsAny(name, "\"\\\n")
			for _, m := range mf.GetMetric() {
				ls := m.GetLabel()
				if p == nil && len(ls) > lim.MaxTags {
					t.Fatalf("promScan passed a series of %d labels: %q", len(ls), body)
				}
				small = small && len(ls) < lim.MaxTags
				for _, l := range ls {
					if p == nil && (len(l.GetName()) > lim.MaxNameBytes || len(l.GetValue()) > lim.MaxTagValueBytes) {
						t.Fatalf("promScan passed label %q=%q: %q", l.GetName(), l.GetValue(), body)
					}
					small = small && len(l.GetName()) <= 8 && len(l.GetValue()) <= lim.MaxTagValueBytes
				}
			}
		}
		if small && p != nil {
			t.Fatalf("promScan refused %q (%v), whose series are within the limits", body, p)
		}
	})
}
