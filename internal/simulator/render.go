package simulator

import (
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON: records are appended to a reused buffer, so serving
// does not allocate per record. The output is what encoding/json accepts.

func appendRecordKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendRecord renders r in the configured schema.
func (s *Simulator) appendRecord(b []byte, r *rec) []byte {
	b = append(b, '{')
	for k, f := range r.order {
		b = appendRecordKey(b, factKeys[f][r.keys[f]], k == 0)
		switch f {
		case factTime:
			b = appendTime(b, r.ms, r.timeFmt)
		case factID:
			b = append(b, '"')
			b = appendID(b, r.id)
			b = append(b, '"')
		case factActor:
			b = appendStr(b, r.user, r)
		case factIP:
			b = appendStr(b, r.ip, r)
		case factObjType:
			b = appendStr(b, r.objType, r)
		case factObjName:
			b = appendStr(b, r.objName, r)
		case factOp:
			b = appendStr(b, r.op, r)
		case factStatus:
			b = appendStr(b, r.status, r)
		case factMessage:
			b = appendStr(b, r.desc, r)
		}
	}
	if r.extras&extraTenant != 0 {
		b = appendRecordKey(b, "tenantId", false)
		b = appendStr(b, s.tenant, r)
	}
	if r.extras&extraUserAgent != 0 {
		b = appendRecordKey(b, "userAgent", false)
		b = appendStr(b, r.ua, r)
	}
	if r.extras&extraDetails != 0 {
		b = appendRecordKey(b, "details", false)
		b = append(b, `{"sessionId":"`...)
		b = appendID(b, r.session)
		b = append(b, `","portal":"portal.threatpulse.com","changes":[`...)
		if r.op == "Update" && r.objType == "PolicyRule" {
			b = append(b, `{"field":"action","from":"`...)
			b = append(b, r.changeFrom...)
			b = append(b, `","to":"`...)
			b = append(b, r.changeTo...)
			b = append(b, `"}`...)
		}
		b = append(b, "]}"...)
	}
	if r.extras&extraWeirdKey != 0 {
		b = append(b, ',')
		b = appendJSONString(b, weirdKey, false)
		b = append(b, ':')
		b = appendJSONString(b, "value of a key nobody expects", false)
	}
	return append(b, '}')
}

// appendStr appends one of r's strings. Only hostile records hold strings
// that need escaping (vocabulary_test.go checks the rest), so the others are
// copied without scanning them.
func appendStr[T string | []byte](b []byte, v T, r *rec) []byte {
	if r.hostile {
		return appendJSONString(b, v, r.asciiOnly)
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

func appendTime(b []byte, ms int64, format uint8) []byte {
	if format == fmtEpochMilli {
		return strconv.AppendInt(b, ms, 10)
	}
	const msPerDay = 24 * 60 * 60 * 1000
	days, msOfDay := floorDiv(ms, msPerDay), ms-floorDiv(ms, msPerDay)*msPerDay
	y, mo, d := civil(days)
	b = append(b, '"')
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = append2(b, mo)
	b = append(b, '-')
	b = append2(b, d)
	if format == fmtSpaceSeconds {
		b = append(b, ' ')
	} else {
		b = append(b, 'T')
	}
	sec := int(msOfDay / 1000)
	b = append2(b, sec/3600)
	b = append(b, ':')
	b = append2(b, sec/60%60)
	b = append(b, ':')
	b = append2(b, sec%60)
	if format == fmtRFC3339Milli {
		b = append(b, '.')
		b = appendDigits(b, int(msOfDay%1000), 3)
		b = append(b, 'Z')
	}
	return append(b, '"')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's algorithm): much cheaper than going through time.Time.
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendDigits(b []byte, v, width int) []byte {
	var tmp [8]byte
	for k := width - 1; k >= 0; k-- {
		tmp[k] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}

// appendJSONString appends s as a JSON string. Control characters, quotes,
// backslashes and U+2028/U+2029 are escaped; asciiOnly also escapes every
// non-ASCII rune (with surrogate pairs), as some servers do.
func appendJSONString[T string | []byte](b []byte, s T, asciiOnly bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' || (asciiOnly && r != utf8.RuneError) {
			b = append(b, s[start:i]...)
			if r >= 0x10000 {
				r1, r2 := surrogates(r)
				b = appendU(b, r1)
				b = appendU(b, r2)
			} else {
				b = appendU(b, r)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSafe marks the bytes that appendJSONString copies as they are.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendU(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[(r>>12)&0xf], hex[(r>>8)&0xf], hex[(r>>4)&0xf], hex[r&0xf])
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// decodeRune decodes one UTF-8 rune from either strings or byte slices
// without converting (and so allocating).
func decodeRune[T string | []byte](s T) (rune, int) {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s)
	return utf8.DecodeRune(buf[:n])
}

// Kinds of malformed entries.
const (
	malString = iota
	malNumber
	malArray
	malNoTime
	malBadTimeText
	malBadTimeDate
	malBadTimeBool
	malBadTimeEmpty
	numMalKinds
)

// appendMalformed renders the malformed entry attached to r.
func (s *Simulator) appendMalformed(b []byte, r *rec) []byte {
	switch r.malKind {
	case malString:
		return append(b, `"oops"`...)
	case malNumber:
		return append(b, `42`...)
	case malArray:
		return append(b, `[1]`...)
	}
	timeKey := timeKeys[0]
	switch s.cfg.Schema {
	case "alt":
		timeKey = timeKeys[altKeys[factTime]]
	case "mixed":
		timeKey = timeKeys[r.malSeed%uint64(len(timeKeys))]
	}
	b = append(b, '{')
	switch r.malKind {
	case malBadTimeText:
		b = appendRecordKey(b, timeKey, true)
		b = append(b, `"not a date",`...)
	case malBadTimeDate:
		b = appendRecordKey(b, timeKey, true)
		b = append(b, `"2026-13-45T25:61:00Z",`...)
	case malBadTimeBool:
		b = appendRecordKey(b, timeKey, true)
		b = append(b, `true,`...)
	case malBadTimeEmpty:
		b = appendRecordKey(b, timeKey, true)
		b = append(b, `"",`...)
	}
	b = append(b, `"id":"bad-`...)
	b = appendID(b, r.malSeed)
	b = append(b, `","userName":`...)
	b = appendJSONString(b, r.user, false)
	b = append(b, `,"operationType":"Update","description":"entry the upstream could not render"}`...)
	return b
}
