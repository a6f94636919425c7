package event

import (
	"time"
	"unsafe"
)

// The JSON appenders the ECS documents are written with, exported so that
// every source (the audit mapper here, the access-log decoder in
// internal/source/wssaccess) escapes the same way: one line, valid JSON,
// invalid UTF-8 as U+FFFD, C0 controls escaped. A second copy would drift.

// AppendString writes s as a JSON string (quotes included); see
// appendString for the exact escaping.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// AppendStringBytes is AppendString for a byte slice, without copying it
// into a string first: the hot path of a decoder whose values are slices of
// its line buffer. appendString only reads s and keeps no reference to it,
// so viewing b as a string for the call is safe.
func AppendStringBytes(dst, b []byte) []byte {
	return appendString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}

// AppendTimestamp writes t (UTC) as ECS's fixed-width RFC 3339 date with
// three fraction digits, without quotes: "2026-11-24T10:15:02.123Z".
func AppendTimestamp(dst []byte, t time.Time) []byte { return appendTimestamp(dst, t.UTC()) }
