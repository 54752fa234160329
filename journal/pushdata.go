package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// PushData is the whole data set of a push chart, as PUT
// /api/v1/charts/{id}/data sets it: null stands where a series has no
// value.
type PushData struct {
	Categories []string     `json:"categories"`
	Series     []PushSeries `json:"series"`
}

// PushSeries is one series of PushData.
type PushSeries struct {
	Name string     `json:"name"`
	Data []*float64 `json:"data"`
}

// PutData stores the data of the push chart id, replacing what was there,
// and returns the revision it was stored at (revisions of the bucket only
// rise). It does not validate d: the caller checks it against the chart's
// definition first. Every WatchData, on every node, sees it.
func (j *Journal) PutData(ctx context.Context, id string, d PushData) (uint64, error) {
	key, err := keyOf(id)
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return 0, fmt.Errorf("journal: encode the data of chart %q: %w", id, err)
	}
	rev, err := j.data.Put(ctx, key, b)
	if err != nil {
		return 0, fmt.Errorf("journal: store the data of chart %q: %w", id, err)
	}
	return rev, nil
}

// WatchData calls fn for every push chart's data the bucket holds, then for
// every later change from any node, in revision order, then ready once
// after the data held at the start (at once when there is none). It runs
// until ctx is done (then it returns nil) and calls fn and ready from its
// own goroutine. Data that cannot be read is logged and skipped.
func (j *Journal) WatchData(ctx context.Context, fn func(id string, d PushData, rev uint64), ready func()) error {
	return j.watchBucket(ctx, DataBucketName, func(e kvEntry) {
		if e.deleted {
			return
		}
		var d PushData
		if err := json.Unmarshal(e.value, &d); err != nil {
			j.log.Error("stored push data cannot be read; it is left out", "key", e.key, "revision", e.rev, "err", err)
			return
		}
		fn(idOf(e.key), d, e.rev)
	}, func(initial bool) {
		if initial && ready != nil {
			ready()
		}
	})
}

// idOf is the chart id of a bucket key (see keyOf).
func idOf(key string) string { return strings.ReplaceAll(key, "=", ".") }
