package syslog

// Strict parsers for what the encoders write, written from the specs rather
// than from the encoders, so that a round trip checks one against the other.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type sdParam struct{ name, value string }

type msg5424 struct {
	pri                                   int
	version, ts, host, app, procID, msgID string
	sdID                                  string // "" when SD is the NILVALUE
	params                                []sdParam
	sd                                    string // the SD as written
	msg                                   string
}

func (m *msg5424) param(name string) (string, bool) {
	for _, p := range m.params {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// parsePRI reads "<PRI>" and returns the rest.
func parsePRI(s string) (int, string, error) {
	if !strings.HasPrefix(s, "<") {
		return 0, "", errors.New("no '<'")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return 0, "", errors.New("bad PRI")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri < 0 || pri > 191 {
		return 0, "", fmt.Errorf("bad PRI %q", s[1:end])
	}
	return pri, s[end+1:], nil
}

// parse5424 parses an RFC 5424 message with at most one SD-ELEMENT.
func parse5424(s string) (*msg5424, error) {
	var m msg5424
	var err error
	m.pri, s, err = parsePRI(s)
	if err != nil {
		return nil, err
	}
	fields := strings.SplitN(s, " ", 7)
	if len(fields) < 7 {
		return nil, fmt.Errorf("%d header fields, want 7", len(fields))
	}
	m.version, m.ts, m.host, m.app, m.procID, m.msgID = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	if m.version != "1" {
		return nil, fmt.Errorf("version %q", m.version)
	}
	for i, f := range fields[1:6] {
		if !isPrintASCII(f, []int{64, 255, 48, 128, 32}[i]) {
			return nil, fmt.Errorf("header field %d %q is not PRINTUSASCII", i+2, f)
		}
	}
	rest := fields[6]
	if strings.HasPrefix(rest, "-") {
		m.sd = "-"
		rest = rest[1:]
	} else {
		n, err := m.parseSD(rest)
		if err != nil {
			return nil, err
		}
		m.sd, rest = rest[:n], rest[n:]
	}
	if rest != "" {
		if rest[0] != ' ' {
			return nil, fmt.Errorf("no space after SD: %q", rest[:min(len(rest), 20)])
		}
		m.msg = rest[1:]
	}
	return &m, nil
}

// parseSD reads one SD-ELEMENT and returns its length.
func (m *msg5424) parseSD(s string) (int, error) {
	if !strings.HasPrefix(s, "[") {
		return 0, errors.New("SD does not start with '['")
	}
	i := 1
	for i < len(s) && s[i] != ' ' && s[i] != ']' {
		i++
	}
	m.sdID = s[1:i]
	if !isPrintASCII(m.sdID, 32) || strings.ContainsAny(m.sdID, `="`) {
		return 0, fmt.Errorf("bad SD-ID %q", m.sdID)
	}
	for {
		if i >= len(s) {
			return 0, errors.New("SD not closed")
		}
		if s[i] == ']' {
			return i + 1, nil
		}
		i++ // the space
		eq := strings.IndexByte(s[i:], '=')
		if eq < 1 {
			return 0, errors.New("PARAM without '='")
		}
		name := s[i : i+eq]
		if !isPrintASCII(name, 32) || strings.ContainsAny(name, `]" `) {
			return 0, fmt.Errorf("bad PARAM-NAME %q", name)
		}
		i += eq + 1
		if i >= len(s) || s[i] != '"' {
			return 0, errors.New(`PARAM-VALUE without '"'`)
		}
		i++
		var v strings.Builder
		for {
			if i >= len(s) {
				return 0, errors.New("PARAM-VALUE not closed")
			}
			c := s[i]
			if c == '"' {
				i++
				break
			}
			if c == ']' {
				return 0, errors.New("unescaped ']' in PARAM-VALUE")
			}
			if c == '\\' && i+1 < len(s) && strings.IndexByte(`"\]`, s[i+1]) >= 0 {
				v.WriteByte(s[i+1])
				i += 2
				continue
			}
			v.WriteByte(c) // RFC 5424 6.3.3: any other '\' is itself
			i++
		}
		m.params = append(m.params, sdParam{name, v.String()})
	}
}

type msg3164 struct {
	pri                int
	ts, host, tag, msg string
}

// parse3164 parses "<PRI>Mmm dd hh:mm:ss HOST TAG: MSG".
func parse3164(s string) (*msg3164, error) {
	var m msg3164
	var err error
	m.pri, s, err = parsePRI(s)
	if err != nil {
		return nil, err
	}
	if len(s) < 16 || s[15] != ' ' {
		return nil, errors.New("no timestamp")
	}
	m.ts, s = s[:15], s[16:]
	host, rest, ok := strings.Cut(s, " ")
	if !ok {
		return nil, errors.New("no host")
	}
	m.host = host
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok || strings.ContainsAny(tag, " ") {
		return nil, fmt.Errorf("bad TAG in %q", rest[:min(len(rest), 40)])
	}
	m.tag, m.msg = tag, msg
	return &m, nil
}

// splitHeader splits s at its first n unescaped '|' and unescapes "\|" and
// "\\" in the fields (CEF and LEEF headers). The rest follows the last '|'.
func splitHeader(s string, n int) ([]string, string, error) {
	var fields []string
	var f strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '|'):
			f.WriteByte(s[i+1])
			i++
		case c == '|':
			fields = append(fields, f.String())
			f.Reset()
			if len(fields) == n {
				return fields, s[i+1:], nil
			}
		default:
			f.WriteByte(c)
		}
	}
	return nil, "", fmt.Errorf("%d header fields, want %d", len(fields), n)
}

