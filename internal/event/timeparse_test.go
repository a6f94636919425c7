package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	tests := []struct {
		name string
		in   any
		want time.Time
	}{
		// RFC 3339 / ISO 8601
		{"RFC 3339 ms Z", "2026-11-24T10:15:02.123Z", utc("2026-11-24T10:15:02.123Z")},
		{"RFC 3339 no fraction", "2026-11-24T10:15:02Z", utc("2026-11-24T10:15:02Z")},
		{"RFC 3339 nanoseconds", "2026-11-24T10:15:02.123456789Z", utc("2026-11-24T10:15:02.123456789Z")},
		{"fraction past 9 digits truncated", "2026-11-24T10:15:02.1234567891Z", utc("2026-11-24T10:15:02.123456789Z")},
		{"offset +01:00", "2026-11-24T10:15:02+01:00", utc("2026-11-24T09:15:02Z")},
		{"offset -05:30 with fraction", "2026-11-24T10:15:02.5-05:30", utc("2026-11-24T15:45:02.5Z")},
		{"offset +0100", "2026-11-24T10:15:02+0100", utc("2026-11-24T09:15:02Z")},
		{"offset +01", "2026-11-24T10:15:02+01", utc("2026-11-24T09:15:02Z")},
		{"no zone is UTC", "2026-11-24T10:15:02", utc("2026-11-24T10:15:02Z")},
		{"no zone with fraction", "2026-11-24T10:15:02.123", utc("2026-11-24T10:15:02.123Z")},
		{"lower-case t and z", "2026-11-24t10:15:02z", utc("2026-11-24T10:15:02Z")},
		{"no seconds", "2026-11-24T10:15Z", utc("2026-11-24T10:15:00Z")},
		{"comma fraction", "2026-11-24T10:15:02,250Z", utc("2026-11-24T10:15:02.25Z")},
		// space separated
		{"space", "2026-11-24 10:15:02", utc("2026-11-24T10:15:02Z")},
		{"space fraction", "2026-11-24 10:15:02.123", utc("2026-11-24T10:15:02.123Z")},
		{"space zone", "2026-11-24 10:15:02+01:00", utc("2026-11-24T09:15:02Z")},
		{"space fraction space zone", "2026-11-24 10:15:02.123 +0100", utc("2026-11-24T09:15:02.123Z")},
		{"space UTC", "2026-11-24 10:15:02 UTC", utc("2026-11-24T10:15:02Z")},
		{"space Z", "2026-11-24 10:15:02Z", utc("2026-11-24T10:15:02Z")},
		{"slashes", "2026/11/24 10:15:02", utc("2026-11-24T10:15:02Z")},
		{"surrounding spaces", "  2026-11-24T10:15:02Z \n", utc("2026-11-24T10:15:02Z")},
		// date only
		{"date only", "2026-11-24", utc("2026-11-24T00:00:00Z")},
		{"leap day", "2024-02-29", utc("2024-02-29T00:00:00Z")},
		// HTTP style
		{"RFC 1123", "Tue, 24 Nov 2026 10:15:02 GMT", utc("2026-11-24T10:15:02Z")},
		{"RFC 1123Z", "Tue, 24 Nov 2026 10:15:02 +0100", utc("2026-11-24T09:15:02Z")},
		// epochs, by magnitude
		{"epoch s number", json.Number("1763979302"), utc("2025-11-24T10:15:02Z")},
		{"epoch ms number", json.Number("1763979302123"), utc("2025-11-24T10:15:02.123Z")},
		{"epoch us number", json.Number("1763979302123456"), utc("2025-11-24T10:15:02.123456Z")},
		{"epoch ns number", json.Number("1763979302123456789"), utc("2025-11-24T10:15:02.123456789Z")},
		{"epoch s string", "1763979302", utc("2025-11-24T10:15:02Z")},
		{"epoch ms string", "1763979302123", utc("2025-11-24T10:15:02.123Z")},
		{"epoch us string", "1763979302123456", utc("2025-11-24T10:15:02.123456Z")},
		{"epoch ns string", "1763979302123456789", utc("2025-11-24T10:15:02.123456789Z")},
		{"fractional epoch s", json.Number("1763979302.123"), utc("2025-11-24T10:15:02.123Z")},
		{"fractional epoch s string", "1763979302.5", utc("2025-11-24T10:15:02.5Z")},
		{"fractional epoch ms", json.Number("1763979302123.5"), utc("2025-11-24T10:15:02.1235Z")},
		{"epoch with exponent", json.Number("1.763979302123e12"), utc("2025-11-24T10:15:02.123Z")},
		{"epoch with exponent, seconds", json.Number("1.7639793025E9"), utc("2025-11-24T10:15:02.5Z")},
		{"epoch with leading +", "+1763979302", utc("2025-11-24T10:15:02Z")},
		{"epoch with leading zeros", "0001763979302", utc("2025-11-24T10:15:02Z")},
		{"epoch float64", float64(1763979302), utc("2025-11-24T10:15:02Z")},
		{"epoch int64 ms", int64(1763979302123), utc("2025-11-24T10:15:02.123Z")},
		{"epoch int", 1763979302, utc("2025-11-24T10:15:02Z")},
		{"lowest s", json.Number("631152000"), utc("1990-01-01T00:00:00Z")},
		{"1990 in ms", json.Number("631152000000"), utc("1990-01-01T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if err != nil {
				t.Fatalf("ParseTime(%#v): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%#v) = %s, want %s (UTC)", tt.in, got.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
		})
	}
}

