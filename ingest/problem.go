package ingest

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a request, located as precisely as the
// format allows. Line and Column are 1-based (0 = unknown); Index is the
// 0-based position of the sample or point in the request (-1 = unknown).
type Problem struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Index   int    `json:"index"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// DecodeError is what every decoder returns for a request it refuses. It
// lists up to 20 problems in the order found; Truncated says more were left
// out. Handlers answer it with 400, or 413 when TooLarge is set.
type DecodeError struct {
	Format    string // "json", "line protocol", "prometheus", "remote write"
	Problems  []Problem
	Truncated bool
	// TooLarge is set when the request exceeds Limits.MaxSamples.
	TooLarge bool
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s: ", e.Format)
	for i, p := range e.Problems {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects Problems up to the cap.
type problems struct {
	format string
	list   []Problem
	trunc  bool
}

func (ps *problems) add(p Problem) {
	if len(ps.list) >= maxProblems {
		ps.trunc = true
		return
	}
	ps.list = append(ps.list, p)
}

func (ps *problems) full() bool { return len(ps.list) >= maxProblems }

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &DecodeError{Format: ps.format, Problems: ps.list, Truncated: ps.trunc}
}

func tooManySamples(format string, limit int) error {
	return &DecodeError{Format: format, TooLarge: true, Problems: []Problem{{
		Index:   limit,
		Message: fmt.Sprintf("more than %d samples in one request; split it into smaller requests", limit),
	}}}
}
