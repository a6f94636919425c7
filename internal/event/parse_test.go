package event

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestParseObject(t *testing.T) {
	p, err := Parse([]byte(" \n\t{\"a\":1,\"b\":\"x\"}\r\n "))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Raw) != `{"a":1,"b":"x"}` {
		t.Errorf("Raw = %q, want surrounding whitespace trimmed", p.Raw)
	}
	if p.Obj["b"] != "x" || p.Obj["a"].(interface{ String() string }).String() != "1" {
		t.Errorf("Obj = %#v", p.Obj)
	}
}

func TestParseErrorsStillHash(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		reason     string // substring of the error
		canonical  string // the form hashed when raw is valid JSON; "" = hash of trimmed raw
		trimmedRaw string
	}{
		{"string", ` "hello" `, "record is a JSON string, not an object", `"hello"`, ""},
		{"number", `1.50`, "record is a JSON number, not an object", `1.50`, ""},
		{"array", `[ {"a":1} ]`, "record is a JSON array, not an object", `[{"a":1}]`, ""},
		{"null", `null`, "record is JSON null, not an object", `null`, ""},
		{"bool", `true`, "record is a JSON boolean, not an object", `true`, ""},
		{"invalid JSON", ` {"a":x} `, "invalid JSON", "", `{"a":x}`},
		{"truncated", `{"a":"b`, "invalid JSON: truncated", "", `{"a":"b`},
		{"truncated after key", `{"a":`, "invalid JSON: truncated", "", `{"a":`},
		{"empty", "  \n", "invalid JSON: empty record", "", ""},
		{"trailing data", `{"a":1} {"b":2}`, "invalid JSON", "", `{"a":1} {"b":2}`},
		{"single quotes", `{'a':1}`, "invalid JSON", "", `{'a':1}`},
		{"control char in string", "{\"a\":\"x\x01\"}", "invalid JSON", "", "{\"a\":\"x\x01\"}"},
		{"leading zero", `{"a":01}`, "invalid JSON", "", `{"a":01}`},
		{"NUL byte", "{\"a\":1}\x00", "invalid JSON", "", "{\"a\":1}\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.raw))
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want a *RecordError", err, err)
			}
			if !strings.Contains(re.Reason, tt.reason) || re.Error() != re.Reason {
				t.Errorf("reason = %q, want it to contain %q", re.Reason, tt.reason)
			}
			if p.Obj != nil {
				t.Errorf("Obj = %v, want nil", p.Obj)
			}
			want := sha256.Sum256([]byte(tt.trimmedRaw))
			if tt.canonical != "" {
				want = sha256.Sum256([]byte(tt.canonical))
			}
			if p.Hash != want {
				t.Errorf("Hash = %x, want %x", p.Hash, want)
			}
			if p.Hash == ([32]byte{}) {
				t.Error("Hash not set")
			}
		})
	}
}

// The dead letter deduplicates broken records by hash: the same broken
// bytes, however padded, hash the same; different ones differently.
func TestParseBrokenRecordHashIsStable(t *testing.T) {
	a, _ := Parse([]byte(`{"a":`))
	b, _ := Parse([]byte("  {\"a\":\n"))
	c, _ := Parse([]byte(`{"b":`))
	if a.Hash != b.Hash {
		t.Error("same broken record, different hash")
	}
	if a.Hash == c.Hash {
		t.Error("different broken records, same hash")
	}
}

func TestParseDoesNotMutateInput(t *testing.T) {
	raw := []byte(`{"a":"\u00e9"}`)
	orig := string(raw)
	if _, err := Parse(raw); err != nil {
		t.Fatal(err)
	}
	if string(raw) != orig {
		t.Errorf("input changed to %q", raw)
	}
}
