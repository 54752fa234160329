package ingest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a moment as a sample's "time" is read: an RFC 3339 time
// ("2006-01-02T15:04:05Z", fractions allowed) or a Unix number in s, ms, µs
// or ns, told apart by its size (a fraction allowed). It is for times typed
// outside a sample, in a URL (rewind's ?at=T); the error says what was
// expected.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("no time given (expected an RFC 3339 time such as 2006-01-02T15:04:05Z, or a Unix number)")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// A number: digits, sign, point and exponent only (not "NaN", "Inf").
	if _, err := strconv.ParseFloat(s, 64); strings.Trim(s, "+-.0123456789eE") == "" && (err == nil || errors.Is(err, strconv.ErrRange)) {
		t, msg := unixTime([]byte(s))
		if msg != "" {
			return time.Time{}, errors.New(msg)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (e.g. 2006-01-02T15:04:05Z) nor a Unix number", s)
}
