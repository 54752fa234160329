package charts

// Publisher delivers encoded frames to whoever watches a topic. The topic of
// a chart is its id.
//
// The board calls Publish for every chart that changed in a tick, then Flush
// once, from its one goroutine: what was published between two Flush calls
// is one tick, and a viewer may receive it as one message. msg is the
// frame's wire encoding; the Publisher keeps it (it must not be modified
// afterwards) as the topic's current state, sent first to new subscribers.
// A nil msg retracts the topic: the chart is gone, and the Publisher drops
// its state.
type Publisher interface {
	Publish(topic string, msg []byte)
	Flush()
}
