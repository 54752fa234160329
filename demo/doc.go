// Package demo is what `dashd --demo` shows: a few dashboards (Dashboards)
// and a Generator that feeds them made-up but lifelike web traffic, so a
// fresh dashd has something moving to look at.
//
// Dashboards returns new values on every call; a Generator is driven by one
// goroutine (Run, or Batch in tests) and is not safe for concurrent use. The
// same seed and the same clock give the same samples.
package demo
