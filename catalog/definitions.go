package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/journal"
)

// ProvisionedError refuses a write to a dashboard the configuration file
// (or --demo) defines: the file wins at every start.
type ProvisionedError struct{ ID string }

func (e *ProvisionedError) Error() string {
	return fmt.Sprintf("dashboard %q is defined in the configuration file (or by --demo), which wins at every start: change it there", e.ID)
}

// Conflict marks the error as a conflict with the state (HTTP 409).
func (e *ProvisionedError) Conflict() bool { return true }

// Definitions owns the dashboards' definitions on this node: it provisions
// the configuration's into the store, applies the store's to the board,
// and writes the API's.
type Definitions struct {
	store *journal.Journal
	board *charts.Board
	log   *slog.Logger
	// onApply runs after every apply of the stored definitions (the push
	// data of a redefined push chart is applied again).
	onApply func(context.Context)
	applied applied

	mu          sync.RWMutex
	provisioned map[string]bool // ids the configuration defines
}

// NewDefinitions returns Definitions over store and board. onApply, if not
// nil, runs after every apply, in Watch's goroutine.
func NewDefinitions(store *journal.Journal, board *charts.Board, log *slog.Logger, onApply func(context.Context)) *Definitions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Definitions{store: store, board: board, log: log, onApply: onApply, provisioned: map[string]bool{}}
}

// IsProvisioned says whether the configuration defines the dashboard id.
func (d *Definitions) IsProvisioned(id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.provisioned[id]
}

// Provision stores the configuration's dashboards (for the ids they name,
// the file wins over what the store holds) and makes them the provisioned
// set. With deleteDropped, a dashboard provisioned before that ds no longer
// names is deleted from the store (a reload); it returns the ids deleted.
func (d *Definitions) Provision(ctx context.Context, ds []charts.Dashboard, deleteDropped bool) (removed []string, err error) {
	stored, err := d.store.Dashboards(ctx)
	if err != nil {
		return nil, err
	}
	for _, def := range ds {
		i := slices.IndexFunc(stored, func(s charts.Dashboard) bool { return s.ID == def.ID })
		switch {
		case i < 0:
		case reflect.DeepEqual(stored[i], def):
			continue
		default:
			d.log.Warn("the configuration replaces the stored definition of a dashboard (the file wins for the ids it names)", "dashboard", def.ID)
		}
		if err := d.store.PutDashboard(ctx, def); err != nil {
			return nil, err
		}
	}
	now := make(map[string]bool, len(ds))
	for _, def := range ds {
		now[def.ID] = true
	}
	d.mu.Lock()
	before := d.provisioned
	d.provisioned = now
	d.mu.Unlock()
	if !deleteDropped {
		return nil, nil
	}
	for id := range before {
		if now[id] {
			continue
		}
		if err := d.store.DeleteDashboard(ctx, id); err != nil {
			d.log.Warn("a dashboard removed from the configuration could not be deleted", "dashboard", id, "err", err)
			continue
		}
		removed = append(removed, id)
	}
	slices.Sort(removed)
	return removed, nil
}

// CheckFile checks the configuration's dashboards against the stored ones
// they do not replace (those written through the API): chart ids must stay
// unique, and the limits hold.
func (d *Definitions) CheckFile(file []charts.Dashboard) error {
	var kept []charts.Dashboard
	for _, s := range d.board.Dashboards() {
		if !d.IsProvisioned(s.ID) && !slices.ContainsFunc(file, func(f charts.Dashboard) bool { return f.ID == s.ID }) {
			kept = append(kept, s)
		}
	}
	for _, def := range file {
		if err := charts.CheckDashboard(kept, &def); err != nil {
			return err
		}
		kept = append(kept, def)
	}
	return nil
}

// Watch applies the stored definitions to the board, then every change
// from any node, until ctx ends. first receives the first set applied.
func (d *Definitions) Watch(ctx context.Context, first func([]charts.Dashboard)) error {
	var sent bool
	return d.store.WatchDashboards(ctx, func(ds []charts.Dashboard) {
		// Keep the log as long as the longest window first, so what the
		// charts will need is not dropped meanwhile.
		if err := d.store.Retain(ctx, journal.Retention(ds)); err != nil && ctx.Err() == nil {
			d.log.Warn("the log's max age could not follow the longest chart window; a restart may show less of it", "err", err)
		}
		d.apply(ctx, ds)
		if d.onApply != nil {
			d.onApply(ctx)
		}
		d.applied.notify()
		if !sent && first != nil {
			sent = true
			first(ds)
		}
	})
}

// apply gives the board the stored definitions. Should they clash (two
// nodes stored dashboards whose chart ids collide at the same moment), the
// dashboards that fit are kept, in id order, and the others are left out
// with an error in the log.
func (d *Definitions) apply(ctx context.Context, ds []charts.Dashboard) {
	err := d.board.SetDashboards(ctx, ds)
	if err == nil || errors.Is(err, charts.ErrClosed) || ctx.Err() != nil {
		return
	}
	var kept []charts.Dashboard
	for _, def := range ds {
		if err := charts.CheckDashboard(kept, &def); err != nil {
			d.log.Error("a stored dashboard is left out: it does not fit with the others", "dashboard", def.ID, "err", err)
			continue
		}
		kept = append(kept, def)
	}
	if err := d.board.SetDashboards(ctx, kept); err != nil && ctx.Err() == nil {
		d.log.Error("the stored dashboards cannot be shown; the previous ones stay", "err", err)
	}
}

// Put checks def next to the other dashboards, stores it, and returns once
// this node's board shows it. created says there was no such dashboard.
// Errors: *ProvisionedError, *charts.FieldError values (invalid), or the
// store's.
func (d *Definitions) Put(ctx context.Context, def charts.Dashboard) (created bool, err error) {
	if d.IsProvisioned(def.ID) {
		return false, &ProvisionedError{ID: def.ID}
	}
	_, exists := d.board.Dashboard(def.ID)
	if err := charts.CheckDashboard(d.board.Dashboards(), &def); err != nil {
		return false, err
	}
	if err := d.store.PutDashboard(ctx, def); err != nil {
		return false, err
	}
	d.applied.await(ctx, func() bool {
		got, ok := d.board.Dashboard(def.ID)
		return ok && reflect.DeepEqual(got, def)
	})
	return !exists, nil
}

// Delete removes the dashboard id and returns once this node's board no
// longer shows it. Errors: *ProvisionedError, one wrapping charts.ErrNotFound,
// or the store's.
func (d *Definitions) Delete(ctx context.Context, id string) error {
	if d.IsProvisioned(id) {
		return &ProvisionedError{ID: id}
	}
	if err := d.store.DeleteDashboard(ctx, id); err != nil {
		return err
	}
	d.applied.await(ctx, func() bool {
		_, ok := d.board.Dashboard(id)
		return !ok
	})
	return nil
}
