package charts

import (
	"errors"
	"fmt"
)

// The rules a set of dashboards obeys together, beyond what each one's
// Check says: chart ids unique across dashboards, dashboard ids unique, and
// at most MaxDashboards dashboards and MaxCharts charts in all. They live
// in one place, catalogCheck, which both CheckDashboard (one dashboard put
// next to the others, as the API does) and CheckDashboards (a whole
// catalog, as SetDashboards takes it) use, so the two cannot drift.

// CheckDashboard normalizes and validates d as the board would take it
// next to the dashboards of current with another id (d replaces the one
// with its id, if any): d's own Check, chart ids unique across dashboards,
// and the limits on the number of dashboards and of charts on the board.
// Errors are *FieldError values joined with errors.Join, their fields
// relative to d ("charts[2].id"). current is not modified.
func CheckDashboard(current []Dashboard, d *Dashboard) error {
	var errs []error
	if err := d.Check(); err != nil {
		errs = append(errs, err)
	}
	k := newCatalogCheck()
	for i := range current {
		if current[i].ID != d.ID {
			k.count(&current[i])
		}
	}
	errs = append(errs, k.add(d)...)
	return errors.Join(errs...)
}

// CheckDashboards normalizes and validates ds as SetDashboards takes it:
// each dashboard's Check, dashboard ids and chart ids unique, and the
// limits on the number of dashboards and of charts. Errors name fields as
// "dashboards[1].charts[2].agg".
func CheckDashboards(ds []Dashboard) error {
	var errs []error
	k := newCatalogCheck()
	for i := range ds {
		var these []error
		if err := ds[i].Check(); err != nil {
			these = append(these, err)
		}
		these = append(these, k.add(&ds[i])...)
		if err := errors.Join(these...); err != nil {
			errs = append(errs, prefixFieldErrors(fmt.Sprintf("dashboards[%d].", i), err))
		}
	}
	return errors.Join(errs...)
}

// catalogCheck accumulates the dashboards of a catalog, one at a time, and
// says what each one breaks of the rules they obey together.
type catalogCheck struct {
	dashboards map[string]int    // dashboard id → its place among those added
	owner      map[string]string // chart id → dashboard id
	charts     int               // charts counted so far
	n          int               // dashboards counted so far
	// overDashboards and overCharts are set once a limit was reported, so
	// that the dashboards after the one that crossed it are not blamed too.
	overDashboards, overCharts bool
}

func newCatalogCheck() *catalogCheck {
	return &catalogCheck{dashboards: map[string]int{}, owner: map[string]string{}}
}

// count adds d, already on the board, without judging it.
func (k *catalogCheck) count(d *Dashboard) {
	if _, seen := k.dashboards[d.ID]; !seen {
		k.dashboards[d.ID] = k.n
	}
	k.n++
	k.charts += len(d.Charts)
	for _, c := range d.Charts {
		k.owner[c.ID] = d.ID
	}
}

// add judges d (already checked on its own) against what was added before
// it, then adds it. Fields are relative to d.
func (k *catalogCheck) add(d *Dashboard) []error {
	var errs []error
	if j, dup := k.dashboards[d.ID]; dup {
		errs = append(errs, &FieldError{Field: "id", Message: fmt.Sprintf("%q is already the id of dashboards[%d]", d.ID, j)})
	}
	if len(d.Charts) <= MaxChartsPerDashboard { // else Check refused it, charts unread
		for i, c := range d.Charts {
			if other, ok := k.owner[c.ID]; ok && other != d.ID {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("charts[%d].id", i), Message: fmt.Sprintf("%q is already a chart of dashboard %q (chart ids are unique across dashboards)", c.ID, other)})
			}
		}
	}
	k.count(d)
	if k.n > MaxDashboards && !k.overDashboards {
		k.overDashboards = true
		errs = append(errs, &FieldError{Field: "id", Message: fmt.Sprintf("%d dashboards, at most %d on the board", k.n, MaxDashboards)})
	}
	if k.charts > MaxCharts && !k.overCharts {
		k.overCharts = true
		errs = append(errs, &FieldError{Field: "charts", Message: fmt.Sprintf("%d charts on the board with this dashboard's %d, at most %d in all dashboards together", k.charts, len(d.Charts), MaxCharts)})
	}
	return errs
}
