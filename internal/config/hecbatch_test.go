package config

import (
	"strings"
	"testing"

	"github.com/auditfwd/auditfwd/outputs/splunkhec"
)

// A splunk_hec output with ack: true drains batches big enough to keep
// 10,000 events/s in flight over 1 s acknowledgements (issue 17); without
// ack, and whatever the user set, the batch keys are as before.
func TestSplunkAckBatchDefaults(t *testing.T) {
	for _, tc := range []struct {
		keys   string
		events int
		bytes  ByteSize
	}{
		{"ack: true", splunkhec.AckBatchEvents, splunkhec.AckBatchBytes},
		{"ack: false", 500, 5 << 20},
		{"ack: true, batch: {max_events: 2000}", 2000, splunkhec.AckBatchBytes},
		{"ack: true, batch: {max_bytes: 1MiB}", splunkhec.AckBatchEvents, 1 << 20},
	} {
		y := `sources:
  - {name: a, base_url: "https://x.example", username: u, password: p}
outputs:
  - {name: hec, type: splunk_hec, url: "https://hec.example:8088", token: t, ` + tc.keys + `}
`
		c, err := Parse([]byte(y), now)
		if err != nil {
			t.Fatalf("%s: %v", tc.keys, err)
		}
		if b := c.Outputs[0].Batch; b.MaxEvents != tc.events || b.MaxBytes != tc.bytes {
			t.Errorf("%s: batch %d events, %d bytes; want %d, %d", tc.keys, b.MaxEvents, b.MaxBytes, tc.events, tc.bytes)
		}
	}
}

// batch.max_in_flight: several batches in flight for splunk_hec with ack
// (default AckBatchesInFlight), one for every other output, and more than
// one refused where Write must run alone (the file output saves its
// position with the mark).
func TestBatchesInFlight(t *testing.T) {
	const src = `sources:
  - {name: a, base_url: "https://x.example", username: u, password: p}
outputs:
`
	hec := `  - {name: hec, type: splunk_hec, url: "https://hec.example:8088", token: t, `
	for _, tc := range []struct {
		output string
		want   int
		err    string
	}{
		{hec + `ack: true}`, splunkhec.AckBatchesInFlight, ""},
		{hec + `ack: false}`, 1, ""},
		{hec + `ack: false, batch: {max_in_flight: 3}}`, 3, ""},
		{hec + `ack: true, batch: {max_in_flight: 1}}`, 1, ""},
		{`  - {name: f, type: file, path: /tmp/x.ndjson}`, 1, ""},
		{`  - {name: f, type: file, path: /tmp/x.ndjson, batch: {max_in_flight: 2}}`, 0,
			"outputs[0].batch.max_in_flight: 2: the file output delivers one batch at a time"},
		{`  - {name: s, type: stdout, batch: {max_in_flight: 2}}`, 0, "outputs[0].batch.max_in_flight"},
		{hec + `ack: true, batch: {max_in_flight: -1}}`, 0, "outputs[0].batch.max_in_flight: -1: must be between 1 and 64"},
		{hec + `ack: true, batch: {max_in_flight: 65}}`, 0, "outputs[0].batch.max_in_flight: 65: must be between 1 and 64"},
	} {
		c, err := Parse([]byte(src+tc.output+"\n"), now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.output, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.output, err)
		}
		if got := c.Outputs[0].Batch.MaxInFlight; got != tc.want {
			t.Errorf("%s: max_in_flight %d, want %d", tc.output, got, tc.want)
		}
	}
}
