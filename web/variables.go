package web

import (
	"net/http"

	"github.com/dashd/dashd/charts"
)

// variableView is one dashboard variable's selector: the values seen
// (bounded by charts.MaxVariableValues), and the one chosen in the URL
// (?var-NAME=…; "" for all).
type variableView struct {
	Name   string
	Values []string
	Chosen string
}

// variablesOf is the selectors of d's variables as r chooses them. A
// value chosen in the URL but not seen yet is offered too, so the page
// says what it shows.
func (s *server) variablesOf(r *http.Request, d charts.Dashboard) []variableView {
	if len(d.Variables) == 0 {
		return nil
	}
	var seen map[string][]string
	if s.variables != nil {
		seen, _ = s.variables(r, d.ID) // none offered if the board is away
	}
	out := make([]variableView, 0, len(d.Variables))
	q := r.URL.Query()
	for _, v := range d.Variables {
		vv := variableView{Name: v.Name, Values: seen[v.Name], Chosen: q.Get("var-" + v.Name)}
		found := vv.Chosen == ""
		for _, x := range vv.Values {
			found = found || x == vv.Chosen
		}
		if !found {
			vv.Values = append([]string{vv.Chosen}, vv.Values...)
		}
		out = append(out, vv)
	}
	return out
}
