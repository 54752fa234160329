package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dashd/dashd/config"
)

// yamlKeys lists the key paths of t as docs/configuration.md writes them:
// "auth.read", "dashboards[].charts[].agg".
func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		path := prefix + name
		ft := f.Type
		if ft.Kind() != reflect.Struct {
			keys = append(keys, path) // a section (auth:) has a heading, not a row
		}
		suffix := ""
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft, suffix = ft.Elem(), "[]"
		}
		if ft.Kind() == reflect.Struct && ft.NumField() > 0 && ft.Field(0).Tag.Get("yaml") != "" {
			keys = append(keys, yamlKeys(ft, path+suffix+".")...)
		}
	}
	return keys
}

// The configuration reference names every key of config.File, and no key
// that is not one.
func TestDocumentationListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := yamlKeys(reflect.TypeFor[config.File](), "")
	if len(keys) < 30 {
		t.Fatalf("found only %d keys: %v", len(keys), keys)
	}
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
		if !strings.Contains(string(doc), "| `"+k+"` |") {
			t.Errorf("docs/configuration.md has no row for the key %s", k)
		}
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if k, ok := strings.CutPrefix(line, "| `"); ok {
			k, _, _ = strings.Cut(k, "`")
			if !known[k] {
				t.Errorf("docs/configuration.md documents %s, which is not a key of config.File", k)
			}
		}
	}
}
