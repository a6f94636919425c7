package wss

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		in, want string
		limit    int
	}{
		{"plain text", "plain text", 512},
		{"  line1\r\n\x1b[31mline2\t\x00 ", "line1 [31mline2", 512},
		{"<html><head><title> Access Denied </title><script>var x=1;</script></head><body><h1>Blocked</h1></body></html>", "Access Denied | Blocked", 512},
		{strings.Repeat("a", 600), strings.Repeat("a", 509) + "...", 512},
		{strings.Repeat("é", 300), strings.Repeat("é", 254) + "...", 512}, // cut on a rune boundary
		{"bad \xff byte", "bad \uFFFD byte", 512},
		{"<\xa1\xa1<TITLE>T\xc3</TITLE", "T\uFFFD |", 512}, // HTML with invalid UTF-8
	}
	for _, tc := range tests {
		got := excerpt([]byte(tc.in), tc.limit)
		if got != tc.want {
			t.Errorf("excerpt(%.40q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > tc.limit {
			t.Errorf("excerpt(%.40q) is %d bytes > %d", tc.in, len(got), tc.limit)
		}
	}
}

func FuzzExcerpt(f *testing.F) {
	f.Add([]byte("<html><title>x</title><body>y</body></html>"), 40)
	f.Add([]byte("<\xa1\xa1<title></title"), 512)
	f.Add([]byte("plain\r\ntext"), 3)
	f.Fuzz(func(t *testing.T, b []byte, limit int) {
		if limit < 3 || limit > 4096 {
			return
		}
		got := excerpt(b, limit)
		if len(got) > limit {
			t.Fatalf("excerpt is %d bytes > %d", len(got), limit)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("excerpt %q is not valid UTF-8", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || (r != ' ' && unicode.IsSpace(r)) {
				t.Fatalf("excerpt %q holds %U", got, r)
			}
		}
	})
}
