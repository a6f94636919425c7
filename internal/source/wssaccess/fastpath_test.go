package wssaccess

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// parseIPv4 may only accept what netip.ParseAddr accepts, as the same
// address; what it refuses, parseIP hands to ParseAddr.
func TestParseIPv4AgreesWithNetip(t *testing.T) {
	cases := []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.02.3.4",
		"1.2.3.00", "1.2.3", "1.2.3.4.5", "1..3.4", ".1.2.3", "1.2.3.", "1.2.3.4a", "1000.1.1.1",
		"10.0.0.1", "192.168.001.1", "9.99.199.249", "", ".", "::ffff:1.2.3.4", "1.2.3.-4"}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "0123456789.012.9"
	for range 20000 {
		var sb strings.Builder
		for range 1 + rng.IntN(16) {
			sb.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, sb.String())
	}
	for _, c := range cases {
		got, ok := parseIPv4([]byte(c))
		want, err := netip.ParseAddr(c)
		if ok && (err != nil || got != want) {
			t.Fatalf("parseIPv4(%q) = %v, ParseAddr: %v, %v", c, got, want, err)
		}
		if !ok && err == nil && want.Is4() {
			t.Errorf("parseIPv4(%q) refused an address ParseAddr reads", c)
		}
		if a, ok := parseIP([]byte(c)); (err == nil) != ok || (ok && a != want.Unmap()) {
			t.Errorf("parseIP(%q) = %v, %v; ParseAddr %v, %v", c, a, ok, want, err)
		}
	}
}

// Numbers and addresses are copied as written when that is their JSON
// form; leading zeros and IPv4-mapped addresses are still formatted.
func TestMapNumbersAndAddressesAsWritten(t *testing.T) {
	f := []string{"date", "time", "c-ip", "r-ip", "s-ip", "sc-status", "cs-uri-port", "sc-bytes", "cs-bytes",
		"time-taken", "cs-threat-risk", "cs-host", "cs-uri-scheme"}
	for _, tt := range []struct {
		line string
		want map[string]string
	}{
		{`2026-11-24 10:00:00 10.1.2.3 10.1.2.3 ::ffff:192.0.2.1 0200 0443 0 007 0 010 h.example https`, map[string]string{
			"source.ip": `"10.1.2.3"`, "destination.ip": `"10.1.2.3"`, "related.ip": `["10.1.2.3"]`, "observer.ip": `"192.0.2.1"`,
			"http.response.status_code": "200", "url.port": "443", "destination.port": "443", "url.full": `"https://h.example"`,
			"http.response.bytes": "0", "http.request.bytes": "7", "event.duration": "0", "event.risk_score": "10",
		}},
		{`2026-11-24 10:00:00 192.0.2.7 2001:DB8::1 198.51.100.9 404 8080 1234 56 1500 1000 h.example http`, map[string]string{
			"source.ip": `"192.0.2.7"`, "destination.ip": `"2001:db8::1"`, "related.ip": `["192.0.2.7","2001:db8::1"]`,
			"observer.ip": `"198.51.100.9"`, "http.response.status_code": "404", "url.port": "8080",
			"url.full": `"http://h.example:8080"`, "http.response.bytes": "1234", "http.request.bytes": "56",
			"event.duration": "1500000000", "event.risk_score": "1000",
		}},
	} {
		doc, raw, err := mapLine(t, &Mapper{}, f, tt.line)
		if err != nil {
			t.Fatal(err)
		}
		for path, w := range tt.want {
			if got := at(doc, path); got != w {
				t.Errorf("%s = %s, want %s\n%s", path, got, w, raw)
			}
		}
	}
}