func TestParseTimeRejects(t *testing.T) {
	future := time.Now().AddDate(2, 0, 0)
	tests := []struct {
		name string
		in   any
		want string // substring of the error
	}{
		{"garbage", "xyz", "not a known time format"},
		{"empty", "", "empty"},
		{"blank", "   ", "empty"},
		{"null", nil, "null"},
		{"bool", true, "boolean"},
		{"object", map[string]any{"a": "b"}, "object"},
		{"array", []any{"2026-11-24"}, "array"},
		{"month 13", "2026-13-01", "format"},
		{"Feb 30", "2026-02-30T00:00:00Z", "format"},
		{"hour 24", "2026-11-24T24:00:00Z", "format"},
		{"minute 60", "2026-11-24T10:60:00Z", "format"},
		{"leap second", "2026-12-31T23:59:60Z", "format"},
		{"bad zone", "2026-11-24T10:15:02+25:00", "format"},
		{"unknown zone name", "2026-11-24 10:15:02 CET", "format"},
		{"trailing junk", "2026-11-24T10:15:02Zjunk", "format"},
		{"time of day only", "10:15:02", "format"},
		{"mixed separators", "2026-11/24", "format"},
		{"before 1990 string", "1989-12-31T23:59:59Z", "before 1990"},
		{"before 1990 epoch s", json.Number("631151999"), "before 1990"},
		{"zero epoch", json.Number("0"), "before 1990"},
		{"small number", json.Number("42"), "before 1990"},
		{"negative epoch", json.Number("-1763979302"), "negative"},
		{"far future string", future.Format(time.RFC3339), "future"},
		{"far future epoch s", json.Number("99999999999"), "future"},
		{"far future epoch ms", json.Number("99999999999999"), "future"},
		{"far future epoch ns", json.Number("9000000000000000000"), "future"},
		{"overflowing epoch", json.Number("99999999999999999999"), "too large"},
		{"huge exponent", json.Number("1e400"), "exponent"},
		{"NaN", "NaN", "format"},
		{"hex", "0x1234", "format"},
		{"unsupported Go type", struct{}{}, "struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if err == nil {
				t.Fatalf("ParseTime(%#v) = %s, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseTime(%#v) error = %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

// The bounds: a time just under a year ahead is fine (clock skew, late
// config), just over is not.
func TestParseTimeFutureBound(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	latest := now.Add(maxAhead)
	if _, err := parseTime(latest.Add(-time.Second).Format(time.RFC3339), latest); err != nil {
		t.Errorf("just inside the bound: %v", err)
	}
	if _, err := parseTime(latest.Add(time.Second).Format(time.RFC3339), latest); err == nil {
		t.Error("just past the bound: no error")
	}
}

// Epoch magnitude cut-offs, each side.
func TestEpochUnitByMagnitude(t *testing.T) {
	tests := []struct {
		in   string
		unit string
	}{
		{"99999999999", "s"},      // just under 1e11: seconds (year 5138, so rejected as future)
		{"100000000000", "ms"},    // 1e11: milliseconds (1973, rejected as before 1990)
		{"99999999999999", "ms"},  // just under 1e14
		{"100000000000000", "us"}, // 1e14
		{"99999999999999999", "us"},
		{"100000000000000000", "ns"},
	}
	for _, tt := range tests {
		got, err := parseEpoch(tt.in)
		if err != nil {
			t.Fatalf("parseEpoch(%s): %v", tt.in, err)
		}
		n, _ := json.Number(tt.in).Int64()
		var want time.Time
		switch tt.unit {
		case "s":
			want = time.Unix(n, 0)
		case "ms":
			want = time.UnixMilli(n)
		case "us":
			want = time.UnixMicro(n)
		case "ns":
			want = time.Unix(0, n)
		}
		if !got.Equal(want) {
			t.Errorf("parseEpoch(%s) = %s, want it read as %s (%s)", tt.in, got, tt.unit, want)
		}
	}
}
