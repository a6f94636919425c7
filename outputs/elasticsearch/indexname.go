package elasticsearch

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// indexName is the compiled `index` key: literal text and date fields, in
// the Beats/Logstash syntax "wss-audit-%{+yyyy.MM.dd}". The date is the
// event's @timestamp in UTC, so an event lands in the index of its own day
// whenever it is (re)delivered, which keeps `create` with `_id` idempotent.
type indexName struct {
	parts []indexPart
}

// indexPart is literal text (tok == 0) or one date field.
type indexPart struct {
	lit string
	tok dateToken
}

type dateToken uint8

const (
	tokLiteral  dateToken = iota
	tokYear               // yyyy, YYYY
	tokYear2              // yy
	tokWeekYear           // xxxx: ISO week-based year
	tokWeek               // ww: ISO week
	tokMonth              // MM
	tokDay                // dd
	tokHour               // HH
)

// jodaTokens are the Joda-Time fields an index name may use.
var jodaTokens = map[string]dateToken{
	"yyyy": tokYear, "YYYY": tokYear, "yy": tokYear2, "xxxx": tokWeekYear,
	"ww": tokWeek, "MM": tokMonth, "dd": tokDay, "HH": tokHour,
}

func parseIndex(s string) (*indexName, error) {
	if s == "" {
		return nil, errors.New("required")
	}
	n := &indexName{}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "%{")
		if i < 0 {
			n.addLiteral(rest)
			break
		}
		n.addLiteral(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: %%{ without its closing }", s)
		}
		expr := rest[i+2 : i+end]
		if !strings.HasPrefix(expr, "+") {
			return nil, fmt.Errorf("%q: only date patterns like %%{+yyyy.MM.dd} are supported, not %%{%s}", s, expr)
		}
		if err := n.addPattern(expr[1:]); err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		rest = rest[i+end+1:]
	}
	if err := n.check(); err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	return n, nil
}

func (n *indexName) addLiteral(s string) {
	if s == "" {
		return
	}
	if k := len(n.parts); k > 0 && n.parts[k-1].tok == tokLiteral {
		n.parts[k-1].lit += s
		return
	}
	n.parts = append(n.parts, indexPart{lit: s})
}

// addPattern compiles a Joda pattern: runs of one letter are fields,
// 'quoted' text and any other character are literal.
func (n *indexName) addPattern(p string) error {
	if p == "" {
		return errors.New("empty date pattern")
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			end := strings.IndexByte(p[i+1:], '\'')
			if end < 0 {
				return errors.New("unclosed ' in the date pattern")
			}
			n.addLiteral(p[i+1 : i+1+end])
			i += end + 2
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			tok, ok := jodaTokens[p[i:j]]
			if !ok {
				return fmt.Errorf("date field %q is not supported (use yyyy, yy, xxxx, ww, MM, dd, HH)", p[i:j])
			}
			n.parts = append(n.parts, indexPart{tok: tok})
			i = j
		default:
			n.addLiteral(string(c))
			i++
		}
	}
	return nil
}

// check applies Elasticsearch's rules for index names to the literal text
// (the date fields only ever add digits).
func (n *indexName) check() error {
	for _, p := range n.parts {
		if p.tok == tokLiteral {
			if err := checkIndexChars(p.lit); err != nil {
				return err
			}
		}
	}
	if n.static() {
		return checkIndexName(n.parts[0].lit)
	}
	if first := n.parts[0]; first.tok == tokLiteral && strings.ContainsRune("-_+", rune(first.lit[0])) {
		return fmt.Errorf("must not start with %q", first.lit[0])
	}
	return nil
}

// checkIndexName applies Elasticsearch's rules to a whole index, data
// stream or template name.
func checkIndexName(s string) error {
	switch {
	case s == "":
		return errors.New("required")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a valid name", s)
	case len(s) > 255:
		return errors.New("longer than 255 bytes")
	case strings.ContainsRune("-_+", rune(s[0])):
		return fmt.Errorf("must not start with %q", s[0])
	}
	return checkIndexChars(s)
}

func checkIndexChars(s string) error {
	for _, r := range s {
		switch {
		case r < 0x20 || strings.ContainsRune(`\/*?"<>| ,#:`, r):
			return fmt.Errorf("must not contain %q", r)
		case 'A' <= r && r <= 'Z':
			return errors.New("must be lower case")
		}
	}
	return nil
}

// static reports whether the name has no date field.
func (n *indexName) static() bool { return len(n.parts) == 1 && n.parts[0].tok == tokLiteral }

// prefix is the literal text before the first date field.
func (n *indexName) prefix() string {
	if len(n.parts) > 0 && n.parts[0].tok == tokLiteral {
		return n.parts[0].lit
	}
	return ""
}

// pattern is the index pattern a template must match: the name itself, or
// its prefix and a wildcard.
func (n *indexName) pattern() string {
	if n.static() {
		return n.parts[0].lit
	}
	return n.prefix() + "*"
}

// appendName writes the index of an event with time t. Validated names need
// no JSON escaping.
func (n *indexName) appendName(b []byte, t time.Time) []byte {
	if n.static() {
		return append(b, n.parts[0].lit...)
	}
	t = t.UTC()
	for _, p := range n.parts {
		switch p.tok {
		case tokLiteral:
			b = append(b, p.lit...)
		case tokYear:
			b = appendDigits(b, t.Year(), 4)
		case tokYear2:
			b = appendDigits(b, t.Year()%100, 2)
		case tokWeekYear:
			y, _ := t.ISOWeek()
			b = appendDigits(b, y, 4)
		case tokWeek:
			_, w := t.ISOWeek()
			b = appendDigits(b, w, 2)
		case tokMonth:
			b = appendDigits(b, int(t.Month()), 2)
		case tokDay:
			b = appendDigits(b, t.Day(), 2)
		case tokHour:
			b = appendDigits(b, t.Hour(), 2)
		}
	}
	return b
}

// name is appendName as a string.
func (n *indexName) name(t time.Time) string { return string(n.appendName(nil, t)) }

// appendDigits writes v zero-padded to width digits (wider values in full).
func appendDigits(b []byte, v, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v > 0 || len(buf)-i < width {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[i:]...)
}
