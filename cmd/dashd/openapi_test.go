package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// ginParam matches gin's :name and *name path parameters.
var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// docs/openapi.yaml documents every route the server registers, and no
// route it does not.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Errorf("openapi: %q, want 3.x", v)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("docs/openapi.yaml has no paths")
	}
	documented := map[string]bool{}
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch":
			default:
				continue
			}
			documented[strings.ToUpper(method)+" "+p] = true
			o, _ := op.(map[string]any)
			if _, ok := o["responses"]; !ok {
				t.Errorf("%s %s has no responses", method, p)
			}
		}
	}

	s := startServer(t, nil)
	var registered []string
	routes := s.router.(*gin.Engine).Routes()
	for _, r := range routes {
		// HEAD is served wherever GET is (README); it is not listed twice.
		if r.Method == "HEAD" && slices.ContainsFunc(routes, func(g gin.RouteInfo) bool { return g.Method == "GET" && g.Path == r.Path }) {
			continue
		}
		registered = append(registered, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	if len(registered) < 20 {
		t.Fatalf("only %d routes registered: %v", len(registered), registered)
	}
	for _, r := range registered {
		if !documented[r] {
			t.Errorf("route %s is not in docs/openapi.yaml", r)
		}
	}
	for d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("docs/openapi.yaml documents %s, which the server does not serve", d)
		}
	}
}
