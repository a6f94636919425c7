package syslog

import (
	"unicode/utf8"
)

// escapes says, for each ASCII byte, what one context writes instead of it
// ("" = the byte itself). Bytes from 0x80 on are UTF-8: a valid rune other
// than a C1 control is copied, anything else becomes U+FFFD.
type escapes [utf8.RuneSelf]string

const replacement = "\uFFFD"

// newEscapes starts a table in which every control character (C0 and DEL)
// becomes U+FFFD: NUL truncates strings in C-based collectors, ESC paints
// terminals, the rest have no meaning in an audit value. Each format then
// gives tab, CR and LF (and its own specials) their escapes.
func newEscapes(specials map[byte]string) *escapes {
	var t escapes
	for c := 0; c < 0x20; c++ {
		t[c] = replacement
	}
	t[0x7f] = replacement
	for c, s := range specials {
		t[c] = s
	}
	return &t
}

var (
	// sdValue: RFC 5424 section 6.3.3 escapes '"', '\' and ']'. There is
	// no escape for a line break in a PARAM-VALUE, so CR and LF become
	// U+FFFD (the full, exact text is in the payload). Tab is kept.
	sdValue = newEscapes(map[byte]string{'"': `\"`, '\\': `\\`, ']': `\]`, '\t': "\t"})

	// cefHeader: the CEF header escapes '\' and '|'; line breaks are not
	// allowed in it, so tab, CR and LF become a space.
	cefHeader = newEscapes(map[byte]string{'\\': `\\`, '|': `\|`, '\t': " ", '\n': " ", '\r': " "})

	// cefValue: CEF extension values escape '\' and '=', and write line
	// breaks as \n and \r. '|' needs no escape there. Tab is kept.
	cefValue = newEscapes(map[byte]string{'\\': `\\`, '=': `\=`, '\n': `\n`, '\r': `\r`, '\t': "\t"})

	// leefHeader: as cefHeader.
	leefHeader = cefHeader

	// leefValue: LEEF defines no escapes; its values must not hold the
	// attribute delimiter (tab) or a line break. We write them as \t, \n and
	// \r, and '\' as \\ so that the escapes cannot be confused with text.
	// '=' needs no escape: a LEEF parser splits an attribute at its first '='
	// and our keys have none.
	leefValue = newEscapes(map[byte]string{'\\': `\\`, '\t': `\t`, '\n': `\n`, '\r': `\r`})
)

// appendEscaped appends s escaped with t.
func appendEscaped(dst []byte, s string, t *escapes) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if e := t[c]; e != "" {
				dst = append(dst, e...)
			} else {
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || isC1(r) {
			dst = append(dst, replacement...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// appendEscapedMax appends s escaped with t, at most max bytes of it. When s
// does not fit, it is cut between two escaped units and "…" is appended
// within max, so that a cut never splits an escape or a rune.
func appendEscapedMax(dst []byte, s string, t *escapes, max int) []byte {
	start := len(dst)
	dst = appendEscaped(dst, s, t)
	if len(dst)-start <= max {
		return dst
	}
	const ellipsis = "…"
	budget := max - len(ellipsis)
	dst = dst[:start]
	for i := 0; i < len(s); {
		unitStart := len(dst)
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		dst = appendEscaped(dst, s[i:i+n], t)
		if len(dst)-start > budget {
			dst = dst[:unitStart]
			break
		}
		i += n
	}
	return append(dst, ellipsis...)
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// appendPrintASCII appends s as an RFC 5424 header field: PRINTUSASCII
// (33..126) only, every other rune replaced by '_', at most max bytes, and
// the NILVALUE "-" when s is empty.
func appendPrintASCII(dst []byte, s string, max int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	n := 0
	for _, r := range s {
		if n == max {
			break
		}
		if r >= 33 && r <= 126 {
			dst = append(dst, byte(r))
		} else {
			dst = append(dst, '_')
		}
		n++
	}
	return dst
}

// printASCII is appendPrintASCII as a string.
func printASCII(s string, max int) string { return string(appendPrintASCII(nil, s, max)) }

// isPrintASCII reports whether s is 1..max bytes of PRINTUSASCII.
func isPrintASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// safeCut returns the largest cut <= n at which b[:n] may be cut: on a rune
// boundary and not right after an odd number of backslashes (which would
// leave half an escape).
func safeCut(b []byte, n int) int {
	if n >= len(b) {
		return len(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	for {
		k := 0
		for n-k > 0 && b[n-k-1] == '\\' {
			k++
		}
		if k%2 == 0 {
			return n
		}
		n--
	}
}
