// Package ingest turns what clients push into samples.
//
// It owns the Sample type (the one domain noun every other package reads),
// the decoders for each wire format (JSON, InfluxDB line protocol,
// Prometheus text), the limits and token checks, and the HTTP handlers that
// hand decoded batches to a Sink.
//
// Decoding is pure: a decoder reads bytes and returns samples or an error
// that says what is wrong and where; it touches no shared state, so it is
// safe to call from any number of goroutines at once. A request is applied
// all or nothing: either every sample of it reaches the Sink, or none does.
//
// ingest imports nothing else from this module.
package ingest
