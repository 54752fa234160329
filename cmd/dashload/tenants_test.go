package main

import (
	"strings"
	"testing"
)

// With --tenants, every sample of every format carries its tenant, the
// data round-robin and the probes by push; without, none does.
func TestTenantTags(t *testing.T) {
	t.Parallel()
	cats, series := []string{catName(0), catName(1)}, []string{seriesName(0)}
	for _, format := range []string{"json", "lp", "prom"} {
		with := bodyShape{charts: 1, categories: 2, series: 1, batch: 4, tenants: 3}
		got := string(appendBody(nil, format, with.samples(nil, 5, cats, series)))
		for _, want := range []string{"t0002", "t0000", "t0001"} { // the probe of push 5, then data 0, 1, 2
			if !strings.Contains(got, want) {
				t.Errorf("%s with 3 tenants: no %s in %s", format, want, got)
			}
		}
		if n := strings.Count(got, "tenant"); n != 4 {
			t.Errorf("%s: %d tenant tags for 4 samples: %s", format, n, got)
		}
		without := bodyShape{charts: 1, categories: 2, series: 1, batch: 4}
		if got := string(appendBody(nil, format, without.samples(nil, 5, cats, series))); strings.Contains(got, "tenant") {
			t.Errorf("%s without tenants: %s", format, got)
		}
	}
}

// With --tenant-categories own, each data sample's category is its
// tenant's own (t0001-c001), in every format; the probes keep theirs.
func TestTenantOwnCategories(t *testing.T) {
	t.Parallel()
	cats, series := []string{catName(0), catName(1)}, []string{seriesName(0)}
	for _, format := range []string{"json", "lp", "prom"} {
		own := bodyShape{charts: 1, categories: 2, series: 1, batch: 4, tenants: 3, ownCategories: true}
		got := string(appendBody(nil, format, own.samples(nil, 5, cats, series)))
		for _, want := range []string{"t0000-c000", "t0001-c001", "t0002-c000", probeCategory} {
			if !strings.Contains(got, want) {
				t.Errorf("%s, own categories: no %s in %s", format, want, got)
			}
		}
		shared := bodyShape{charts: 1, categories: 2, series: 1, batch: 4, tenants: 3}
		if got := string(appendBody(nil, format, shared.samples(nil, 5, cats, series))); strings.Contains(got, "-c00") {
			t.Errorf("%s, shared categories: %s", format, got)
		}
	}
}
