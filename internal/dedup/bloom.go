package dedup

import (
	"encoding/binary"
	"math/bits"
)

// bloom is a Bloom filter over SHA-256 hashes: the hash bits are already
// uniform, so its k positions come from two of its words (double hashing)
// with no hashing of its own. About 10 bits per entry, k = 7: ~1% false
// "maybe", never a false "no".
type bloom struct {
	bits []uint64
	mask uint64
}

const bloomK = 7

func newBloom(n int) bloom {
	m := uint64(max(n, 1)) * 10
	m = 1 << bits.Len64(m-1) // a power of two, so a mask picks the bit
	m = max(m, 64)
	return bloom{bits: make([]uint64, m/64), mask: m - 1}
}

func (b *bloom) add(h *[32]byte) {
	h1, h2 := binary.LittleEndian.Uint64(h[8:16]), binary.LittleEndian.Uint64(h[16:24])|1
	for i := uint64(0); i < bloomK; i++ {
		p := (h1 + i*h2) & b.mask
		b.bits[p>>6] |= 1 << (p & 63)
	}
}

func (b *bloom) mayHave(h *[32]byte) bool {
	h1, h2 := binary.LittleEndian.Uint64(h[8:16]), binary.LittleEndian.Uint64(h[16:24])|1
	for i := uint64(0); i < bloomK; i++ {
		p := (h1 + i*h2) & b.mask
		if b.bits[p>>6]&(1<<(p&63)) == 0 {
			return false
		}
	}
	return true
}
