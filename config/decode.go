package config

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxProblems is the most problems one *Error lists; the rest are counted.
const MaxProblems = 20

// Problem is one thing wrong in a configuration file.
type Problem struct {
	Line, Column int    // 1-based; 0 when the problem has no place in the file
	Path         string // the key path, e.g. "dashboards[0].charts[1].agg"; "" for the file as a whole
	Message      string // what is wrong and what was expected
}

// Error is every problem Load found in one file. Its Error method gives one
// line per problem, "FILE:LINE:COL: PATH: MESSAGE"; Detail adds the lines of
// the file with a caret under each problem.
type Error struct {
	File     string
	Problems []Problem // in file order, at most MaxProblems
	Omitted  int       // problems found beyond MaxProblems
	source   []byte
	secrets  []string           // secret texts of the file, scrubbed from every message and line shown
	cut      map[int]secretLine // the lines holding secrets (secretLines)
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.headline(p))
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n%s: %d more problems not shown", e.File, e.Omitted)
	}
	return b.String()
}

// Detail is Error with, under each problem, the line of the file it is on
// (and the line before) and a caret under its column.
func (e *Error) Detail() string {
	lines := strings.Split(string(e.source), "\n")
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.headline(p))
		b.WriteByte('\n')
		if p.Line < 1 || p.Line > len(lines) {
			continue
		}
		for n := max(1, p.Line-1); n <= p.Line; n++ {
			fmt.Fprintf(&b, "%5d | %s\n", n, e.shown(n, strings.TrimRight(lines[n-1], "\r")))
		}
		b.WriteString("      | ")
		// Columns count runes; keep tabs so the caret lines up.
		for j, r := range []rune(lines[p.Line-1]) {
			if j >= p.Column-1 {
				break
			}
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString("^\n")
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n%s: %d more problems not shown\n", e.File, e.Omitted)
	}
	return b.String()
}

// shown is line n of the file as Detail may show it: with a secret value
// cut off, and any secret text the file holds elsewhere scrubbed.
func (e *Error) shown(n int, line string) string {
	if c, ok := e.cut[n]; ok && c.cut <= len(line) && strings.TrimSpace(line[c.cut:]) != "" {
		line = line[:c.cut] + hidden
	}
	return scrub(line, e.secrets)
}

func (e *Error) headline(p Problem) string {
	loc := e.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, p.Line, p.Column)
	}
	if p.Path == "" {
		return loc + ": " + p.Message
	}
	return loc + ": " + p.Path + ": " + p.Message
}

func (e *Error) add(pos *token.Position, path, msg string) {
	p := Problem{Path: path, Message: msg}
	if pos != nil {
		p.Line, p.Column = pos.Line, pos.Column
	}
	e.Problems = append(e.Problems, p)
}

// done scrubs the secrets out of the messages, sorts the problems into
// file order, keeps the first MaxProblems and returns e, or nil if there
// are none.
func (e *Error) done() error {
	if len(e.Problems) == 0 {
		return nil
	}
	for i := range e.Problems {
		e.Problems[i].Message = scrub(e.Problems[i].Message, e.secrets)
	}
	slices.SortStableFunc(e.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	if len(e.Problems) > MaxProblems {
		e.Omitted = len(e.Problems) - MaxProblems
		e.Problems = e.Problems[:MaxProblems]
	}
	return e
}

// decode fills f from src in three passes: the YAML syntax; the shape of
// the document against File (unknown keys and values of the wrong type,
// every one with its path, which goccy's strict mode would give only one
// of and, for a bad duration, without a place); then, once it decodes,
// the values themselves.
func decode(name string, src []byte, f *File) error {
	e := &Error{File: name, source: src, cut: secretLines(src)}
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		e.addYAML(err)
		return e.done()
	}
	var body ast.Node
	for _, doc := range file.Docs {
		n := doc.Body
		if _, comment := n.(*ast.CommentGroupNode); n == nil || comment {
			continue
		}
		if body != nil {
			e.add(start(n), "", "a second YAML document (expected one document; remove the '---' or split the file)")
			return e.done()
		}
		body = n
	}
	if body == nil {
		return nil // an empty file: every default
	}

	w := &walker{e: e, pos: make(map[string]*token.Position), drop: make(map[*ast.MappingValueNode]bool)}
	w.walk(body, reflect.TypeFor[File](), "", nil, false)
	e.secrets = w.secrets
	if w.fatal {
		return e.done()
	}
	// Decode what is left once every wrong key is cut out, so that the
	// values can be checked too and every problem is told at once.
	shape := slices.Clone(e.Problems)
	if body = prune(body, w.drop); body != nil {
		// The parser has refused repeated keys already; allowing them here
		// lets a key override one merged in with "<<: *anchor".
		err := yaml.NodeToValue(body, f, yaml.Strict(), yaml.AllowDuplicateMapKey())
		e.secrets = append(e.secrets, secretValues(f)...)
		if err != nil {
			// The walk should have seen it; goccy's error still has a
			// place, and the walk knows the key there.
			e.addYAML(err)
			if p := &e.Problems[len(e.Problems)-1]; p.Line > 0 {
				p.Path = cmp.Or(w.pathAt(p.Line, p.Column), p.Path)
			}
			return e.done()
		}
	}
	for _, fe := range f.validate() {
		if !related(fe.Field, shape) {
			e.add(w.position(fe.Field), fe.Field, fe.Message)
		}
	}
	return e.done()
}

