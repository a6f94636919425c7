package wssaccess

import (
	"bytes"
	"encoding/binary"
)

// A line is plain when writing each of its values as a JSON string needs
// no escape: no byte outside printable ASCII, no backslash, no tab (a tab
// separator could also sit inside a quoted value), and every double quote
// is one that opens or closes a quoted value. That is nearly every line a
// proxy writes, and for them the mapper copies values between quotes
// instead of scanning each one again for escapes (host is written four
// times, the user twice). Any other line takes event's escaping appenders.

// linePlain reports whether b has only printable ASCII other than the
// backslash (quotes allowed), and how many double quotes it holds. It reads
// every byte of every line, so the byte loop is as short as can be: the
// backslash and the quotes are left to bytes' SIMD searches.
func linePlain(b []byte) (plain bool, quotes int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// x - 0x20 in each byte borrows, setting a high bit, only where a byte is
	// below 0x20 (or just above one that did); x itself has one where a byte
	// is 0x80 or more. Either way some byte is not printable ASCII.
	var bad uint64
	i := 0
	for ; i+16 <= len(b); i += 16 {
		x := binary.LittleEndian.Uint64(b[i:])
		y := binary.LittleEndian.Uint64(b[i+8:])
		bad |= (x - ones*0x20) | x | (y - ones*0x20) | y
	}
	if bad&highs != 0 {
		return false, 0
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x80 {
			return false, 0
		}
	}
	if bytes.IndexByte(b, '\\') >= 0 {
		return false, 0
	}
	return true, bytes.Count(b, []byte{'"'})
}
