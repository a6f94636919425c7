package syslog

import (
	"strconv"

	"github.com/auditfwd/auditfwd/internal/event"
)

// leefTimeFormat is devTimeFormat: Java SimpleDateFormat, as QRadar reads it.
const leefTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"

// appendLEEFAttributes appends the LEEF 2.0 attributes: key=value pairs
// separated by tab (declared as x09 in the header), values escaped with
// leefValue, empty facts left out. Predefined LEEF keys where one fits
// (devTime, cat, sev, usrName, src, resource), our own names for the rest;
// the hash first, msg last, as in CEF.
func appendLEEFAttributes(dst []byte, e *event.Event, f *facts, sev int, marks *[]pairMark) []byte {
	first := true
	kv := func(key, val string) {
		if val == "" {
			return
		}
		if !first {
			dst = append(dst, '\t')
		}
		first = false
		k := len(dst)
		dst = append(dst, key...)
		dst = append(dst, '=')
		*marks = append(*marks, pairMark{k, len(dst)})
		dst = appendEscaped(dst, val, leefValue)
	}
	if writableTime(e.Time) {
		kv("devTime", e.Time.UTC().Format("2006-01-02T15:04:05.000-0700"))
		kv("devTimeFormat", leefTimeFormat)
	}
	kv("eventHash", f.hash)
	kv("externalId", f.Event.ID)
	kv("cat", f.category())
	kv("sev", strconv.Itoa(sev))
	kv("action", f.Event.Action)
	kv("outcome", f.Event.Outcome)
	kv("usrName", f.User.Name)
	kv("targetUsrName", f.User.Target.Name)
	kv("src", f.ip())
	kv("objectType", f.WSS.Audit.ObjectType)
	kv("resource", f.WSS.Audit.ObjectName)
	kv("sourceName", f.Labels.Source)
	kv("msg", f.Message)
	return dst
}
