package detect

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a Sigma string value after escape processing: literal bytes
// and the two wildcards. Its tokens are bytes (0..255) or the markers below,
// so a literal '*' (written \*) and the wildcard '*' stay distinct.
type pattern []int16

const (
	tokStar     int16 = -1 // any run of characters, also none
	tokQuestion int16 = -2 // exactly one character (one UTF-8 sequence)
)

// parsePattern applies the specification's escaping: a backslash before
// '*', '?' or another backslash makes that character literal; any other
// backslash is itself literal. So `C:\Windows` is as written, `\*` is a
// star, `\\*` a backslash then a wildcard, `\\\*` a backslash then a star.
func parsePattern(s string) pattern {
	p := make(pattern, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				i++
				p = append(p, int16(s[i]))
				continue
			}
			p = append(p, '\\')
		case '*':
			if n := len(p); n > 0 && p[n-1] == tokStar {
				continue // "**" is "*"
			}
			p = append(p, tokStar)
		case '?':
			p = append(p, tokQuestion)
		default:
			p = append(p, int16(c))
		}
	}
	return p
}

// literalPattern is s with no wildcard at all (base64 output, keyword text
// already escaped by the caller).
func literalPattern(s string) pattern {
	p := make(pattern, len(s))
	for i := 0; i < len(s); i++ {
		p[i] = int16(s[i])
	}
	return p
}

func (p pattern) hasWildcard() bool {
	for _, t := range p {
		if t < 0 {
			return true
		}
	}
	return false
}

// wrap puts a star before and/or after p, as contains, startswith and
// endswith do, without doubling a star already there.
func (p pattern) wrap(before, after bool) pattern {
	q := make(pattern, 0, len(p)+2)
	if before && (len(p) == 0 || p[0] != tokStar) {
		q = append(q, tokStar)
	}
	q = append(q, p...)
	if after && (len(q) == 0 || q[len(q)-1] != tokStar) {
		q = append(q, tokStar)
	}
	return q
}

// literal returns the bytes of p, which must hold no wildcard.
func (p pattern) literal() string {
	b := make([]byte, len(p))
	for i, t := range p {
		b[i] = byte(t)
	}
	return string(b)
}

// String writes p back in Sigma syntax (escaping literal wildcards).
func (p pattern) String() string {
	var b strings.Builder
	for _, t := range p {
		switch {
		case t == tokStar:
			b.WriteByte('*')
		case t == tokQuestion:
			b.WriteByte('?')
		case t == '*' || t == '?' || t == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(t))
		default:
			b.WriteByte(byte(t))
		}
	}
	return b.String()
}

// globMatch reports whether s matches p: the iterative star algorithm,
// which backtracks only to the last star, so it is linear in practice and
// never exponential.
func globMatch(p pattern, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch t := p[pi]; {
			case t == tokStar:
				starP, starS = pi, si
				pi++
				continue
			case t == tokQuestion:
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			case byte(t) == s[si]:
				si++
				pi++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last star swallow one more character and retry.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		si = starS
		pi = starP + 1
	}
	for pi < len(p) && p[pi] == tokStar {
		pi++
	}
	return pi == len(p)
}
