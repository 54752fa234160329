// Package config owns dashd's configuration file: its schema (File, the
// dashboards-as-code included), the defaults (Default, the one place they
// are written down), and the checks a file must pass before dashd starts.
//
// Load is strict: an unknown key, a value of the wrong type, a bad duration
// or a chart that names nothing it can draw is an error. Every problem found
// is reported at once in an *Error, each as
//
//	dashd.yaml:14:14: dashboards[0].charts[1].agg: "median" is not an aggregation (expected sum, count, avg, min, max, last or rate)
//
// that is the file, the line and column, the key path and what was expected;
// Error.Detail adds the source lines with a caret.
//
// Secrets stay out of every message: the values under auth (but auth.read
// and auth.open), and under any field tagged `secret:"true"`, are told by
// their kind and length only ("found a string (value hidden, 24 bytes)"),
// and Detail shows their lines with the value cut off. The place and the key
// are still given.
//
// The flags and the environment are cmd/dashd's; it lays them over the file
// with File.Apply and checks the result with File.Validate.
//
// The package has no state: every function may be called from any
// goroutine; a *File belongs to whoever holds it.
package config
