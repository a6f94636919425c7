package config

import (
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