type kv struct{ key, value string }

// parseCEF parses a CEF message: the 7 header fields and the extension,
// with ArcSight's rules: a key is the word before an unescaped '='; a value
// runs to the space before the next key.
func parseCEF(s string) ([]string, []kv, error) {
	head, ext, err := splitHeader(s, 7)
	if err != nil {
		return nil, nil, err
	}
	if head[0] != "CEF:0" {
		return nil, nil, fmt.Errorf("version %q", head[0])
	}
	// Positions of the unescaped '='.
	var eqs []int
	for i := 0; i < len(ext); i++ {
		if ext[i] == '\\' {
			i++
			continue
		}
		if ext[i] == '=' {
			eqs = append(eqs, i)
		}
	}
	var pairs []kv
	keyStart := 0
	for k, eq := range eqs {
		key := ext[keyStart:eq]
		if key == "" || strings.ContainsAny(key, " \\") {
			return nil, nil, fmt.Errorf("bad key %q", key)
		}
		valEnd := len(ext)
		next := len(ext)
		if k+1 < len(eqs) {
			sp := strings.LastIndexByte(ext[:eqs[k+1]], ' ')
			if sp <= eq {
				return nil, nil, fmt.Errorf("no key before '=' at %d", eqs[k+1])
			}
			valEnd, next = sp, sp+1
		}
		v, err := unescape(ext[eq+1:valEnd], map[byte]byte{'\\': '\\', '=': '=', 'n': '\n', 'r': '\r'})
		if err != nil {
			return nil, nil, fmt.Errorf("key %s: %v", key, err)
		}
		pairs = append(pairs, kv{key, v})
		keyStart = next
	}
	if len(eqs) == 0 && ext != "" {
		return nil, nil, errors.New("extension without key")
	}
	return head, pairs, nil
}

// parseLEEF parses LEEF 2.0: 6 header fields (the last the delimiter) and
// delimiter-separated key=value attributes, split at the first '='.
func parseLEEF(s string) ([]string, []kv, error) {
	head, attrs, err := splitHeader(s, 6)
	if err != nil {
		return nil, nil, err
	}
	if head[0] != "LEEF:2.0" {
		return nil, nil, fmt.Errorf("version %q", head[0])
	}
	if head[5] != "x09" {
		return nil, nil, fmt.Errorf("delimiter %q", head[5])
	}
	var pairs []kv
	for _, a := range strings.Split(attrs, "\t") {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("attribute %q without key", a)
		}
		v, err := unescape(v, map[byte]byte{'\\': '\\', 't': '\t', 'n': '\n', 'r': '\r'})
		if err != nil {
			return nil, nil, fmt.Errorf("key %s: %v", k, err)
		}
		pairs = append(pairs, kv{k, v})
	}
	return head, pairs, nil
}

func unescape(s string, escapes map[byte]byte) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", errors.New("dangling '\\'")
		}
		c, ok := escapes[s[i+1]]
		if !ok {
			return "", fmt.Errorf("unknown escape \\%c", s[i+1])
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), nil
}

// cleaned is what a value reads back as after the encoders' replacements:
// invalid UTF-8, C1 controls and the control characters in none of keep
// become U+FFFD; those in toSpace become a space.
func cleaned(s, keep, toSpace string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, isC1(r):
			b.WriteString(replacement)
		case r < 0x20 || r == 0x7f:
			switch {
			case strings.ContainsRune(toSpace, r):
				b.WriteByte(' ')
			case strings.ContainsRune(keep, r):
				b.WriteRune(r)
			default:
				b.WriteString(replacement)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Per context, what cleaned keeps and what it turns into a space.
func cleanSD(s string) string        { return cleaned(s, "\t", "") }
func cleanHeader(s string) string    { return cleaned(s, "", "\t\n\r") }
func cleanCEFValue(s string) string  { return cleaned(s, "\t\n\r", "") }
func cleanLEEFValue(s string) string { return cleaned(s, "\t\n\r", "") }

// matchCapped reports whether got is want, or want cut (by appendEscapedMax)
// and ended with "…".
func matchCapped(got, want string) bool {
	if got == want {
		return true
	}
	p, ok := strings.CutSuffix(got, "…")
	return ok && strings.HasPrefix(want, p)
}
