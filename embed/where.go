package embed

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The bounds of a token's Where: a filter names a tenant, not a query, and
// every distinct filter can cost the server a view of its own.
const (
	MaxWhereKeys     = 4
	MaxWhereKeyLen   = 64
	MaxWhereValueLen = 128
)

// CheckWhere returns an error saying what is wrong with a token's tag
// filters, or nil: at most MaxWhereKeys keys, each non-empty and at most
// MaxWhereKeyLen bytes, each value non-empty and at most MaxWhereValueLen
// bytes, all valid UTF-8 without control characters.
func CheckWhere(where map[string]string) error {
	if len(where) > MaxWhereKeys {
		return fmt.Errorf("where has %d tags, at most %d", len(where), MaxWhereKeys)
	}
	for k, v := range where {
		switch {
		case k == "":
			return fmt.Errorf("where has an empty tag key")
		case len(k) > MaxWhereKeyLen:
			return fmt.Errorf("where: the tag key %.20q… has %d bytes, at most %d", k, len(k), MaxWhereKeyLen)
		case v == "":
			return fmt.Errorf("where: the tag %q has an empty value", k)
		case len(v) > MaxWhereValueLen:
			return fmt.Errorf("where: the value of the tag %q has %d bytes, at most %d", k, len(v), MaxWhereValueLen)
		case !printable(k):
			return fmt.Errorf("where: the tag key %q is not printable UTF-8", k)
		case !printable(v):
			return fmt.Errorf("where: the value of the tag %q is not printable UTF-8", k)
		}
	}
	return nil
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// ParseWhere parses "key=value" items (the --where flag) into a filter,
// checked by CheckWhere.
func ParseWhere(items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	where := map[string]string{}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("where %q is not key=value", item)
		}
		if _, dup := where[k]; dup {
			return nil, fmt.Errorf("where names the tag %q twice", k)
		}
		where[k] = v
	}
	return where, CheckWhere(where)
}
