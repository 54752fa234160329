package ingest

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Default limits, used wherever a Limits field is zero.
const (
	DefaultMaxBodyBytes     = 10 << 20 // 10 MiB, after gzip decompression
	DefaultMaxSamples       = 100_000
	DefaultMaxTags          = 32
	DefaultMaxTagValueBytes = 256
	DefaultMaxNameBytes     = 256
	DefaultMaxFuture        = 5 * time.Minute
	DefaultMaxAge           = 24 * time.Hour
	// maxProblems is how many problems one refusal lists at most.
	maxProblems = 20
)

// Limits bound what one request may carry. A zero field takes its default
// (see WithDefaults); a negative MaxSamples, MaxFuture or MaxAge turns that
// check off. Limits is a plain value: copy it freely.
type Limits struct {
	// MaxBodyBytes bounds the body as read and, for gzip bodies, as
	// decompressed. Larger bodies are refused with 413.
	MaxBodyBytes int64
	// MaxSamples bounds the samples one request decodes to (a line-protocol
	// point with three fields counts three). More is refused with 413.
	MaxSamples int
	// MaxTags bounds the tags (labels) of one sample.
	MaxTags int
	// MaxTagValueBytes bounds the length of one tag value in bytes.
	MaxTagValueBytes int
	// MaxNameBytes bounds metric names, field names and tag keys.
	MaxNameBytes int
	// MaxFuture is how far past the server's clock a sample time may lie.
	MaxFuture time.Duration
	// MaxAge is how far before the server's clock a sample time may lie.
	MaxAge time.Duration
}

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits { return Limits{}.WithDefaults() }

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxSamples == 0 {
		l.MaxSamples = DefaultMaxSamples
	}
	if l.MaxTags <= 0 {
		l.MaxTags = DefaultMaxTags
	}
	if l.MaxTagValueBytes <= 0 {
		l.MaxTagValueBytes = DefaultMaxTagValueBytes
	}
	if l.MaxNameBytes <= 0 {
		l.MaxNameBytes = DefaultMaxNameBytes
	}
	if l.MaxFuture == 0 {
		l.MaxFuture = DefaultMaxFuture
	}
	if l.MaxAge == 0 {
		l.MaxAge = DefaultMaxAge
	}
	return l
}

// DecodeOptions is what a decoder needs besides the bytes.
type DecodeOptions struct {
	// Limits to enforce; zero fields take their defaults.
	Limits Limits
	// Now is the arrival time: the time of samples that carry none, and the
	// reference for MaxFuture and MaxAge. Zero means time.Now().
	Now time.Time
	// Done, if not nil, is closed when the result is no longer wanted (the
	// handlers pass the request context's Done: the client went away). The
	// decoder then stops within about a thousand samples, points or lines
	// (Prometheus: 4 KB of text) and returns ErrStopped.
	Done <-chan struct{}
}

// ErrStopped is what a decoder returns when DecodeOptions.Done is closed
// before it has finished.
var ErrStopped = errors.New("decoding stopped: the result is no longer wanted")

