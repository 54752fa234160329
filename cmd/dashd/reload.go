package main

import (
	"context"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/dashd/dashd/config"
)

// DefaultReloadInterval is how often the configuration file is checked for
// a change (its modification time and size).
const DefaultReloadInterval = 2 * time.Second

// fileStamp is what tells that a file changed without reading it.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// watchConfig reloads the configuration file when it changes and then
// stays unchanged for one Config.ReloadInterval and on every value of Config.Hangup (SIGHUP),
// until ctx ends; last is the file's stamp when it was loaded. Without a
// ConfigPath it only drains Hangup.
func (m *Main) watchConfig(ctx context.Context, last fileStamp) {
	path := m.cfg.ConfigPath
	every := m.cfg.ReloadInterval
	if every <= 0 {
		every = DefaultReloadInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	// settling is the stamp of a change seen at the last tick. A change is
	// applied only when the file is the same one tick later: a file written
	// in place (truncated, then written) must not be read half-written,
	// where an empty or cut file would delete the dashboards it lost.
	var settling *fileStamp
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.cfg.Hangup:
			if path == "" {
				m.log.Warn("SIGHUP: there is no configuration file to reload (start with --config FILE)")
				continue
			}
			m.log.Info("SIGHUP: reloading the configuration", "file", path)
			last, _ = stampOf(path)
			m.Reload(ctx)
		case <-tick.C:
			if path == "" {
				continue
			}
			now, err := stampOf(path)
			if err != nil || now == last {
				settling = nil
				continue // a file being replaced may be missing for a moment
			}
			if settling == nil || *settling != now {
				settling = &now // changed: wait one tick for it to settle
				continue
			}
			last, settling = now, nil
			m.log.Info("the configuration file changed; reloading it", "file", path)
			m.Reload(ctx)
		}
	}
}

// Reload reads the configuration file again and applies what can change
// while dashd runs: the dashboards. They are provisioned into the bucket
// (so every node shows them), and a dashboard this node provisioned from
// the file before but the file no longer names is deleted from the
// bucket; dashboards made through the API are left alone. Every other
// setting that differs is logged as needing a restart. A file that does
// not load is logged with every problem and changes nothing. It returns
// whether the dashboards were applied.
func (m *Main) Reload(ctx context.Context) bool {
	f, err := config.Load(m.cfg.ConfigPath)
	if err == nil {
		f.Apply(m.cfg.Overrides)
		err = f.Validate()
	}
	if err != nil {
		m.log.Error("the configuration file was not reloaded: nothing changed", "file", m.cfg.ConfigPath, "err", err)
		return false
	}
	if keys := restartKeys(m.cfg.File, f); len(keys) > 0 {
		m.log.Warn("settings changed in the configuration file take effect only after a restart", "keys", strings.Join(keys, ", "))
	}
	ds := f.Dashboards
	if m.cfg.Demo {
		ds = m.withDemo(ds)
	}
	if err := m.defs.CheckFile(ds); err != nil {
		m.log.Error("the configuration file was not reloaded: its dashboards clash with stored ones; nothing changed", "file", m.cfg.ConfigPath, "err", err)
		return false
	}
	removed, err := m.defs.Provision(ctx, ds, true)
	if err != nil {
		m.log.Error("the reloaded dashboards could not be stored", "err", err)
		return false
	}
	m.log.Info("reloaded the configuration", "file", m.cfg.ConfigPath, "dashboards", len(ds), "removed", removed)
	return true
}

// restartKeys lists the keys (as written in the file) of the settings
// besides the dashboards that differ between old and new.
func restartKeys(old, new *config.File) []string {
	var keys []string
	ov, nv := reflect.ValueOf(*old), reflect.ValueOf(*new)
	t := ov.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if key == "dashboards" || key == "" {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			keys = append(keys, key)
		}
	}
	return keys
}
