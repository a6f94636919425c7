package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds of a believable audit time. The WSS portal did not exist before
// 1990, and a record from more than a year ahead is a unit or clock error, not
// an event: rejecting it keeps a bogus far-future time out of the dedup
// seen-set, whose entries expire by time and would otherwise never expire.
var minTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

const maxAhead = 366 * 24 * time.Hour

// Epoch magnitudes. The integer part n of an epoch number picks its unit:
//
//	n < 1e11  seconds       (1e11 s  is the year 5138)
//	n < 1e14  milliseconds  (1e11 ms is 1973, 1e14 ms is 5138)
//	n < 1e17  microseconds
//	else      nanoseconds
//
// Each unit's plausible range (1990 to now+1y) lies decades away from the
// cut-offs, so no real time is ambiguous; what falls outside the plausible
// range in its unit is rejected by the bounds check, never reinterpreted.
const (
	epochMaxSeconds = 1e11
	epochMaxMillis  = 1e14
	epochMaxMicros  = 1e17
)

// ParseTime turns a decoded time value (string or json.Number) into a UTC time.
//
// Accepted, in this order of trying:
//   - epoch seconds, milliseconds, microseconds or nanoseconds as a number or
//     numeric string, with an optional fraction or exponent (unit by
//     magnitude, see epochMaxSeconds);
//   - ISO 8601 / RFC 3339 style: "2026-11-24", "2026-11-24T10:15:02",
//     "2026-11-24 10:15:02", with an optional fraction (. or ,) and an
//     optional zone (Z, ±hh:mm, ±hhmm, ±hh, UTC, GMT, optionally after a space).
//     '/' may replace '-' in the date. No zone means UTC;
//   - RFC 1123 / RFC 850 / ANSIC as sent by HTTP servers.
//
// Times before 1990 or more than a year after now are rejected.
func ParseTime(v any) (time.Time, error) {
	return parseTime(v, time.Now().Add(maxAhead))
}

// parseTime is ParseTime against an explicit upper bound, so Map can bound by
// its ingest time and stay a pure function of its inputs.
func parseTime(v any, latest time.Time) (time.Time, error) {
	var (
		t   time.Time
		err error
	)
	switch x := v.(type) {
	case string:
		t, err = parseTimeString(x)
	case json.Number:
		t, err = parseEpoch(string(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return time.Time{}, errors.New("not a finite number")
		}
		t, err = parseEpoch(strconv.FormatFloat(x, 'f', -1, 64))
	case float32:
		t, err = parseTime(float64(x), latest)
	case int:
		t, err = parseEpoch(strconv.FormatInt(int64(x), 10))
	case int64:
		t, err = parseEpoch(strconv.FormatInt(x, 10))
	case uint64:
		t, err = parseEpoch(strconv.FormatUint(x, 10))
	case nil:
		return time.Time{}, errors.New("time is null")
	case bool:
		return time.Time{}, errors.New("time is a boolean")
	case map[string]any:
		return time.Time{}, errors.New("time is an object")
	case []any:
		return time.Time{}, errors.New("time is an array")
	default:
		return time.Time{}, fmt.Errorf("time is a %T", v)
	}
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if t.Before(minTime) {
		return time.Time{}, fmt.Errorf("time %s is before 1990", t.Format(time.RFC3339Nano))
	}
	if t.After(latest) {
		return time.Time{}, fmt.Errorf("time %s is more than a year in the future", t.Format(time.RFC3339Nano))
	}
	return t, nil
}

var errFormat = errors.New("not a known time format")

func parseTimeString(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if looksNumeric(s) {
		return parseEpoch(s)
	}
	if t, ok := parseISO(s); ok {
		return t, nil
	}
	for _, layout := range fallbackLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		// A zone abbreviation Go does not know parses with a made-up zero
		// offset; only the ones that really mean UTC are safe to accept.
		if name, _ := t.Zone(); strings.Contains(layout, "MST") && name != "UTC" && name != "GMT" {
			continue
		}
		return t, nil
	}
	return time.Time{}, errFormat
}

var fallbackLayouts = []string{time.RFC1123Z, time.RFC1123, time.RFC850, time.ANSIC}

