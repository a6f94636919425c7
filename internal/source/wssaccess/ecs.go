package wssaccess

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/auditfwd/auditfwd/internal/event"
)

// column is an ELFF column the mapper turns into ECS.
type column uint8

const (
	colNone column = iota
	colDate
	colTime
	colTimestampUnix
	colTimeTaken
	colClientIP
	colUsername
	colUserDN
	colAuthGroups
	colExceptionID
	colFilterResult
	colCategories
	colReferer
	colStatus
	colAction
	colMethod
	colContentType
	colScheme
	colHost
	colPort
	colPath
	colQuery
	colExtension
	colUserAgent
	colServerIP
	colRemoteIP
	colSCBytes
	colCSBytes
	colVirusID
	colThreatRisk
	colCertHostname
	colRSCipher
	colRSTLSVersion
	colClientCountry
	colTransactionID
	colAppliance
	colTenant
	numColumns
)

// columnNames: the ELFF names, lower-cased (matching is case-insensitive).
var columnNames = map[string]column{
	"date":                                   colDate,
	"time":                                   colTime,
	"x-timestamp-unix":                       colTimestampUnix,
	"time-taken":                             colTimeTaken,
	"c-ip":                                   colClientIP,
	"cs-username":                            colUsername,
	"cs-userdn":                              colUserDN,
	"cs-auth-groups":                         colAuthGroups,
	"x-exception-id":                         colExceptionID,
	"sc-filter-result":                       colFilterResult,
	"cs-categories":                          colCategories,
	"cs(referer)":                            colReferer,
	"sc-status":                              colStatus,
	"s-action":                               colAction,
	"cs-method":                              colMethod,
	"rs(content-type)":                       colContentType,
	"cs-uri-scheme":                          colScheme,
	"cs-host":                                colHost,
	"cs-uri-port":                            colPort,
	"cs-uri-path":                            colPath,
	"cs-uri-query":                           colQuery,
	"cs-uri-extension":                       colExtension,
	"cs(user-agent)":                         colUserAgent,
	"s-ip":                                   colServerIP,
	"r-ip":                                   colRemoteIP,
	"sc-bytes":                               colSCBytes,
	"cs-bytes":                               colCSBytes,
	"x-virus-id":                             colVirusID,
	"cs-threat-risk":                         colThreatRisk,
	"x-rs-certificate-hostname":              colCertHostname,
	"x-rs-connection-negotiated-cipher":      colRSCipher,
	"x-rs-connection-negotiated-ssl-version": colRSTLSVersion,
	"x-cs-client-ip-country":                 colClientCountry,
	"x-bluecoat-transaction-uuid":            colTransactionID,
	"x-bluecoat-appliance-name":              colAppliance,
	"x-bluecoat-request-tenant-id":           colTenant,
}

func columnOf(name string) column { return columnNames[strings.ToLower(name)] }

// Mapper turns Records into ECS documents. It holds only configuration, so
// one Mapper is safe for concurrent use.
type Mapper struct {
	// KeepOriginal writes the raw line to event.original (it about doubles
	// the document's size, so it is off unless asked for).
	KeepOriginal bool
	// Source is the configured source name, written to labels.source.
	Source string
}

// Map is MapTo into a new buffer: ev.Doc is the caller's.
func (m *Mapper) Map(rec *Record, read time.Time) (event.Event, error) {
	ev, _, err := m.MapTo(nil, rec, read)
	return ev, err
}

