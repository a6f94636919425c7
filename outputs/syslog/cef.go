package syslog

import (
	"strconv"

	"github.com/auditfwd/auditfwd/internal/event"
)

// appendCEFExtension appends the CEF extension: space-separated key=value
// pairs, values escaped with cefValue, empty facts left out. The hash and
// the ids come first so that truncation, which cuts from the end, keeps
// them; msg, the longest, is last.
func appendCEFExtension(dst []byte, e *event.Event, f *facts, marks *[]pairMark) []byte {
	first := true
	kv := func(key, val string) {
		if val == "" {
			return
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		k := len(dst)
		dst = append(dst, key...)
		dst = append(dst, '=')
		*marks = append(*marks, pairMark{k, len(dst)})
		dst = appendEscaped(dst, val, cefValue)
	}
	if writableTime(e.Time) {
		kv("rt", strconv.FormatInt(e.Time.UnixMilli(), 10))
	}
	kv("externalId", f.Event.ID)
	kv("cs3Label", "eventHash")
	kv("cs3", f.hash)
	kv("act", f.Event.Action)
	kv("outcome", f.Event.Outcome)
	kv("suser", f.User.Name)
	kv("duser", f.User.Target.Name)
	kv("src", f.ip())
	kv("cat", f.category())
	if f.WSS.Audit.ObjectType != "" {
		kv("cs1Label", "objectType")
		kv("cs1", f.WSS.Audit.ObjectType)
	}
	if f.WSS.Audit.ObjectName != "" {
		kv("cs2Label", "objectName")
		kv("cs2", f.WSS.Audit.ObjectName)
	}
	if f.Labels.Source != "" {
		kv("cs4Label", "sourceName")
		kv("cs4", f.Labels.Source)
	}
	kv("msg", f.Message)
	return dst
}