// stopped reports whether done is closed; checked every stopEvery items.
func stopped(done <-chan struct{}) bool {
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// stopEvery is how many samples, points or lines a decoder reads between
// two looks at DecodeOptions.Done (a power of two, minus one as a mask).
const stopEvery = 1<<10 - 1

// checker validates samples against resolved limits for one request.
type checker struct {
	lim            Limits
	now            time.Time
	oldest, newest time.Time // allowed time range, inclusive
	checkOld       bool
	checkNew       bool
	validUTF8      bool // strings are known to be valid UTF-8 already
}

func newChecker(opt DecodeOptions) checker {
	c := checker{lim: opt.Limits.WithDefaults(), now: opt.Now}
	if c.now.IsZero() {
		c.now = time.Now()
	}
	if c.lim.MaxAge > 0 {
		c.checkOld, c.oldest = true, c.now.Add(-c.lim.MaxAge)
	}
	if c.lim.MaxFuture > 0 {
		c.checkNew, c.newest = true, c.now.Add(c.lim.MaxFuture)
	}
	return c
}

// tooMany reports whether n samples exceed the limit.
func (c *checker) tooMany(n int) bool {
	return c.lim.MaxSamples > 0 && n > c.lim.MaxSamples
}

func (c *checker) value(v float64) string {
	if math.IsNaN(v) {
		return "value is NaN; only finite numbers are accepted"
	}
	if math.IsInf(v, 0) {
		return "value is infinite; only finite numbers are accepted"
	}
	return ""
}

func (c *checker) time(t time.Time) string {
	if c.checkNew && t.After(c.newest) {
		return fmt.Sprintf("time %s is more than %s in the future", t.UTC().Format(time.RFC3339Nano), c.lim.MaxFuture)
	}
	if c.checkOld && t.Before(c.oldest) {
		return fmt.Sprintf("time %s is older than the maximum age of %s", t.UTC().Format(time.RFC3339Nano), c.lim.MaxAge)
	}
	return ""
}

// metricName checks a metric or field name: [a-zA-Z_:][a-zA-Z0-9_:.-]*.
func (c *checker) metricName(what, s string) string {
	if s == "" {
		return what + " is empty"
	}
	if len(s) > c.lim.MaxNameBytes {
		return fmt.Sprintf("%s is %d bytes long, more than the limit of %d", what, len(s), c.lim.MaxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i], i == 0, true) {
			return fmt.Sprintf("%s %q: character %q at offset %d is not allowed (want [a-zA-Z_:][a-zA-Z0-9_:.-]*)", what, s, s[i], i)
		}
	}
	return ""
}

// tagKey checks a tag key: [a-zA-Z_][a-zA-Z0-9_.-]*.
func (c *checker) tagKey(s string) string {
	if s == "" {
		return "tag key is empty"
	}
	if len(s) > c.lim.MaxNameBytes {
		return fmt.Sprintf("tag key is %d bytes long, more than the limit of %d", len(s), c.lim.MaxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i], i == 0, false) {
			return fmt.Sprintf("tag key %q: character %q at offset %d is not allowed (want [a-zA-Z_][a-zA-Z0-9_.-]*)", s, s[i], i)
		}
	}
	return ""
}

func (c *checker) tagValue(key, v string) string {
	if len(v) > c.lim.MaxTagValueBytes {
		return fmt.Sprintf("tag %q: value is %d bytes long, more than the limit of %d", key, len(v), c.lim.MaxTagValueBytes)
	}
	if !c.validUTF8 && !utf8.ValidString(v) {
		return fmt.Sprintf("tag %q: value is not valid UTF-8", key)
	}
	return ""
}

// tags sorts ts by key in place and checks count, keys, values and
// duplicates. It returns the first problem found.
func (c *checker) tags(ts []Tag) string {
	if len(ts) > c.lim.MaxTags {
		return fmt.Sprintf("%d tags, more than the limit of %d", len(ts), c.lim.MaxTags)
	}
	sortTags(ts)
	for i := range ts {
		if m := c.tagKey(ts[i].Key); m != "" {
			return m
		}
		if m := c.tagValue(ts[i].Key, ts[i].Value); m != "" {
			return m
		}
		if i > 0 && ts[i-1].Key == ts[i].Key {
			return fmt.Sprintf("tag %q is given twice", ts[i].Key)
		}
	}
	return ""
}

func nameByte(b byte, first, colon bool) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '_':
		return true
	case b == ':':
		return colon
	case b >= '0' && b <= '9', b == '.', b == '-':
		return !first
	}
	return false
}

// sortTags sorts by key; insertion sort, since tag sets are small and often
// already sorted.
func sortTags(ts []Tag) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Key < ts[j-1].Key; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// interner hands out one string per distinct byte sequence within a request,
// so that a batch of samples with the same names and tags shares memory and
// allocates once per distinct string. It is bounded so that a request of
// unique values cannot grow it without limit.
type interner struct {
	m map[string]string
}

const maxInterned = 4096

func (in *interner) str(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string, 64)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}
