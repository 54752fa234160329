// Package catalog keeps the board in step with what the store holds: the
// dashboards' definitions (the configuration file's, provisioned at start
// and at every reload, and those written through the API) and the data of
// push charts. Every node runs one Definitions and one PushData that watch
// the store's buckets, so every node shows the same charts.
//
// A write through Definitions.Put, Definitions.Delete or PushData.Put
// returns once this node's board shows it, so a client reads what it wrote;
// it is woken by the apply itself, not by polling.
//
// Definitions and PushData may be used from many goroutines at once; their
// Watch methods run once each, in their own goroutine.
package catalog