// MapTo appends the ECS document of rec to dst. read is when auditfwd read
// the archive (event.created; zero leaves it out) and bounds the record's
// time to at most a year ahead of it. ev.Doc aliases the returned buffer.
//
// The error is a *LineError (the dead letter) when the line has no usable
// time: date and time, or else x-timestamp-unix. Any other bad value (an IP
// that does not parse, a non-numeric status) only keeps its ECS field out:
// the raw value stays under wss.access.
func (m *Mapper) MapTo(dst []byte, rec *Record, read time.Time) (event.Event, []byte, error) {
	ev := event.Event{Hash: rec.Hash}
	r := row{s: rec.Schema, vals: rec.Values, plain: rec.plain, tc: &rec.times}
	if r.s == nil || len(r.vals) != len(r.s.Names) {
		return ev, dst, &LineError{Entry: rec.Entry, Num: rec.Num, Reason: "record without its #Fields columns", Raw: rec.Raw, Hash: rec.Hash, Size: len(rec.Raw)}
	}
	t, reason := r.timestamp(read)
	if reason != "" {
		return ev, dst, &LineError{Entry: rec.Entry, Num: rec.Num, Reason: reason, Raw: rec.Raw, Hash: rec.Hash, Size: len(rec.Raw)}
	}
	ev.Time = t
	start := len(dst)
	// Room for a typical document up front spares the appends their
	// growth checks' slow path.
	b := slices.Grow(dst, 1024+2*len(rec.Raw))
	b = m.appendDoc(b, &r, rec, t, read)
	ev.Doc = b[start:]
	return ev, b, nil
}

// row is a record's values seen through its schema, with the columns that
// became ECS fields marked so that wss.access leaves them out.
type row struct {
	s     *Schema
	vals  [][]byte
	plain bool       // Record.plain
	tc    *timeCache // Record.times
	used  [MaxColumns / 64]uint64

	date, clock []byte // the date and time columns, when they gave the time
	ms          int    // the milliseconds of that time
}

// get returns the value of column c (empty when absent or "-").
func (r *row) get(c column) []byte {
	if i := r.s.at[c]; i >= 0 {
		return r.vals[i]
	}
	return nil
}

// take is get that also marks the column as mapped.
func (r *row) take(c column) []byte {
	if i := r.s.at[c]; i >= 0 {
		r.used[i>>6] |= 1 << (i & 63)
		return r.vals[i]
	}
	return nil
}

func (r *row) mark(c column) {
	if i := r.s.at[c]; i >= 0 {
		r.used[i>>6] |= 1 << (i & 63)
	}
}

// The range of times a line may carry: ELFF is younger than 1990, and a
// time more than a year ahead of the read is a broken clock or field.
var minTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

func (r *row) timestamp(read time.Time) (time.Time, string) {
	d, tm := r.get(colDate), r.get(colTime)
	t, ok := parseDateTime(d, tm, r.tc)
	if ok {
		r.mark(colDate)
		r.mark(colTime)
		if tm[6] != '6' { // a leap second's :60 is written normalized, below
			r.date, r.clock, r.ms = d, tm[:8], t.Nanosecond()/1e6
		}
	} else if u := r.get(colTimestampUnix); len(u) > 0 {
		if t, ok = parseUnix(u); ok {
			r.mark(colTimestampUnix)
		}
	}
	switch {
	case !ok:
		return t, fmt.Sprintf("no usable time: date %s, time %s, x-timestamp-unix %s", quoteShort(d), quoteShort(tm), quoteShort(r.get(colTimestampUnix)))
	case t.Before(minTime):
		return t, "time " + t.Format(time.RFC3339) + " is before 1990"
	case !read.IsZero() && t.After(r.horizon(read)):
		return t, "time " + t.Format(time.RFC3339) + " is more than a year after the read"
	case read.IsZero() && t.Year() > 9999:
		return t, "time is past year 9999"
	}
	return t, ""
}

// horizon is read + 1 year, the latest time a line may carry.
func (r *row) horizon(read time.Time) time.Time {
	if r.tc == nil {
		return read.AddDate(1, 0, 0)
	}
	if !read.Equal(r.tc.read) || r.tc.horizon.IsZero() {
		r.tc.read, r.tc.horizon = read, read.AddDate(1, 0, 0)
	}
	return r.tc.horizon
}

