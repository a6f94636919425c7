package syslog

import (
	"encoding/json"
	"net/netip"

	"github.com/auditfwd/auditfwd/internal/event"
)

// facts are the fields of an ECS document that the header, the structured
// data and the CEF and LEEF encoders use.
type facts struct {
	Message string `json:"message"`
	Event   struct {
		Action   string   `json:"action"`
		Outcome  string   `json:"outcome"`
		ID       string   `json:"id"`
		Category []string `json:"category"`
	} `json:"event"`
	User struct {
		Name   string `json:"name"`
		Target struct {
			Name string `json:"name"`
		} `json:"target"`
	} `json:"user"`
	Source struct {
		IP string `json:"ip"`
	} `json:"source"`
	Labels struct {
		Source string `json:"source"`
	} `json:"labels"`
	WSS struct {
		Audit struct {
			ObjectType string `json:"object_type"`
			ObjectName string `json:"object_name"`
		} `json:"audit"`
	} `json:"wss"`

	hash string // event.hash, from the Event rather than the document
}

// factsOf reads the facts from e's document. A document that does not decode
// (the mapper never writes one) still gives what was read before the error:
// the event is sent with fewer facts rather than held back.
func factsOf(e *event.Event) facts {
	var f facts
	_ = json.Unmarshal(e.Doc, &f)
	f.hash = e.HashHex()
	return f
}

func (f *facts) category() string {
	if len(f.Event.Category) == 0 {
		return ""
	}
	return f.Event.Category[0]
}

// ip is source.ip when it is an IP address. CEF src and LEEF src must be
// addresses (ArcSight and QRadar drop or mis-parse anything else), so a
// value that is not one is left out there; it stays in the payload and SD.
func (f *facts) ip() string {
	a, err := netip.ParseAddr(f.Source.IP)
	if err != nil {
		return ""
	}
	return a.String()
}

// syslogSeverity is the configured severity, or the one event.outcome maps to.
func syslogSeverity(configured int, outcome string) int {
	if configured != severityAuto {
		return configured
	}
	switch outcome {
	case "failure":
		return 4 // warning
	case "success":
		return 5 // notice
	default:
		return 6 // info
	}
}

// cefSeverity maps a syslog severity onto CEF's and LEEF's 0..10 scale, where
// 0-3 is low, 4-6 medium, 7-8 high and 9-10 very high.
var cefSeverity = [8]int{0: 10, 1: 9, 2: 8, 3: 7, 4: 6, 5: 4, 6: 3, 7: 1}