// looksNumeric reports whether s is a decimal number, leniently: a leading +,
// a leading or trailing dot and an exponent are allowed.
func looksNumeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// parseEpoch reads a numeric epoch exactly, in decimal, so that a millisecond
// or nanosecond value loses nothing to float64 rounding.
func parseEpoch(s string) (time.Time, error) {
	if !looksNumeric(s) {
		return time.Time{}, errFormat
	}
	if s[0] == '-' {
		return time.Time{}, errors.New("negative epoch time")
	}
	if s[0] == '+' {
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 40 || e < -40 {
			return time.Time{}, errors.New("epoch exponent out of range")
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	// Shift the decimal point by exp over the digit string.
	digits := strings.TrimLeft(intPart+frac, "0")
	point := len(intPart) + exp - (len(intPart) + len(frac) - len(digits))
	var whole, fraction string
	switch {
	case point <= 0:
		whole, fraction = "", strings.Repeat("0", -point)+digits
	case point >= len(digits):
		whole = digits + strings.Repeat("0", point-len(digits))
	default:
		whole, fraction = digits[:point], digits[point:]
	}
	if len(whole) > 19 {
		return time.Time{}, errors.New("epoch number too large")
	}
	var n uint64
	if whole != "" {
		var err error
		if n, err = strconv.ParseUint(whole, 10, 64); err != nil {
			return time.Time{}, errors.New("epoch number too large")
		}
	}
	var unit uint64 // nanoseconds per unit
	var fracDigits int
	switch {
	case n < epochMaxSeconds:
		unit, fracDigits = 1e9, 9
	case n < epochMaxMillis:
		unit, fracDigits = 1e6, 6
	case n < epochMaxMicros:
		unit, fracDigits = 1e3, 3
	default:
		unit, fracDigits = 1, 0
	}
	perSec := 1e9 / unit
	sec := n / perSec
	nsec := (n % perSec) * unit
	// The fraction of one unit, in nanoseconds: its first fracDigits digits.
	if len(fraction) > fracDigits {
		fraction = fraction[:fracDigits]
	}
	if fraction != "" {
		f, _ := strconv.ParseUint(fraction+strings.Repeat("0", fracDigits-len(fraction)), 10, 64)
		nsec += f
	}
	return time.Unix(int64(sec), int64(nsec)), nil
}

// parseISO parses the ISO 8601 family by hand: it is the hot path (most
// records), and time.Parse would need one layout per combination of
// separator, fraction and zone.
func parseISO(s string) (time.Time, bool) {
	if len(s) < 10 {
		return time.Time{}, false
	}
	year, ok1 := atoiN(s[0:4])
	month, ok2 := atoiN(s[5:7])
	day, ok3 := atoiN(s[8:10])
	sep := s[4]
	if !ok1 || !ok2 || !ok3 || (sep != '-' && sep != '/') || s[7] != sep {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec, offset int
	rest := s[10:]
	if rest != "" {
		if c := rest[0]; c != 'T' && c != 't' && c != ' ' {
			return time.Time{}, false
		}
		rest = rest[1:]
		if len(rest) < 5 || rest[2] != ':' {
			return time.Time{}, false
		}
		var okH, okM bool
		hour, okH = atoiN(rest[0:2])
		minute, okM = atoiN(rest[3:5])
		if !okH || !okM {
			return time.Time{}, false
		}
		rest = rest[5:]
		if len(rest) >= 3 && rest[0] == ':' {
			var okS bool
			if sec, okS = atoiN(rest[1:3]); !okS {
				return time.Time{}, false
			}
			rest = rest[3:]
			if len(rest) >= 2 && (rest[0] == '.' || rest[0] == ',') && isDigit(rest[1]) {
				i, scale := 1, 100000000
				for ; i < len(rest) && isDigit(rest[i]); i++ {
					nsec += int(rest[i]-'0') * scale // digits past the 9th add 0
					scale /= 10
				}
				rest = rest[i:]
			}
		}
		var okZ bool
		if offset, okZ = parseZone(strings.TrimLeft(rest, " ")); !okZ {
			return time.Time{}, false
		}
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 2026-02-30 would silently roll over into March
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// parseZone returns the zone's offset east of UTC in seconds.
func parseZone(z string) (int, bool) {
	switch z {
	case "", "Z", "z", "UTC", "utc", "GMT", "gmt":
		return 0, true
	}
	sign := 1
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	z = z[1:]
	var hh, mm string
	switch {
	case len(z) == 2:
		hh = z
	case len(z) == 4:
		hh, mm = z[:2], z[2:]
	case len(z) == 5 && z[2] == ':':
		hh, mm = z[:2], z[3:]
	default:
		return 0, false
	}
	h, ok := atoiN(hh)
	m := 0
	okM := true
	if mm != "" {
		m, okM = atoiN(mm)
	}
	if !ok || !okM || h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// atoiN parses a fixed-width run of ASCII digits.
func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
