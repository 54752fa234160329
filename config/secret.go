package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Secrets: a config error must say where and what is wrong without
// showing a token or a key, since errors end up in logs, terminals and
// issue reports. Which values are secret is said by the struct tag
// `secret:"true"` (File.Auth), inherited by everything below it unless a
// field is tagged `secret:"false"` (auth.read, auth.open): a key added to
// auth later is secret without anyone remembering to say so.
//
// Four layers keep them out of messages:
//   - the walker describes a secret value by its kind and length only;
//   - every message is scrubbed of the secret texts the file holds
//     (scrub), for what reaches a secret by another road (an alias, goccy's
//     own wording);
//   - a goccy message placed on a line that holds a secret loses its
//     double-quoted parts, which is where goccy quotes values;
//   - Error.Detail shows the lines that hold secrets with their values cut.

// hidden replaces a secret in text.
const hidden = "(value hidden)"

// minScrub is the shortest secret scrub looks for in free text: shorter
// ones would cut ordinary words out of messages ("a", "to"), and are no
// secret worth the name. The walker hides secrets of any length where
// they are named.
const minScrub = 4

// secretTag reads sf's `secret` tag: whether it sets secrecy, and to what.
func secretTag(sf reflect.StructField) (set, secret bool) {
	switch sf.Tag.Get("secret") {
	case "true":
		return true, true
	case "false":
		return true, false
	}
	return false, false
}

// pathSecret reports whether the value at a key path ("auth.embed_secret",
// "auth.ingest_tokens[1]", indices optional) is secret. A path that leaves
// the schema (an unknown key, a key under a scalar) keeps the secrecy of
// the part that resolved.
func pathSecret(path string) bool {
	t := reflect.TypeFor[File]()
	secret := false
	for seg := range strings.SplitSeq(path, ".") {
		name, _, _ := strings.Cut(seg, "[")
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem() // seg is a map key
			continue
		case reflect.Struct:
		default:
			return secret
		}
		i, ok := yamlFields(t).index[name]
		if !ok {
			return secret
		}
		sf := t.Field(i)
		if set, s := secretTag(sf); set {
			secret = s
		}
		t = sf.Type
	}
	return secret
}

// hide describes the value n of a secret key, for "found …": its kind and
// length, never its text.
func hide(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, *ast.LiteralNode:
		return describe(n)
	case *ast.StringNode:
		return fmt.Sprintf("a string %s", hiddenLen(len(v.Value)))
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number " + hidden
	case *ast.BoolNode:
		return "true or false " + hidden
	}
	if tk := n.GetToken(); tk != nil {
		return "a value " + hiddenLen(len(tk.Value))
	}
	return "a value " + hidden
}

func hiddenLen(n int) string { return fmt.Sprintf("(value hidden, %d bytes)", n) }

// scalarTexts returns the text of every scalar under n (map keys
// included), for scrub.
func scalarTexts(n ast.Node) []string {
	var out []string
	ast.Walk(visitFunc(func(n ast.Node) {
		switch v := n.(type) {
		case *ast.StringNode:
			out = append(out, v.Value)
		case ast.ScalarNode:
			if tk := v.GetToken(); tk != nil {
				out = append(out, tk.Value)
			}
		}
	}), n)
	return out
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor { f(n); return f }

// secretValues returns the secret strings f holds (every string, or string
// in a list or map, under a secret field).
func secretValues(f *File) []string {
	var out []string
	var visit func(v reflect.Value, secret bool)
	visit = func(v reflect.Value, secret bool) {
		switch v.Kind() {
		case reflect.String:
			if secret {
				out = append(out, v.String())
			}
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				visit(v.Elem(), secret)
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				visit(v.Index(i), secret)
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				visit(it.Key(), secret)
				visit(it.Value(), secret)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				s := secret
				if set, tag := secretTag(v.Type().Field(i)); set {
					s = tag
				}
				if v.Type().Field(i).IsExported() {
					visit(v.Field(i), s)
				}
			}
		}
	}
	visit(reflect.ValueOf(f), false)
	return out
}

// scrub replaces each secret of at least minScrub bytes in text.
func scrub(text string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= minScrub && strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, hidden)
		}
	}
	return text
}

// quoted matches a double-quoted Go string, as goccy writes values with %q.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// hideQuoted replaces each double-quoted part of a message.
func hideQuoted(msg string) string { return quoted.ReplaceAllString(msg, hidden) }

// keyLine matches a line of block YAML that starts with a key: the
// indentation, an optional "- ", the key, and what follows its colon.
var keyLine = regexp.MustCompile(`^([ \t]*)(-[ \t]+)?("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#'"{}\[\],:&*!|>%@` + "`" + `-][^\s:#]*)[ \t]*:([ \t].*|)$`)

// secretLine is a line of the file that holds a secret value.
type secretLine struct {
	cut  int    // the byte offset from which the line is hidden
	path string // the key the value belongs to, without list indices
}

// secretLines reads src as block YAML, by indentation alone (it must work
// on a file that does not parse), and returns the lines (1-based) that hold
// a secret value. A key line is cut after its colon; any other line inside
// a secret value keeps only its indentation and a "- ". Flow documents on
// one line ("{auth: …}") are not seen here; scrub covers them once they
// parse.
func secretLines(src []byte) map[int]secretLine {
	type open struct {
		col    int
		path   string
		secret bool
	}
	var stack []open
	cut := map[int]secretLine{}
	for i, line := range strings.Split(string(src), "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" {
			continue
		}
		col := len(line) - len(trimmed)
		if m := keyLine.FindStringSubmatchIndex(line); m != nil {
			keyCol := m[6] // where the key starts, after any "- "
			for len(stack) > 0 && stack[len(stack)-1].col >= keyCol {
				stack = stack[:len(stack)-1]
			}
			key := strings.Trim(line[m[6]:m[7]], `"'`)
			path := key
			if len(stack) > 0 {
				path = stack[len(stack)-1].path + "." + key
			}
			secret := pathSecret(path)
			stack = append(stack, open{col: keyCol, path: path, secret: secret})
			if rest := line[m[8]:]; secret && strings.TrimSpace(rest) != "" {
				cut[i+1] = secretLine{len(line) - len(strings.TrimLeft(rest, " \t")), path}
			}
			continue
		}
		// A list item, a continued value, a block scalar's text or a
		// comment: it belongs to the nearest key left of it.
		for j := len(stack) - 1; j >= 0; j-- {
			if stack[j].col < col || (stack[j].col == col && strings.HasPrefix(trimmed, "- ")) {
				if stack[j].secret {
					off := col
					if strings.HasPrefix(trimmed, "- ") {
						off += 2
					}
					cut[i+1] = secretLine{off, stack[j].path}
				}
				break
			}
		}
	}
	return cut
}
