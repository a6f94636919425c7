package wss

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxExcerpt bounds the server text quoted in an error.
const maxExcerpt = 512

// excerpt turns server-sent bytes into one printable line of at most limit
// bytes: HTML is reduced to its title and text, control characters and
// whitespace runs become one space (no log injection), invalid UTF-8 is
// replaced.
func excerpt(b []byte, limit int) string {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '<' {
		b = htmlText(t)
	}
	var sb strings.Builder
	space, truncated := false, false
	for len(b) > 0 {
		if sb.Len() > limit {
			truncated = true
			break
		}
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r) // RuneError for invalid bytes
	}
	out := sb.String()
	if truncated || len(out) > limit {
		cut := min(max(limit-len("..."), 0), len(out))
		for cut > 0 && cut < len(out) && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimRight(out[:cut], " ") + "..."
	}
	return out
}

// htmlText keeps an HTML page's title and visible text, roughly: enough to
// tell a proxy block page from a login form in a log line.
func htmlText(b []byte) []byte {
	var out []byte
	// ASCII-only lowering keeps offsets valid in both slices; bytes.ToLower
	// may change the length (invalid UTF-8, some case pairs).
	lower := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if i := bytes.Index(lower, []byte("<title")); i >= 0 {
		if j := bytes.IndexByte(lower[i:], '>'); j >= 0 {
			start := i + j + 1
			if k := bytes.Index(lower[start:], []byte("</title")); k >= 0 {
				out = append(out, bytes.TrimSpace(b[start:start+k])...)
				out = append(out, " | "...)
				b, lower = b[start+k:], lower[start+k:]
			}
		}
	}
	skip := ""
	for i := 0; i < len(b); {
		if skip != "" {
			k := bytes.Index(lower[i:], []byte(skip))
			if k < 0 {
				break
			}
			i += k
			skip = ""
			continue
		}
		if b[i] != '<' {
			out = append(out, b[i])
			i++
			continue
		}
		switch {
		case bytes.HasPrefix(lower[i:], []byte("<script")):
			skip = "</script"
		case bytes.HasPrefix(lower[i:], []byte("<style")):
			skip = "</style"
		}
		k := bytes.IndexByte(b[i:], '>')
		if k < 0 {
			break
		}
		i += k + 1
		out = append(out, ' ')
	}
	return out
}