// quoteShort quotes a value for a reason text, cut to 40 bytes.
func quoteShort(v []byte) string {
	if len(v) == 0 {
		return "absent"
	}
	if len(v) > 40 {
		return fmt.Sprintf("%q...", v[:40])
	}
	return fmt.Sprintf("%q", v)
}

// timeCache keeps, in a Record, what the lines of one file share: their
// date (a file covers an hour or so), whose calendar arithmetic and checks
// are then done once, and the read time's one-year horizon.
type timeCache struct {
	date  [10]byte // the last date column that parsed
	day   time.Time
	dayOK bool

	read, horizon time.Time // horizon = read + 1 year
}

// parseDateTime reads ELFF's "YYYY-MM-DD" and "HH:MM:SS[.fraction]" (UTC);
// c (nil for none) remembers the last date.
func parseDateTime(d, t []byte, c *timeCache) (time.Time, bool) {
	if len(d) != 10 || len(t) < 8 || t[2] != ':' || t[5] != ':' {
		return time.Time{}, false
	}
	h, ok4 := digits(t[0:2])
	mi, ok5 := digits(t[3:5])
	s, ok6 := digits(t[6:8])
	if !(ok4 && ok5 && ok6) || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	ns := 0
	if len(t) > 8 {
		f := t[9:]
		if t[8] != '.' || len(f) == 0 || len(f) > 9 {
			return time.Time{}, false
		}
		n, ok := digits(f)
		if !ok {
			return time.Time{}, false
		}
		for i := len(f); i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	var day time.Time
	if c != nil && c.dayOK && string(d) == string(c.date[:]) {
		day = c.day
	} else {
		var ok bool
		if day, ok = parseDay(d); !ok {
			return time.Time{}, false
		}
		if c != nil {
			copy(c.date[:], d)
			c.day, c.dayOK = day, true
		}
	}
	// A leap second (:60) normalizes into the next minute.
	return day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second + time.Duration(ns)), true
}

// parseDay reads "YYYY-MM-DD" as midnight UTC.
func parseDay(d []byte) (time.Time, bool) {
	if len(d) != 10 || d[4] != '-' || d[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(d[0:4])
	mo, ok2 := digits(d[5:7])
	dd, ok3 := digits(d[8:10])
	if !(ok1 && ok2 && ok3) || mo < 1 || mo > 12 || dd < 1 || dd > 31 {
		return time.Time{}, false
	}
	day := time.Date(y, time.Month(mo), dd, 0, 0, 0, 0, time.UTC)
	if day.Day() != dd { // 2026-02-30 would roll over into March
		return time.Time{}, false
	}
	return day, true
}

// parseUnix reads epoch seconds, or milliseconds when the number is too
// large for seconds (as the audit source's ParseTime does).
func parseUnix(v []byte) (time.Time, bool) {
	n, ok := parseUint(v)
	switch {
	case !ok:
		return time.Time{}, false
	case n < 1e11:
		return time.Unix(int64(n), 0).UTC(), true
	case n < 1e14:
		return time.UnixMilli(int64(n)).UTC(), true
	}
	return time.Time{}, false
}

// digits reads a short all-digit field.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// parseUint reads a decimal without sign, at most 18 digits (no overflow).
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseIP accepts a plain IPv4 or IPv6 address; a zone (fe80::1%eth0) is
// refused, since ECS ip fields cannot hold one.
func parseIP(b []byte) (netip.Addr, bool) {
	if len(b) == 0 || len(b) > 64 {
		return netip.Addr{}, false
	}
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	// ParseAddr keeps no reference to its argument for an address without
	// a zone, and a zone is refused below, so viewing b as a string is safe.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 reads a dotted-quad IPv4 address as netip.ParseAddr does
// (four fields of 1 to 3 digits up to 255, no leading zero), without its
// general machinery; whatever it refuses goes to ParseAddr.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, n, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || field > 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(n)
			field, n, digits = field+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits > 0 && n == 0) { // a leading zero
			return netip.Addr{}, false
		}
		n = n*10 + int(c-'0')
		digits++
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if field != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// tlsVersion splits "TLSv1.2" into ("tls", "1.2") and "SSLv3" into ("ssl", "3").
func tlsVersion(v []byte) (proto string, num []byte, ok bool) {
	if len(v) < 5 || (v[3] != 'v' && v[3] != 'V') {
		return "", nil, false
	}
	switch strings.ToLower(string(v[:3])) { // three bytes: the conversion stays on the stack
	case "tls":
		proto = "tls"
	case "ssl":
		proto = "ssl"
	default:
		return "", nil, false
	}
	num = v[4:]
	for _, c := range num {
		if (c < '0' || c > '9') && c != '.' {
			return "", nil, false
		}
	}
	return proto, num, true
}

// verdict reads sc-filter-result: the second event.type, or "".
func verdict(v []byte) string {
	switch {
	case equalFold(v, "OBSERVED"), equalFold(v, "PROXIED"):
		return "allowed"
	case equalFold(v, "DENIED"):
		return "denied"
	}
	return ""
}

func equalFold(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(unsafe.String(unsafe.SliceData(b), len(b)), s)
}

// The appenders below write `"key":value` members. open starts an object
// (`,"name":{`, or without the comma right after another opening brace)
// and returns where its members start; close ends it, or removes it whole
// when nothing was written, so no document has an empty object.

// The names are passed written out (`"url":{`, `"domain":`): one append
// of a constant instead of three per member.
func open(b []byte, name string) ([]byte, int, int) {
	start := len(b)
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, name...)
	return b, start, len(b)
}

