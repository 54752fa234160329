package journal

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
)

// keyOf is the bucket key of a dashboard id. Ids are letters, digits, '_',
// '.' and '-' (charts checks them); '.' separates tokens in NATS, so it is
// written as '=', which no id contains.
func keyOf(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, "=*> \t\r\n/") {
		return "", &charts.FieldError{Field: "id", Message: fmt.Sprintf("%q cannot be stored as a dashboard id", id)}
	}
	return strings.ReplaceAll(id, ".", "="), nil
}

// PutDashboard stores d under its id, replacing what was there. It does
// not validate d: the caller checks it (charts.Dashboard.Check and the
// chart ids of the other dashboards) before storing it. Every watcher, on
// every node, sees the change.
func (j *Journal) PutDashboard(ctx context.Context, d charts.Dashboard) error {
	key, err := keyOf(d.ID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("journal: encode dashboard %q: %w", d.ID, err)
	}
	if _, err := j.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("journal: store dashboard %q: %w", d.ID, err)
	}
	return nil
}

// DeleteDashboard removes the dashboard id; it answers an error wrapping
// charts.ErrNotFound when there is none.
func (j *Journal) DeleteDashboard(ctx context.Context, id string) error {
	key, err := keyOf(id)
	if err != nil {
		return fmt.Errorf("dashboard %q: %w", id, charts.ErrNotFound)
	}
	if _, err := j.kv.Get(ctx, key); err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("dashboard %q: %w", id, charts.ErrNotFound)
		}
		return fmt.Errorf("journal: read dashboard %q: %w", id, err)
	}
	if err := j.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("journal: delete dashboard %q: %w", id, err)
	}
	return nil
}

// Dashboards returns every stored dashboard, ordered by id.
func (j *Journal) Dashboards(ctx context.Context) ([]charts.Dashboard, error) {
	w, err := j.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("journal: read the dashboards: %w", err)
	}
	defer w.Stop()
	set := map[string]charts.Dashboard{}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("journal: the dashboards bucket closed while being read")
			}
			if e == nil {
				return sorted(set), nil
			}
			j.apply(set, e)
		}
	}
}

// WatchDashboards calls fn with the full set of dashboards, ordered by id:
// once with what the bucket holds, then after every change made by any
// node (changes arriving together give one call). It runs until ctx is
// done (then it returns nil) and calls fn from its own goroutine, one call
// at a time.
func (j *Journal) WatchDashboards(ctx context.Context, fn func([]charts.Dashboard)) error {
	set := map[string]charts.Dashboard{}
	return j.watchBucket(ctx, BucketName, func(e kvEntry) {
		if e.deleted {
			delete(set, e.key)
			return
		}
		var d charts.Dashboard
		if err := json.Unmarshal(e.value, &d); err != nil {
			j.log.Error("a stored dashboard cannot be read; it is left out", "key", e.key, "revision", e.rev, "err", err)
			delete(set, e.key)
			return
		}
		set[e.key] = d
	}, func(bool) { fn(sorted(set)) })
}

func (j *Journal) apply(set map[string]charts.Dashboard, e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		delete(set, e.Key())
		return
	}
	var d charts.Dashboard
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		j.log.Error("a stored dashboard cannot be read; it is left out", "key", e.Key(), "revision", e.Revision(), "err", err)
		delete(set, e.Key())
		return
	}
	set[e.Key()] = d
}

func sorted(set map[string]charts.Dashboard) []charts.Dashboard {
	out := make([]charts.Dashboard, 0, len(set))
	for _, d := range set {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b charts.Dashboard) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
