package simulator

import (
	"encoding/json"
	"testing"
	"time"
)

// appendStr copies non-hostile strings without escaping them; that is only
// correct while every such string is JSON-safe.
func TestNonHostileStringsNeedNoEscaping(t *testing.T) {
	cfg := baseConfig()
	cfg.Records = 20_000
	cfg.Schema = "mixed"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	check := func(v string) {
		t.Helper()
		if got := string(appendJSONString(nil, v, false)); got != `"`+v+`"` {
			t.Fatalf("%q needs escaping (%s) but may be served unescaped", v, got)
		}
	}
	for _, list := range [][]string{s.admins, s.homeIPs, s.users, {s.tenant}, userAgents, ObjectTypes, Operations} {
		for _, v := range list {
			check(v)
		}
	}
	for f := range s.Facts() {
		if f.Hostile {
			continue
		}
		for _, v := range []string{f.UserName, f.SourceIP, f.ObjectType, f.ObjectName, f.OperationType, f.Status, f.Description} {
			check(v)
		}
	}
}

func TestAppendTimeMatchesTimePackage(t *testing.T) {
	layouts := map[uint8]string{
		fmtRFC3339Milli: `"2006-01-02T15:04:05.000Z07:00"`,
		fmtSpaceSeconds: `"2006-01-02 15:04:05"`,
	}
	base := time.Date(1999, 12, 31, 23, 59, 59, 999e6, time.UTC)
	for k := 0; k < 20_000; k++ {
		tm := base.Add(time.Duration(k) * 97 * time.Hour).Add(time.Duration(k*7919) * time.Millisecond)
		for format, layout := range layouts {
			want := tm.Format(layout)
			if got := string(appendTime(nil, tm.UnixMilli(), format)); got != want {
				t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
			}
		}
	}
	if got := string(appendTime(nil, 1763979302123, fmtEpochMilli)); got != "1763979302123" {
		t.Fatalf("epoch = %s", got)
	}
}

func TestAppendJSONStringRoundTrips(t *testing.T) {
	for _, v := range append(append([]string{}, hostileStrings...), "", "plain", hugeString) {
		for _, asciiOnly := range []bool{false, true} {
			b := appendJSONString(nil, v, asciiOnly)
			var back string
			if err := json.Unmarshal(b, &back); err != nil || back != v {
				t.Fatalf("%.40q (asciiOnly %v) encoded as %.80s: %v", v, asciiOnly, b, err)
			}
			if asciiOnly {
				for _, c := range b {
					if c >= 0x80 {
						t.Fatalf("asciiOnly output has byte %#x", c)
					}
				}
			}
		}
	}
}
