package testpeer

import "bytes"

// FlipAll flips one bit at offset at of every copy of needle in b and
// returns how many it flipped: a bbolt file keeps stale copies of a key in
// free pages (copy-on-write), so damaging "the" key means damaging all.
func FlipAll(b []byte, needle string, at int) int {
	n := 0
	for i := bytes.Index(b, []byte(needle)); i >= 0; n++ {
		b[i+at] ^= 1
		j := bytes.Index(b[i+1:], []byte(needle))
		if j < 0 {
			return n + 1
		}
		i += 1 + j
	}
	return n
}
