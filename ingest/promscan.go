package ingest

import (
	"bytes"
	"fmt"
)

// promScan reads a Prometheus text body once, line by line, before expfmt
// parses it, and refuses what breaks a limit as soon as the limit is passed:
// more than MaxSamples sample lines (tooMany), a sample line with more than
// MaxTags labels (empty values included), a metric or label name longer than
// MaxNameBytes or a label value longer than MaxTagValueBytes (unescaped). It
// returns the first such problem, located by line and column, and the offset
// where its line starts; nil when there is none.
//
// Why before and not after: expfmt's TextParser checks each label of a
// series for duplicates by rebuilding a set of all the labels before it, so
// its time grows with the square of the labels of one series (300,000
// labels, 3.5 MB: over a minute). Every label expfmt reads is a name, an '='
// outside quotes and a quoted value on one line (a raw newline inside quotes
// is an error to expfmt), so counting the '=' outside quotes on a line
// bounds the labels expfmt can read there: once promScan has passed a body,
// expfmt's work on each line is at most MaxTags², and its whole work is
// linear in the body. promScan itself costs one pass with no allocation.
//
// promScan decides nothing about syntax: a body it passes may still be
// refused by expfmt, and for a body it refuses the caller asks expfmt about
// the lines before the problem, so that an earlier syntax error is reported
// first.
func promScan(body []byte, lim *Limits, done <-chan struct{}) (p *Problem, lineStart int, tooMany bool, err error) {
	line, series := 0, 0
	for start := 0; start < len(body); {
		if line&stopEvery == stopEvery && stopped(done) {
			return nil, 0, false, ErrStopped
		}
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		line++
		switch p, kind := promScanLine(body[start:end], line, lim); kind {
		case promSeries:
			series++
			if lim.MaxSamples > 0 && series > lim.MaxSamples {
				return nil, 0, true, nil
			}
		case promBad:
			return &p, start, false, nil
		}
		start = end + 1
	}
	return nil, 0, false, nil
}

// What promScanLine found on a line.
const (
	promNone   = iota // a blank line or a comment (HELP and TYPE too)
	promSeries        // a sample line within the limits
	promBad           // a sample line that breaks a limit
)

// promScanLine checks one line (without its newline); see promScan.
func promScanLine(ln []byte, line int, lim *Limits) (Problem, int) {
	i := 0
	for i < len(ln) && (ln[i] == ' ' || ln[i] == '\t') {
		i++
	}
	if i == len(ln) || ln[i] == '#' {
		return Problem{}, promNone
	}
	var (
		metric    []byte // the metric name, for messages (empty if unknown)
		name      []byte // the last label name, for messages
		labels    int
		inQuote   bool
		escaped   bool
		qStart    int  // offset of the opening quote
		qLen      int  // unescaped length of the quoted string so far
		qValue    bool // the quoted string is a label value (it follows '=')
		runStart  = -1 // start of an unquoted run of name bytes
		runs      int  // unquoted runs ended so far
		inBraces  bool // between the first '{' and the first '}'
		braced    bool // a '{' has been seen
		labelAt   = i  // where the current label starts
		prev      byte // the last byte outside quotes that is not blank
		nameLimit = lim.MaxNameBytes
	)
	bad := func(at int, msg string) (Problem, int) {
		if len(metric) > 0 && len(metric) <= nameLimit {
			msg = string(metric) + ": " + msg
		}
		return Problem{Line: line, Column: at + 1, Index: -1, Message: msg}, promBad
	}
	for j := i; j <= len(ln); j++ {
		c := byte('\n') // the end of the line ends a run like any separator
		if j < len(ln) {
			c = ln[j]
		}
		if inQuote {
			switch {
			case escaped:
				escaped = false
				qLen++
			case c == '\\':
				escaped = true
			case c == '"':
				inQuote, prev = false, c
				switch s := ln[qStart+1 : j]; {
				case qValue:
				case !braced:
					metric = s
				default:
					name = s // or the metric name, if a ',' or '}' follows
				}
				continue
			default:
				qLen++
			}
			// Refused as soon as the limit is passed, not at the end.
			switch {
			case qValue && qLen > lim.MaxTagValueBytes:
				return bad(qStart, fmt.Sprintf("label %q: value is more than %d bytes long, the limit", trimName(name, nameLimit), lim.MaxTagValueBytes))
			case !qValue && qLen > nameLimit:
				return bad(qStart, fmt.Sprintf("name is more than %d bytes long, the limit", nameLimit))
			}
			continue
		}
		// A run in braces is a name; before them, the first run is the
		// metric name. Runs after the braces are the value and the
		// timestamp, which are not names.
		isName := inBraces || (!braced && runs == 0)
		if runStart >= 0 && promNameByte(c) && isName && j-runStart >= nameLimit {
			what := "label name"
			if !inBraces {
				what = "metric name"
			}
			return bad(runStart, fmt.Sprintf("%s is more than %d bytes long, the limit", what, nameLimit))
		}
		if runStart >= 0 && !promNameByte(c) {
			if isName {
				if inBraces {
					name = ln[runStart:j]
				} else {
					metric = ln[runStart:j]
				}
			}
			runs++
			runStart = -1
		}
		switch c {
		case '"':
			inQuote, escaped, qStart, qLen, qValue = true, false, j, 0, prev == '='
		case '{':
			if !braced {
				braced, inBraces = true, true
				labelAt = j + 1
			}
		case ',':
			labelAt = j + 1
			if labels == 0 && len(metric) == 0 {
				metric, name = name, nil // {"metric.name", …}
			}
		case '=':
			labels++
			if labels > lim.MaxTags {
				for labelAt < j && (ln[labelAt] == ' ' || ln[labelAt] == '\t') {
					labelAt++
				}
				return bad(labelAt, fmt.Sprintf("more than %d labels in one series, the limit", lim.MaxTags))
			}
		case '}':
			inBraces = false
			if labels == 0 && len(metric) == 0 {
				metric, name = name, nil // {"metric.name"}
			}
		default:
			if runStart < 0 && promNameByte(c) {
				runStart = j
			}
		}
		if c != ' ' && c != '\t' {
			prev = c
		}
	}
	return Problem{}, promSeries
}

// promNameByte is a byte of an unquoted metric or label name.
func promNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':'
}

// trimName shortens a name for a message.
func trimName(b []byte, max int) string {
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