// related says whether a problem was already told about path, or a key
// within it or around it (a cut-out value must not be reported again as
// missing).
func related(path string, told []Problem) bool {
	within := func(p, root string) bool {
		return p == root || strings.HasPrefix(p, root+".") || strings.HasPrefix(p, root+"[")
	}
	for _, p := range told {
		if p.Path != "" && (within(path, p.Path) || within(p.Path, path)) {
			return true
		}
	}
	return false
}

// prune removes the key: value pairs in drop from the tree under n and
// returns what is left of n.
func prune(n ast.Node, drop map[*ast.MappingValueNode]bool) ast.Node {
	if len(drop) == 0 {
		return n
	}
	switch v := n.(type) {
	case *ast.MappingValueNode:
		if drop[v] {
			return nil
		}
		v.Value = prune(v.Value, drop)
	case *ast.MappingNode:
		v.Values = slices.DeleteFunc(v.Values, func(mv *ast.MappingValueNode) bool { return drop[mv] })
		for _, mv := range v.Values {
			mv.Value = prune(mv.Value, drop)
		}
	case *ast.SequenceNode:
		for i := range v.Values {
			v.Values[i] = prune(v.Values[i], drop)
		}
	case *ast.AnchorNode:
		v.Value = prune(v.Value, drop)
	case *ast.TagNode:
		v.Value = prune(v.Value, drop)
	}
	return n
}

// duplicateKey matches goccy's parser error for a repeated key.
var duplicateKey = regexp.MustCompile(`^mapping key (".*") already defined at \[(\d+):\d+\]$`)

// addYAML adds an error from goccy, which carries a token if it knows where.
func (e *Error) addYAML(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		var pos *token.Position
		if tk := ye.GetToken(); tk != nil {
			pos = tk.Position
		}
		msg := ye.GetMessage()
		if m := duplicateKey.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("the key %s appears again (first on line %s; expected each key once)", m[1], m[2])
		} else if c, secret := e.cut[line(pos)]; secret {
			// goccy quotes the values it names (an alias, a block
			// header, what it cannot convert): on a secret's line, hide
			// them, and name the key instead.
			e.add(pos, c.path, hideQuoted(msg))
			return
		}
		e.add(pos, "", msg)
		return
	}
	e.add(nil, "", err.Error())
}

func line(pos *token.Position) int {
	if pos == nil {
		return 0
	}
	return pos.Line
}

// walker checks a YAML tree against the Go type it will decode into and
// records where each key path is.
type walker struct {
	e       *Error
	pos     map[string]*token.Position
	drop    map[*ast.MappingValueNode]bool // key: value pairs to cut out before decoding
	fatal   bool                           // the document itself has the wrong shape
	secrets []string                       // the texts under secret keys
}

// problem records a problem in the value of owner, the key: value pair it
// is in (nil for the document itself).
func (w *walker) problem(owner *ast.MappingValueNode, pos *token.Position, path, msg string) {
	w.e.add(pos, path, msg)
	if owner == nil {
		w.fatal = true
		return
	}
	w.drop[owner] = true
}

// pathAt returns the key path whose key or value starts nearest before
// line:col on that line, or "".
func (w *walker) pathAt(line, col int) string {
	best, bestCol := "", 0
	for path, p := range w.pos {
		if p.Line != line || p.Column > col {
			continue
		}
		if p.Column > bestCol || (p.Column == bestCol && len(path) > len(best)) {
			best, bestCol = path, p.Column
		}
	}
	return best
}

