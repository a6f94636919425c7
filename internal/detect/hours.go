package detect

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BusinessHours are the deployment's working hours, for the rules with
// custom.auditfwd.outside_business_hours. A business period starts on
// each of Days at Start and ends at End, wall clock in Location; when
// Start is after End the period crosses midnight and ends on the next
// day (22:00-06:00 with Days Monday to Friday is Monday 22:00 to Tuesday
// 06:00, ..., Friday 22:00 to Saturday 06:00). Wall clock means a DST
// change moves the hours with the local clock.
type BusinessHours struct {
	Location *time.Location // nil is UTC
	Days     [7]bool        // indexed by time.Weekday: the days a period starts on
	// Start and End are times of day, from midnight: 0 <= Start < 24h,
	// 0 < End <= 24h (24h is the end of the day), Start != End.
	Start, End time.Duration
}

// StandardBusinessHours is the default when Options.BusinessHours is
// nil: Monday to Friday, 08:00 to 18:00 UTC.
func StandardBusinessHours() *BusinessHours {
	b := &BusinessHours{Location: time.UTC, Start: 8 * time.Hour, End: 18 * time.Hour}
	for d := time.Monday; d <= time.Friday; d++ {
		b.Days[d] = true
	}
	return b
}

// Contains reports whether t lies within a business period.
func (b BusinessHours) Contains(t time.Time) bool {
	loc := b.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	h, m, s := lt.Clock()
	tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(lt.Nanosecond())
	wd := lt.Weekday()
	if b.Start < b.End {
		return b.Days[wd] && tod >= b.Start && tod < b.End
	}
	// Crossing midnight: the evening part of today's period, or the
	// morning part of the one that started yesterday.
	return b.Days[wd] && tod >= b.Start || b.Days[(wd+6)%7] && tod < b.End
}

func (b BusinessHours) validate() error {
	var days bool
	for _, d := range b.Days {
		days = days || d
	}
	switch {
	case !days:
		return errors.New("business hours: no day")
	case b.Start < 0 || b.Start >= 24*time.Hour:
		return fmt.Errorf("business hours: start %s is not a time of day", b.Start)
	case b.End <= 0 || b.End > 24*time.Hour:
		return fmt.Errorf("business hours: end %s is not a time of day (up to 24:00)", b.End)
	case b.Start == b.End:
		return fmt.Errorf("business hours %s-%s: an empty period; for the whole day give 00:00-24:00", clock(b.Start), clock(b.End))
	}
	return nil
}

// String is "mon-fri 08:00-18:00 UTC".
func (b BusinessHours) String() string {
	loc := "UTC"
	if b.Location != nil {
		loc = b.Location.String()
	}
	var runs []string
	for d := 0; d < 7; {
		if !b.Days[(d+1)%7] { // Monday first
			d++
			continue
		}
		e := d
		for e+1 < 7 && b.Days[(e+2)%7] {
			e++
		}
		r := dayNames[(d+1)%7]
		if e > d {
			r += "-" + dayNames[(e+1)%7]
		}
		runs = append(runs, r)
		d = e + 1
	}
	return strings.Join(runs, ",") + " " + clock(b.Start) + "-" + clock(b.End) + " " + loc
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseBusinessHours reads business hours as a configuration gives them:
// tz an IANA time zone name (Europe/Berlin, UTC; "" is UTC), days a list
// of day names (mon ... sun, or in full, any case) and ranges (mon-fri,
// fri-mon wraps), each element possibly a comma-separated list (nil is
// mon-fri), hours "HH:MM-HH:MM" ("" is 08:00-18:00; the end may be 24:00;
// 22:00-06:00 crosses midnight).
func ParseBusinessHours(tz string, days []string, hours string) (*BusinessHours, error) {
	b := StandardBusinessHours()
	if tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("business hours: unknown time zone %q (an IANA name such as Europe/Berlin, or UTC)", tz)
		}
		b.Location = loc
	}
	if len(days) > 0 {
		b.Days = [7]bool{}
		for _, elem := range days {
			for _, tok := range strings.Split(elem, ",") {
				if err := b.addDays(strings.TrimSpace(tok)); err != nil {
					return nil, err
				}
			}
		}
	}
	if hours != "" {
		from, to, ok := strings.Cut(hours, "-")
		if !ok {
			return nil, fmt.Errorf("business hours %q: want HH:MM-HH:MM, such as 08:00-18:00", hours)
		}
		var err error
		if b.Start, err = parseClock(strings.TrimSpace(from), false); err != nil {
			return nil, fmt.Errorf("business hours %q: start: %v", hours, err)
		}
		if b.End, err = parseClock(strings.TrimSpace(to), true); err != nil {
			return nil, fmt.Errorf("business hours %q: end: %v", hours, err)
		}
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *BusinessHours) addDays(tok string) error {
	from, to, isRange := strings.Cut(tok, "-")
	d1, ok := dayOf(from)
	if !ok {
		return fmt.Errorf("business hours: unknown day %q (mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri)", strings.TrimSpace(from))
	}
	d2 := d1
	if isRange {
		if d2, ok = dayOf(to); !ok {
			return fmt.Errorf("business hours: unknown day %q in %q (mon ... sun)", strings.TrimSpace(to), tok)
		}
	}
	for d := d1; ; d = (d + 1) % 7 {
		b.Days[d] = true
		if d == d2 {
			return nil
		}
	}
}

func dayOf(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		if s == dayNames[d] || s == strings.ToLower(d.String()) {
			return d, true
		}
	}
	return 0, false
}

// parseClock reads H:MM or HH:MM; 24:00 only as an end.
func parseClock(s string, end bool) (time.Duration, error) {
	hs, ms, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	switch {
	case !ok || err1 != nil || err2 != nil || len(hs) == 0 || len(hs) > 2 || len(ms) != 2 || hs[0] == '+' || hs[0] == '-' || ms[0] == '+' || ms[0] == '-':
		return 0, fmt.Errorf("%q is not HH:MM", s)
	case h == 24 && m == 0 && end:
		return 24 * time.Hour, nil
	case h > 23 || m > 59:
		return 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59, or 24:00 as the end)", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}
