package simulator

// The API promises no order, and a client that relies on one (on a retried
// window returning its records as before) loses or repeats data. With
// Config.Shuffle every response walks its window in a fresh order.

// order is a keyed pseudo-random permutation of [0, n): a balanced Feistel
// network on the smallest power of four >= n, cycle-walked back into range.
// It costs O(1) memory, like the rest of a response, whatever the window.
type order struct {
	n    uint64
	bits uint // per half
	mask uint64
	keys [4]uint64
}

// timeOrder is the order of an unshuffled response: by record time.
var timeOrder = order{}

// orderFor returns the order the response with sequence number seq walks a
// window of n records in.
func (s *Simulator) orderFor(n int, seq uint64) order {
	if !s.cfg.Shuffle || n < 2 {
		return timeOrder
	}
	o := order{n: uint64(n), bits: 1}
	for uint64(1)<<(2*o.bits) < o.n {
		o.bits++
	}
	o.mask = 1<<o.bits - 1
	base := mix64(s.keys[saltContent] ^ seq*golden)
	for k := range o.keys {
		o.keys[k] = mix64(base + uint64(k+1)*golden)
	}
	return o
}

// at returns the position (0 .. n-1) of the window's k-th record in this order.
func (o *order) at(k int) int {
	if o.n == 0 {
		return k
	}
	x := uint64(k)
	for {
		l, r := x>>o.bits, x&o.mask
		for _, key := range o.keys {
			l, r = r, l^(mix64(r^key)&o.mask)
		}
		// A bijection of [0, 4^bits); walking the cycle until it lands
		// below n keeps it one of [0, n). 4^bits < 4n: a few steps at most
		// on average.
		if x = l<<o.bits | r; x < o.n {
			return int(x)
		}
	}
}