// position returns where path is in the file, or where its nearest
// ancestor is (a missing key is reported at the mapping that lacks it).
func (w *walker) position(path string) *token.Position {
	for path != "" {
		if p, ok := w.pos[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// walk checks n against t. secret says that n is the value of a secret
// key: messages then never show its text (hide), and w.secrets keeps it.
func (w *walker) walk(n ast.Node, t reflect.Type, path string, owner *ast.MappingValueNode, secret bool) {
	if secret && n != nil && t.Kind() != reflect.Struct {
		w.secrets = append(w.secrets, scalarTexts(n)...)
	}
	n = unwrap(n)
	switch n.(type) {
	case nil, *ast.NullNode:
		return // a null leaves the default
	case *ast.AliasNode:
		return // checked where its anchor is
	}
	if path != "" {
		w.pos[path] = start(n)
	}
	found := describe
	if secret {
		found = hide
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		w.scalar(n, t, path, owner, secret)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path, owner, secret)
	case reflect.Struct:
		w.structure(n, t, path, owner, secret)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			w.problem(owner, start(n), path, fmt.Sprintf("expected a list (items on lines starting with '- ', or [a, b]), found %s", found(n)))
			return
		}
		for i, v := range seq.Values {
			w.walk(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), owner, secret)
		}
	case reflect.Map:
		values, ok := mappingValues(n)
		if !ok {
			w.problem(owner, start(n), path, fmt.Sprintf("expected a mapping of key: value, found %s", found(n)))
			return
		}
		for _, mv := range values {
			if mv.Key.IsMergeKey() {
				continue
			}
			p := join(path, keyString(mv.Key))
			w.pos[p] = mv.Key.GetToken().Position
			w.walk(mv.Value, t.Elem(), p, mv, secret)
		}
	default:
		w.scalar(n, t, path, owner, secret)
	}
}

func (w *walker) structure(n ast.Node, t reflect.Type, path string, owner *ast.MappingValueNode, secret bool) {
	fields := yamlFields(t)
	values, ok := mappingValues(n)
	if !ok {
		found := describe
		if secret {
			found = hide
			w.secrets = append(w.secrets, scalarTexts(n)...)
		}
		w.problem(owner, start(n), path, fmt.Sprintf("expected a mapping with the keys %s, found %s", strings.Join(fields.names, ", "), found(n)))
		return
	}
	for _, mv := range values {
		if mv.Key.IsMergeKey() {
			continue
		}
		key := keyString(mv.Key)
		p := join(path, key)
		i, ok := fields.index[key]
		if !ok {
			msg := "unknown key (expected one of " + strings.Join(fields.names, ", ")
			if s := suggest(key, fields.names); s != "" {
				msg += "; did you mean " + s + "?"
			}
			w.problem(mv, mv.Key.GetToken().Position, p, msg+")")
			continue
		}
		w.pos[p] = mv.Key.GetToken().Position
		s := secret
		if set, tag := secretTag(t.Field(i)); set {
			s = tag
		}
		w.walk(mv.Value, t.Field(i).Type, p, mv, s)
	}
}

// scalar decodes n alone into a new t, the way the whole decode will.
func (w *walker) scalar(n ast.Node, t reflect.Type, path string, owner *ast.MappingValueNode, secret bool) {
	describe := describe
	if secret {
		describe = hide
	}
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		w.problem(owner, start(n), path, fmt.Sprintf("expected %s, found %s", want(t), describe(n)))
		return
	}
	if _, isFloat := n.(*ast.FloatNode); isFloat && want(t) == "a whole number" {
		// goccy would quietly drop the fraction.
		w.problem(owner, start(n), path, fmt.Sprintf("%s is not %s", describe(n), want(t)))
		return
	}
	v := reflect.New(t)
	err := yaml.NodeToValue(n, v.Interface(), yaml.Strict())
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not %s", describe(n), want(t))
	switch {
	case errors.As(err, new(*yaml.OverflowError)):
		msg = fmt.Sprintf("%s is out of range for %s", describe(n), want(t))
	case !errors.As(err, new(yaml.Error)) && !secret:
		// A TextUnmarshaler's own error says what it expected (and
		// may quote the value).
		msg = err.Error()
	}
	w.problem(owner, start(n), path, msg)
}

type fieldSet struct {
	names []string       // in declaration order
	index map[string]int // name → field index
}

// yamlFields lists the keys goccy maps to fields of the struct type t.
func yamlFields(t reflect.Type) fieldSet {
	fs := fieldSet{index: make(map[string]int, t.NumField())}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(sf.Name)
		}
		fs.names = append(fs.names, name)
		fs.index[name] = i
	}
	return fs
}

// unwrap looks through anchors (&a) and tags (!!str).
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

// start is where n begins: for a mapping, its first key.
func start(n ast.Node) *token.Position {
	if values, ok := mappingValues(n); ok && len(values) > 0 {
		return values[0].Key.GetToken().Position
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Position
	}
	return nil
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := unwrap(k).(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what the file has at n, for "found …".
func describe(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return fmt.Sprintf("%q", v.Value)
	case *ast.LiteralNode:
		return "a block of text"
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return n.Type().String()
}

// want says what a value of type t looks like in YAML.
func want(t reflect.Type) string {
	if t.Name() == "Duration" {
		return "a duration such as 10s, 5m or 1h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.String()
}

// suggest returns the name closest to key if it is close enough to be a
// typo: the same once case, '_' and '-' are ignored, or at most two edits.
func suggest(key string, names []string) string {
	fold := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	best, bestD := "", 3
	for _, name := range names {
		if fold(name) == fold(key) {
			return name
		}
		if d := distance(key, name); d < bestD && d < len(name) {
			best, bestD = name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
