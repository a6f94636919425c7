package wssaccess

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseTrailer(t *testing.T) {
	zipish := "PK\x03\x04\x00\x00binary\xff\xfeX-sync-\x00PK\x05\x06" + strings.Repeat("\x00", 18)
	for _, tc := range []struct {
		name, in     string
		token        string
		status       Status
		offset       int
		errSubstring string
	}{
		{name: "crlf", in: "X-sync-token: abc123\r\nX-sync-status: more\r\n", token: "abc123", status: StatusMore},
		{name: "lf, status first", in: "X-sync-status: done\nX-sync-token: t-1", token: "t-1", status: StatusDone},
		{name: "after zip bytes", in: zipish + "X-sync-token: z\r\nX-sync-status: abort\r\n", token: "z", status: StatusAbort, offset: len(zipish)},
		{name: "after zip and a newline", in: zipish + "\r\nX-sync-token: z\r\nX-sync-status: done\r\n", token: "z", status: StatusDone, offset: len(zipish) + 2},
		{name: "header case", in: "x-SYNC-Token:  tok \r\nX-Sync-Status: done", token: "tok", status: StatusDone},
		{name: "blank lines", in: "X-sync-token: a\r\n\r\nX-sync-status: more\r\n\r\n", token: "a", status: StatusMore},
		{name: "invalid utf-8 before", in: "\xc3\x28\xff\xfeÄÖ" + "X-sync-token: a\nX-sync-status: more\n", token: "a", status: StatusMore, offset: 8},

		{name: "empty", in: "", errSubstring: "no X-sync-token/X-sync-status trailer"},
		{name: "zip only", in: zipish, errSubstring: "no X-sync"},
		{name: "missing status", in: "X-sync-token: abc\r\n", errSubstring: "without X-sync-status"},
		{name: "missing token", in: "X-sync-status: done\r\n", errSubstring: "without X-sync-token"},
		{name: "unknown status", in: "X-sync-token: a\r\nX-sync-status: maybe\r\n", errSubstring: `unknown X-sync-status "maybe"`},
		{name: "status case", in: "X-sync-token: a\r\nX-sync-status: DONE\r\n", errSubstring: "unknown X-sync-status"},
		{name: "two tokens", in: "X-sync-token: a\r\nX-sync-token: b\r\nX-sync-status: done\r\n", errSubstring: "more than one X-sync-token"},
		{name: "two statuses", in: "X-sync-token: a\r\nX-sync-status: done\r\nX-sync-status: more\r\n", errSubstring: "more than one X-sync-status"},
		{name: "empty token", in: "X-sync-token: \r\nX-sync-status: done\r\n", errSubstring: "empty X-sync-token"},
		{name: "token with space", in: "X-sync-token: a b\r\nX-sync-status: done\r\n", errSubstring: "spaces, control or non-ASCII"},
		{name: "huge token", in: "X-sync-token: " + strings.Repeat("A", 1500) + "\r\nX-sync-status: more\r\n", errSubstring: "X-sync-token of 1500 bytes"},
		{name: "token past the window", in: "X-sync-token: " + strings.Repeat("A", 3000) + "\r\nX-sync-status: more\r\n", errSubstring: "without X-sync-token"},
		{name: "unknown key", in: "X-sync-token: a\r\nX-sync-extra: 1\r\nX-sync-status: done\r\n", errSubstring: "unknown trailer line"},
		{name: "control char", in: "X-sync-token: a\x01\r\nX-sync-status: done\r\n", errSubstring: "without X-sync-token"},
		{name: "garbage after", in: "X-sync-token: a\r\nX-sync-status: done\r\n\x00\x01", errSubstring: "no X-sync"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ParseTrailer([]byte(tc.in))
			if tc.errSubstring != "" {
				var te *TrailerError
				if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.errSubstring) {
					t.Fatalf("got %+v, %v; want a *TrailerError with %q", tr, err, tc.errSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Token != tc.token || tr.Status != tc.status || tr.Offset != tc.offset {
				t.Fatalf("got %+v, want token %q status %q offset %d", tr, tc.token, tc.status, tc.offset)
			}
		})
	}
}

// FuzzTrailer: whatever the bytes, ParseTrailer does not panic, and what
// it accepts is a trailer that parses again the same on its own.
func FuzzTrailer(f *testing.F) {
	for _, s := range []string{
		"X-sync-token: abc\r\nX-sync-status: more\r\n",
		"X-sync-status: done\nX-sync-token: t",
		"PK\x05\x06\x00\x00X-sync-token: a\r\nX-sync-status: abort",
		"\xc3\x28X-SYNC-TOKEN: a\nx-sync-status: done",
		"X-sync-token: a\r\nX-sync-token: b",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrailer(b)
		if err != nil {
			var te *TrailerError
			if !errors.As(err, &te) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		base := max(0, len(b)-TrailerWindow)
		if tr.Offset < base || tr.Offset > len(b) {
			t.Fatalf("offset %d outside [%d, %d]", tr.Offset, base, len(b))
		}
		if tr.Token == "" || len(tr.Token) > MaxTokenLen || !printable(tr.Token) {
			t.Fatalf("accepted token %q", tr.Token)
		}
		again, err := ParseTrailer(b[tr.Offset:])
		if err != nil || again.Token != tr.Token || again.Status != tr.Status || again.Offset != 0 {
			t.Fatalf("the trailer alone: %+v, %v; first %+v", again, err, tr)
		}
		if !bytes.HasPrefix(bytes.ToLower(b[tr.Offset:]), []byte("x-sync-")) {
			t.Fatalf("trailer at %d does not start with X-sync-", tr.Offset)
		}
	})
}
