package rewind

import "time"

// Waiters is the number of callers waiting for the computation of set at
// at (0: none is running), for tests that must know every caller joined.
func (r *Rewinder) Waiters(set Set, at time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.flights[set.flightKey(at)]; f != nil {
		return f.waiters
	}
	return 0
}
