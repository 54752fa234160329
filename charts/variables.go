package charts

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dashd/dashd/ingest"
)

// Dashboard variables (issue 15): a dashboard declares variables bound to
// tag keys, and its charts use them in where as "$NAME":
//
//	variables: [{name: region, tag: region}]
//	charts: [{id: c, metric: m, x: host, where: {region: $region}}]
//
// Unbound (no value chosen), a variable matches every value of its tag:
// the chart's own view reads them all. A value chosen (?var-region=eu) is
// a filter on the chart (Dashboard.Filter), served by a filtered view
// (filtered.go) shared with every viewer of that choice; an embed token's
// where pins it.

// Variable is one variable of a dashboard.
type Variable struct {
	Name string `json:"name" yaml:"name"`
	Tag  string `json:"tag" yaml:"tag"`
}

// MaxVariables bounds the variables of one dashboard.
const MaxVariables = 8

// VarRef returns the variable a where value names ("$region" → "region").
func VarRef(value string) (string, bool) {
	return strings.CutPrefix(value, "$")
}

// checkVariables checks d's variables and the charts' references to them.
func (d *Dashboard) checkVariables() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(d.Variables) > MaxVariables {
		bad("variables", "%d variables, at most %d", len(d.Variables), MaxVariables)
		return errs
	}
	byName := map[string]Variable{}
	for i, v := range d.Variables {
		switch {
		case !idPattern.MatchString(v.Name):
			bad(fmt.Sprintf("variables[%d].name", i), "%q is not a valid name (expected 1-64 letters, digits, '_', '.' or '-')", v.Name)
		case v.Tag == "" || len(v.Tag) > 64:
			bad(fmt.Sprintf("variables[%d].tag", i), "is %q (expected the tag key the variable chooses, at most 64 bytes)", v.Tag)
		default:
			if _, dup := byName[v.Name]; dup {
				bad(fmt.Sprintf("variables[%d].name", i), "%q is declared twice", v.Name)
			}
			byName[v.Name] = v
		}
	}
	for i, c := range d.Charts {
		for k, val := range c.Where {
			name, ok := VarRef(val)
			if !ok {
				continue
			}
			v, declared := byName[name]
			switch {
			case !declared:
				bad(fmt.Sprintf("charts[%d].where.%s", i, k), "names the variable %q, which the dashboard does not declare (variables: [{name: %s, tag: %s}])", name, name, k)
			case v.Tag != k:
				bad(fmt.Sprintf("charts[%d].where.%s", i, k), "names the variable %q, bound to the tag %q, not %q", name, v.Tag, k)
			}
		}
	}
	return errs
}

// Filter is the tag filter of chart c (one of d's) when d's variables
// take the values in vars (by name; absent: unbound), or nil when none of
// c's where names a variable that has a value.
func (d *Dashboard) Filter(c Chart, vars map[string]string) map[string]string {
	var out map[string]string
	for k, val := range c.Where {
		if name, ok := VarRef(val); ok {
			if chosen, ok := vars[name]; ok {
				if out == nil {
					out = map[string]string{}
				}
				out[k] = chosen
			}
		}
	}
	return out
}

// Variable returns d's variable of that name.
func (d *Dashboard) Variable(name string) (Variable, bool) {
	for _, v := range d.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// MaxVariableValues bounds the values the board remembers of each chart's
// variable tag, and so the choices a dashboard page offers.
const MaxVariableValues = 100

// rebuildVars follows a change of definitions: which charts bind which
// tags to variables. The values seen of a chart still bound are kept.
func (st *boardState) rebuildVars() {
	st.varTags = map[string][]string{}
	for id, v := range st.views {
		for k, val := range v.def.Where {
			if _, ok := VarRef(val); ok {
				st.varTags[id] = append(st.varTags[id], k)
			}
		}
	}
	for id := range st.seen {
		if st.varTags[id] == nil {
			delete(st.seen, id)
		}
	}
}

// see records the values s carries for tags, bounded.
func (st *boardState) see(id string, tags []string, s *ingest.Sample) {
	if st.seen == nil {
		st.seen = map[string]map[string]map[string]struct{}{}
	}
	byTag := st.seen[id]
	if byTag == nil {
		byTag = map[string]map[string]struct{}{}
		st.seen[id] = byTag
	}
	for _, k := range tags {
		val, ok := s.Tag(k)
		if !ok {
			continue
		}
		vals := byTag[k]
		if vals == nil {
			vals = map[string]struct{}{}
			byTag[k] = vals
		}
		if _, dup := vals[val]; !dup && len(vals) < MaxVariableValues {
			vals[val] = struct{}{}
		}
	}
}

// VariableValues returns, for each variable of dashboard id, the values
// its tag has taken in the samples of the charts that use it since the
// board started (replay included), sorted, at most MaxVariableValues.
func (b *Board) VariableValues(ctx context.Context, id string) (map[string][]string, error) {
	d, ok := b.Dashboard(id)
	if !ok {
		return nil, ErrNotFound
	}
	out := map[string][]string{}
	err := b.do(ctx, func(st *boardState) {
		for _, v := range d.Variables {
			set := map[string]struct{}{}
			for _, c := range d.Charts {
				for k, val := range c.Where {
					if name, ok := VarRef(val); ok && name == v.Name {
						for x := range st.seen[c.ID][k] {
							if len(set) < MaxVariableValues {
								set[x] = struct{}{}
							}
						}
					}
				}
			}
			out[v.Name] = slices.Sorted(maps.Keys(set))
		}
	})
	return out, err
}
