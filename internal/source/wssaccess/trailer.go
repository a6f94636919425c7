package wssaccess

import (
	"bytes"
	"fmt"
	"strings"
)

// Status is the X-sync-status of a Sync API answer.
type Status string

// The statuses a trailer can carry.
const (
	StatusMore  Status = "more"  // more data is ready: fetch again at once with the new token
	StatusDone  Status = "done"  // caught up: poll again later with the token
	StatusAbort Status = "abort" // the server gave up; the last file may be unusable: repeat
)

// TrailerWindow is how much of the end of a body is searched for the
// trailer. XSIAM reads the last 2,000 bytes; a trailer that does not fit in
// 2 KiB is refused, which also bounds what a hostile server can make us
// parse.
const TrailerWindow = 2048

// MaxTokenLen bounds a sync token. Tokens seen in public notes are short;
// a longer one is a broken or hostile answer, and the token is sent back in
// a URL and stored in the state.
const MaxTokenLen = 512

// Trailer is the parsed end of a body.
type Trailer struct {
	Token  string
	Status Status
	// Offset is where the trailer starts within the searched tail.
	Offset int
}

const (
	tokenKey  = "x-sync-token"
	statusKey = "x-sync-status"
	linePfx   = "x-sync-"
)

// ParseTrailer finds the trailer at the end of tail (the last bytes of a
// body, at most TrailerWindow of them are looked at) and parses it
// strictly: it is the longest suffix made only of lines
// "X-sync-<key>: <value>" (CRLF or LF, blank lines allowed), holding
// exactly one X-sync-token with a non-empty printable token of at most
// MaxTokenLen bytes and exactly one X-sync-status of more, done or abort.
// Key names are case-insensitive (they read like HTTP headers); values are
// not. Anything else is a *TrailerError; it never panics, whatever tail
// holds.
func ParseTrailer(tail []byte) (Trailer, error) {
	base := 0
	if len(tail) > TrailerWindow {
		base = len(tail) - TrailerWindow
		tail = tail[base:]
	}
	// Candidates are the places an "X-sync-" line could start, latest
	// first. Walking back while every line from there to the end is a
	// trailer line finds the trailer's start even when the ZIP bytes
	// before it happen to hold "X-sync-" too: the walk stops at the first
	// candidate whose line is not clean.
	lower := asciiLower(tail) // bytes.ToLower would change the length of invalid UTF-8
	start := -1
	end := len(lower)
	for end > 0 {
		i := bytes.LastIndex(lower[:end], []byte(linePfx))
		if i < 0 || !trailerLines(tail[i:]) {
			break
		}
		start = i
		end = i
	}
	if start < 0 {
		return Trailer{}, &TrailerError{Msg: fmt.Sprintf("no X-sync-token/X-sync-status trailer in the last %d bytes of the body", len(tail))}
	}
	t := Trailer{Offset: base + start}
	var nTok, nStat int
	for _, line := range splitLines(tail[start:]) {
		if len(line) == 0 {
			continue
		}
		key, val, _ := strings.Cut(string(line), ":")
		val = strings.Trim(val, " \t")
		switch strings.ToLower(key) {
		case tokenKey:
			nTok++
			t.Token = val
		case statusKey:
			nStat++
			t.Status = Status(val)
		default:
			// Another X-sync- key: unknown to every public client.
			return Trailer{}, &TrailerError{Msg: fmt.Sprintf("unknown trailer line %q", clip(key, 40))}
		}
	}
	switch {
	case nTok == 0:
		return Trailer{}, &TrailerError{Msg: "trailer without X-sync-token"}
	case nTok > 1:
		return Trailer{}, &TrailerError{Msg: "trailer with more than one X-sync-token"}
	case nStat == 0:
		return Trailer{}, &TrailerError{Msg: "trailer without X-sync-status"}
	case nStat > 1:
		return Trailer{}, &TrailerError{Msg: "trailer with more than one X-sync-status"}
	case t.Token == "":
		return Trailer{}, &TrailerError{Msg: "trailer with an empty X-sync-token"}
	case len(t.Token) > MaxTokenLen:
		return Trailer{}, &TrailerError{Msg: fmt.Sprintf("X-sync-token of %d bytes (at most %d)", len(t.Token), MaxTokenLen)}
	case !printable(t.Token):
		return Trailer{}, &TrailerError{Msg: "X-sync-token holds spaces, control or non-ASCII bytes"}
	}
	switch t.Status {
	case StatusMore, StatusDone, StatusAbort:
	default:
		return Trailer{}, &TrailerError{Msg: fmt.Sprintf("unknown X-sync-status %q (want more, done or abort)", clip(string(t.Status), 40))}
	}
	return t, nil
}

// trailerLines tells whether b is only X-sync- lines and blank lines, each
// line of printable ASCII (tabs allowed): the shape of a trailer.
func trailerLines(b []byte) bool {
	for _, line := range splitLines(b) {
		if len(line) == 0 {
			continue
		}
		if len(line) < len(linePfx) || !strings.EqualFold(string(line[:len(linePfx)]), linePfx) || bytes.IndexByte(line, ':') < 0 {
			return false
		}
		for _, c := range line {
			if (c < 0x20 && c != '\t') || c > 0x7e {
				return false
			}
		}
	}
	return true
}

// splitLines splits on LF, dropping one CR before each LF.
func splitLines(b []byte) [][]byte {
	lines := bytes.Split(b, []byte{'\n'})
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte{'\r'})
	}
	return lines
}

// asciiLower lowers A-Z only, keeping every offset.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// clip shortens server text quoted in an error; %q escapes the rest.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
