package event

import (
	"encoding/json"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendCanonical appends the canonical JSON of v, the form the record hash is
// taken over. Two records that differ only in key order, whitespace or string
// escaping (\u00e9 vs é, \/ vs /) have the same canonical form; any difference
// in a value, including number spelling (1 vs 1.0), gives a different one.
//
// v is expected as decoded with json.Decoder.UseNumber (map[string]any, []any,
// string, json.Number, bool, nil). Go numbers are written as strconv does;
// other types go through encoding/json first, so the result is still
// deterministic and valid JSON.
func AppendCanonical(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case string:
		return appendString(dst, x)
	case json.Number:
		return appendNumber(dst, string(x))
	case map[string]any:
		if x == nil { // as encoding/json writes a nil map; decoding never yields one
			return append(dst, "null"...)
		}
		return appendObject(dst, x)
	case []any:
		if x == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendCanonical(dst, e)
		}
		return append(dst, ']')
	case float64:
		return appendFloat(dst, x)
	case float32:
		return appendFloat(dst, float64(x))
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10)
	}
	// Anything else (a struct, a map[string]string) is normalized through
	// encoding/json so callers can hand in their own types without us
	// guessing at their layout.
	b, err := json.Marshal(v)
	if err != nil {
		return appendString(dst, "!unsupported: "+err.Error())
	}
	var back any
	if err := decodeUseNumber(b, &back); err != nil {
		return appendString(dst, string(b))
	}
	return AppendCanonical(dst, back)
}

func appendObject(dst []byte, m map[string]any) []byte {
	// Members are collected with their values, so writing them needs no
	// second map lookup, into a stack array that spares the common small
	// object an allocation.
	var arr [24]member
	members := collectMembers(arr[:0], m)
	dst = append(dst, '{')
	for i, kv := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, kv.key)
		dst = append(dst, ':')
		dst = AppendCanonical(dst, kv.val)
	}
	return append(dst, '}')
}

type member struct {
	key string
	val any
}

// collectMembers appends m's members to dst sorted by key bytes, the
// canonical order.
func collectMembers(dst []member, m map[string]any) []member {
	for k, v := range m {
		dst = append(dst, member{k, v})
	}
	sortMembers(dst)
	return dst
}

// sortMembers sorts by key bytes. Records have a dozen or two keys, where a
// plain insertion sort beats the general sort's pivoting and indirect
// comparisons by a wide margin; big objects still get the general sort.
func sortMembers(ms []member) {
	if len(ms) > 32 {
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].key < ms[j-1].key; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// appendFloat writes a Go float the way encoding/json does. NaN and ±Inf have
// no JSON spelling; they become strings so the output stays valid JSON.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendString(dst, strconv.FormatFloat(f, 'g', -1, 64))
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendNumber writes a json.Number exactly as spelled. A hand-built Number
// that is not valid JSON is written as a string rather than breaking the
// document.
func appendNumber(dst []byte, n string) []byte {
	if !isJSONNumber(n) {
		return appendString(dst, n)
	}
	return append(dst, n...)
}

// isJSONNumber reports whether s follows the JSON number grammar (RFC 8259 §6).
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

const hexDigits = "0123456789abcdef"

// plainByte marks the bytes appendString copies as they are: printable ASCII
// other than " and \. Everything else takes the slow path.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainRun returns the index of the first byte at or after i that is not
// plain (len(s) if none). It tests 8 bytes at a time with the bit tricks of
// "Bit Twiddling Hacks" (hasless, haszero): long strings, event.original
// above all, are mostly plain, and writing them is much of a document's cost.
func plainRun(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := nonPlain(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
}

// load64 reads s[i:i+8] as a little-endian word (one load once compiled).
func load64(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// nonPlain marks (high bit of the byte) the bytes of word x that are not
// plain, exactly in its lowest marked byte: with every byte below 0x80 (x's
// high bits clear) a byte's high bit survives these subtractions only if it
// is below 0x20, or is the quote or backslash (xor made it 0), or borrowed
// from a lower byte that was. A borrow only moves up, so the lowest marked
// byte is always a real one: the first byte that is not plain.
func nonPlain(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((x - ones*0x20) | (quote - ones) | (backslash - ones) | x) & highs
}

// appendString writes s as a JSON string with the fewest escapes that keep it
// valid and on one line: only ", \ and C0 controls are escaped, nothing is
// HTML-escaped, and each invalid UTF-8 byte becomes U+FFFD (as encoding/json
// does when decoding). Being minimal and fixed is what makes it canonical;
// escaping every control character is what keeps every document one line.
func appendString(dst []byte, s string) []byte {
	// Room for the quotes and a few escapes up front spares the appends
	// below their growth checks' slow path.
	dst = slices.Grow(dst, len(s)+16)
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// plainRun, by hand: this runs once per escape, and a quote-dense
		// record (event.original) has one every few bytes.
		for {
			if i+8 > len(s) {
				for i < len(s) && plainByte[s[i]] {
					i++
				}
				break
			}
			if m := nonPlain(load64(s, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c == '"' || c == '\\' {
			// The escaped byte itself goes out with the next run.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\')
			start = i
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