func closeObj(b []byte, start, mark int) []byte {
	if len(b) == mark {
		return b[:start]
	}
	return append(b, '}')
}

func key(b []byte, mark int, name string) []byte {
	if len(b) > mark {
		b = append(b, ',')
	}
	return append(b, name...)
}

func (r *row) str(b []byte, mark int, name string, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return r.appendStr(key(b, mark, name), v)
}

// appendStr writes v, a value of the row's line or a part of one, as a
// JSON string: copied between quotes when the line is plain.
func (r *row) appendStr(b, v []byte) []byte {
	if r.plain {
		b = append(b, '"')
		b = append(b, v...)
		return append(b, '"')
	}
	return event.AppendStringBytes(b, v)
}

// numText writes n, parsed from the digits v: v itself unless a leading
// zero makes it no JSON number.
func numText(b []byte, mark int, name string, v []byte, n uint64) []byte {
	b = key(b, mark, name)
	if len(v) == 1 || v[0] != '0' {
		return append(b, v...)
	}
	return appendUint(b, n)
}

func appendUint(b []byte, n uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// ip writes a, parsed from text: an IPv4 address that parsed is in its
// canonical form already (parseIP refuses leading zeros), so its text is
// copied; anything else is formatted.
func ip(b []byte, mark int, name string, a netip.Addr, text []byte) []byte {
	b = key(b, mark, name)
	return appendIP(b, a, text)
}

func appendIP(b []byte, a netip.Addr, text []byte) []byte {
	b = append(b, '"')
	if a.Is4() && indexByte(text, ':') < 0 {
		b = append(b, text...)
	} else {
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

func (m *Mapper) appendDoc(b []byte, r *row, rec *Record, t, read time.Time) []byte {
	b = append(b, `{"@timestamp":"`...)
	if r.date != nil { // a four-digit year
		// The validated ELFF text is already ECS's layout: no calendar
		// arithmetic for a value that is written on every line.
		b = append(b, r.date...)
		b = append(b, 'T')
		b = append(b, r.clock...)
		b = append(b, '.', byte('0'+r.ms/100), byte('0'+r.ms/10%10), byte('0'+r.ms%10), 'Z')
	} else {
		b = event.AppendTimestamp(b, t)
	}
	b = append(b, `","ecs":{"version":"`+event.ECSVersion+`"}`...)

	// event
	verdictType := verdict(r.get(colFilterResult)) // the raw value stays in wss.access
	b = append(b, `,"event":{"kind":"event","category":["web","network"],"type":["access"`...)
	if verdictType != "" {
		b = append(b, ',', '"')
		b = append(b, verdictType...)
		b = append(b, '"')
	}
	b = append(b, ']')
	mark := len(b) - 1 // members follow: always after a comma
	b = r.str(b, mark, `"action":`, r.take(colAction))
	statusText := r.get(colStatus)
	status, statusOK := parseUint(statusText)
	statusOK = statusOK && status >= 100 && status <= 999
	outcome := "unknown"
	switch {
	case verdictType == "denied", statusOK && status >= 400:
		outcome = "failure"
	case statusOK:
		outcome = "success"
	}
	b = append(b, `,"outcome":"`...)
	b = append(b, outcome...)
	b = append(b, '"')
	b = r.str(b, mark, `"reason":`, r.take(colExceptionID))
	if v := r.get(colThreatRisk); len(v) > 0 {
		if risk, ok := parseUint(v); ok && risk <= 1000 {
			r.mark(colThreatRisk)
			b = numText(b, mark, `"risk_score":`, v, risk)
		}
	}
	if v := r.get(colTimeTaken); len(v) > 0 {
		if ms, ok := parseUint(v); ok && ms < 1<<40 {
			r.mark(colTimeTaken)
			b = key(b, mark, `"duration":`)
			if ms != 0 && v[0] != '0' { // ms to ns: the digits as written, six zeros
				b = append(b, v...)
				b = append(b, "000000"...)
			} else {
				b = appendUint(b, ms*1e6)
			}
		}
	}
	b = r.str(b, mark, `"id":`, r.take(colTransactionID))
	b = append(b, `,"hash":"`...)
	b = hex.AppendEncode(b, rec.Hash[:])
	b = append(b, `","dataset":"wss.access","module":"wss"`...)
	if !read.IsZero() {
		if !read.Equal(rec.createdAt) { // one read time serves a whole archive
			rec.createdAt = read
			rec.created = event.AppendTimestamp(rec.created[:0], read)
		}
		b = append(b, `,"created":"`...)
		b = append(b, rec.created...)
		b = append(b, '"')
	}
	if m.KeepOriginal {
		b = append(b, `,"original":`...)
		b = event.AppendStringBytes(b, rec.Raw)
	}
	b = append(b, '}')

	// url, and destination.port with it
	host, scheme, path := r.take(colHost), r.take(colScheme), r.take(colPath)
	query := r.take(colQuery)
	if len(query) > 0 && query[0] == '?' { // ProxySG logs the query with its "?"; ECS leaves it out
		query = query[1:]
	}
	portText := r.get(colPort)
	port, portOK := parseUint(portText)
	portOK = portOK && port > 0 && port < 65536
	if portOK {
		r.mark(colPort)
	}
	var s, o, s2, o2 int
	b, s, o = open(b, `"url":{`)
	if len(host) > 0 && len(scheme) > 0 {
		b = r.appendFullURL(key(b, o, `"full":`), scheme, host, path, query, port, portOK)
	}
	b = r.str(b, o, `"domain":`, host)
	b = r.str(b, o, `"scheme":`, scheme)
	if portOK {
		b = numText(b, o, `"port":`, portText, port)
	}
	b = r.str(b, o, `"path":`, path)
	b = r.str(b, o, `"query":`, query)
	ext := r.take(colExtension)
	if len(ext) > 0 && ext[0] == '.' {
		ext = ext[1:]
	}
	b = r.str(b, o, `"extension":`, ext)
	b = closeObj(b, s, o)

	// http
	b, s, o = open(b, `"http":{`)
	b, s2, o2 = open(b, `"request":{`)
	b = r.str(b, o2, `"method":`, r.take(colMethod))
	b = r.str(b, o2, `"referrer":`, r.take(colReferer))
	if v := r.get(colCSBytes); len(v) > 0 {
		if n, ok := parseUint(v); ok {
			r.mark(colCSBytes)
			b = numText(b, o2, `"bytes":`, v, n)
		}
	}
	b = closeObj(b, s2, o2)
	b, s2, o2 = open(b, `"response":{`)
	if statusOK {
		r.mark(colStatus)
		b = numText(b, o2, `"status_code":`, statusText, status)
	}
	if v := r.get(colSCBytes); len(v) > 0 {
		if n, ok := parseUint(v); ok {
			r.mark(colSCBytes)
			b = numText(b, o2, `"bytes":`, v, n)
		}
	}
	if ct := r.get(colContentType); len(ct) > 0 {
		mime := ct
		if i := indexByte(ct, ';'); i >= 0 {
			mime = trimSpace(ct[:i]) // the parameters (charset) stay in wss.access
		} else {
			r.mark(colContentType)
		}
		b = r.str(b, o2, `"mime_type":`, mime)
	}
	b = closeObj(b, s2, o2)
	b = closeObj(b, s, o)

	if ua := r.take(colUserAgent); len(ua) > 0 {
		b = append(b, `,"user_agent":{"original":`...)
		b = r.appendStr(b, ua)
		b = append(b, '}')
	}

	// user: cs-username, else cs-userdn (the other one stays in wss.access)
	user := r.get(colUsername)
	if len(user) > 0 {
		r.mark(colUsername)
	} else {
		user = r.take(colUserDN)
	}
	b, s, o = open(b, `"user":{`)
	b = r.str(b, o, `"name":`, user)
	if g := r.take(colAuthGroups); len(g) > 0 {
		b, s2, o2 = open(b, `"group":{`)
		b = r.str(b, o2, `"name":`, g)
		b = closeObj(b, s2, o2)
	}
	b = closeObj(b, s, o)

	srcText := r.get(colClientIP)
	srcIP, srcOK := parseIP(srcText)
	b, s, o = open(b, `"source":{`)
	if srcOK {
		r.mark(colClientIP)
		b = ip(b, o, `"ip":`, srcIP, srcText)
	}
	if c := r.take(colClientCountry); len(c) > 0 {
		b, s2, o2 = open(b, `"geo":{`)
		b = r.str(b, o2, `"country_iso_code":`, c)
		b = closeObj(b, s2, o2)
	}
	b = closeObj(b, s, o)

	// destination: the origin server. s-ip is the proxy's own address (it
	// goes to observer.ip); r-ip is the server the proxy connected to.
	dstText := r.get(colRemoteIP)
	dstIP, dstOK := parseIP(dstText)
	b, s, o = open(b, `"destination":{`)
	if dstOK {
		r.mark(colRemoteIP)
		b = ip(b, o, `"ip":`, dstIP, dstText)
	}
	b = r.str(b, o, `"domain":`, host)
	if portOK {
		b = numText(b, o, `"port":`, portText, port)
	}
	b = closeObj(b, s, o)

	b, s, o = open(b, `"tls":{`)
	b = r.str(b, o, `"cipher":`, r.take(colRSCipher))
	if proto, v, ok := tlsVersion(r.get(colRSTLSVersion)); ok {
		r.mark(colRSTLSVersion)
		b = r.str(b, o, `"version":`, v)
		b = key(b, o, `"version_protocol":`)
		b = append(b, '"')
		b = append(b, proto...)
		b = append(b, '"')
	}
	if cn := r.take(colCertHostname); len(cn) > 0 {
		b = append(b, `,"server":{"x509":{"subject":{"common_name":`[boolInt(len(b) == o):]...)
		b = r.appendStr(b, cn)
		b = append(b, "}}}"...)
	}
	b = closeObj(b, s, o)

	if v := r.take(colVirusID); len(v) > 0 {
		b = append(b, `,"threat":{"software":{"name":`...)
		b = r.appendStr(b, v)
		b = append(b, "}}"...)
	}
	if cats := r.take(colCategories); len(cats) > 0 {
		b = append(b, `,"rule":{"category":`...)
		b = r.appendList(b, cats, ';')
		b = append(b, '}')
	}

	b = append(b, `,"observer":{"vendor":"Broadcom","product":"Web Security Service","type":"proxy"`...)
	b = r.str(b, 0, `"name":`, r.take(colAppliance))
	if v := r.get(colServerIP); len(v) > 0 {
		if a, ok := parseIP(v); ok {
			r.mark(colServerIP)
			b = ip(b, 0, `"ip":`, a, v)
		}
	}
	b = append(b, '}')
	if org := r.take(colTenant); len(org) > 0 {
		b = append(b, `,"organization":{"id":`...)
		b = r.appendStr(b, org)
		b = append(b, '}')
	}

	b, s, o = open(b, `"related":{`)
	if srcOK || dstOK {
		b = key(b, o, `"ip":`)
		b = append(b, '[')
		if srcOK {
			b = appendIP(b, srcIP, srcText)
		}
		if dstOK && (!srcOK || dstIP != srcIP) {
			if srcOK {
				b = append(b, ',')
			}
			b = appendIP(b, dstIP, dstText)
		}
		b = append(b, ']')
	}
	if len(user) > 0 {
		b = key(b, o, `"user":`)
		b = append(b, '[')
		b = r.appendStr(b, user)
		b = append(b, ']')
	}
	if len(host) > 0 {
		b = key(b, o, `"hosts":`)
		b = append(b, '[')
		b = r.appendStr(b, host)
		b = append(b, ']')
	}
	b = closeObj(b, s, o)

	if m.Source != "" {
		b = append(b, `,"labels":{"source":`...)
		b = event.AppendString(b, m.Source)
		b = append(b, '}')
	}

	// Every other column, raw, under wss.access.
	b = append(b, `,"wss":{"access":{`...)
	o = len(b)
	for i, v := range r.vals {
		if len(v) == 0 || r.used[i>>6]&(1<<(i&63)) != 0 {
			continue
		}
		if len(b) > o {
			b = append(b, ',')
		}
		b = append(b, r.s.member[i]...)
		b = r.appendStr(b, v)
	}
	return append(b, "}}}"...)
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// appendFullURL writes url.full, scheme://host[:port]path[?query], the port
// left out when it is the scheme's default.
func (r *row) appendFullURL(b, scheme, host, path, query []byte, port uint64, portOK bool) []byte {
	if r.plain { // nothing to escape: straight into the document
		b = append(b, '"')
		b = fullURL(b, scheme, host, path, query, port, portOK)
		return append(b, '"')
	}
	var buf [512]byte
	return event.AppendStringBytes(b, fullURL(buf[:0], scheme, host, path, query, port, portOK))
}

func fullURL(u, scheme, host, path, query []byte, port uint64, portOK bool) []byte {
	u = append(u, scheme...)
	u = append(u, "://"...)
	u = append(u, host...)
	if portOK && !(port == 80 && equalFold(scheme, "http")) && !(port == 443 && equalFold(scheme, "https")) {
		u = append(u, ':')
		u = appendUint(u, port)
	}
	u = append(u, path...)
	if len(query) > 0 {
		u = append(u, '?')
		u = append(u, query...)
	}
	return u
}

// appendList writes v split at sep as a JSON array of trimmed, non-empty
// strings (cs-categories is "Technology/Internet;Web Ads/Analytics").
func (r *row) appendList(b, v []byte, sep byte) []byte {
	b = append(b, '[')
	first, all := true, v
	for len(v) > 0 {
		item := v
		if i := indexByte(v, sep); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		item = trimSpace(item)
		if len(item) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = r.appendStr(b, item)
	}
	if first { // only separators: keep the text rather than an empty list
		b = r.appendStr(b, all)
	}
	return append(b, ']')
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
