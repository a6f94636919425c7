package splunkhec

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

// An event object of the /event body is one line:
//
//	{"time":1732442400.123,"host":"h","source":"s","sourcetype":"st","index":"i",
//	 "event":{...the document as it is...},
//	 "fields":{"event.action":"…","event.hash":"…","event.outcome":"…","labels.source":"…"}}
//
// written by hand rather than through encoding/json: the document is
// copied, not validated, compacted and escaped again (at access-log rates
// that was most of the output's CPU). Empty keys are left out; fields keys
// are in sorted order, as encoding/json wrote them.

// epochMillis is t as epoch seconds with three decimals, as HEC wants it
// ("" for a zero time: HEC stamps it with the receive time).
func epochMillis(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	ms := t.UnixMilli()
	if ms < 0 {
		return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
	}
	b := strconv.AppendInt(nil, ms/1000, 10)
	b = append(b, '.', byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
	return string(b)
}

// linePrefix is the constant keys of every line, after time:
// `"host":"h","source":"s",...,` (each present only when set).
func linePrefix(c Config) []byte {
	var b []byte
	for _, kv := range [][2]string{{"host", c.Host}, {"source", c.Source}, {"sourcetype", c.Sourcetype}, {"index", c.Index}} {
		if kv[1] == "" {
			continue
		}
		b = append(b, '"')
		b = append(b, kv[0]...)
		b = append(b, `":`...)
		b = appendJSONString(b, kv[1])
		b = append(b, ',')
	}
	return b
}

// appendJSONString appends s as a JSON string, HTML characters as they are.
func appendJSONString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// docMeta is what the indexed fields take from the document: the raw JSON
// values, copied as they are when they are non-empty strings.
type docMeta struct {
	Event struct {
		Action  json.RawMessage `json:"action"`
		Outcome json.RawMessage `json:"outcome"`
	} `json:"event"`
	Labels struct {
		Source json.RawMessage `json:"source"`
	} `json:"labels"`
}

var errInvalidDoc = errors.New("the event's document is not valid JSON")

// encode makes the HEC event object of e: one line with its newline.
func (o *Output) encode(e event.Event) ([]byte, error) { return o.appendLine(nil, e) }

// appendLine appends e's line to dst; on error dst is returned unchanged.
func (o *Output) appendLine(dst []byte, e event.Event) ([]byte, error) {
	doc := e.Doc
	var meta docMeta
	if o.fields {
		// Unmarshal checks the whole document first: a syntax error is an
		// invalid document; a type error (event is not an object) only
		// leaves those fields out, as before.
		var syn *json.SyntaxError
		if err := json.Unmarshal(doc, &meta); errors.As(err, &syn) || (err != nil && !json.Valid(doc)) {
			return dst, errInvalidDoc
		}
	} else if !json.Valid(doc) {
		return dst, errInvalidDoc
	}
	if bytes.ContainsAny(doc, "\r\n") {
		// One line per event: whitespace between tokens goes (a newline
		// inside a JSON string is always escaped).
		var buf bytes.Buffer
		if err := json.Compact(&buf, doc); err != nil {
			return dst, errInvalidDoc
		}
		doc = buf.Bytes()
	}
	dst = append(dst, '{')
	if t := epochMillis(e.Time); t != "" {
		dst = append(dst, `"time":`...)
		dst = append(dst, t...)
		dst = append(dst, ',')
	}
	dst = append(dst, o.prefix...)
	dst = append(dst, `"event":`...)
	dst = append(dst, doc...)
	if o.fields {
		dst = append(dst, `,"fields":{`...)
		dst = appendField(dst, "event.action", meta.Event.Action)
		dst = append(dst, `"event.hash":"`...)
		dst = append(dst, e.HashHex()...)
		dst = append(dst, '"')
		dst = appendField(dst, "event.outcome", meta.Event.Outcome)
		dst = appendField(dst, "labels.source", meta.Labels.Source)
		dst = append(dst, '}')
	}
	return append(dst, "}\n"...), nil
}

// appendField appends `"key":<raw>,` (or `,"key":<raw>` after the hash)
// when raw is a non-empty JSON string; anything else is left out.
func appendField(dst []byte, key string, raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 3 || raw[0] != '"' {
		return dst
	}
	afterHash := key != "event.action"
	if afterHash {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	dst = append(dst, raw...)
	if !afterHash {
		dst = append(dst, ',')
	}
	return dst
}
