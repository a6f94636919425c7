package event

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// stdlibDecode is the reference decodeRecord must match: json.Decoder with
// UseNumber, one value, nothing after it.
func stdlibDecode(b []byte) (any, error) {
	var v any
	err := decodeUseNumber(b, &v)
	return v, err
}

// checkDecodeMatches fails when decodeRecord and encoding/json disagree on
// whether b is valid or on what it decodes to.
func checkDecodeMatches(t *testing.T, b []byte) {
	t.Helper()
	want, wantErr := stdlibDecode(b)
	got, gotErr := decodeRecord(string(b))
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("input %q: encoding/json err = %v, decodeRecord err = %v", b, wantErr, gotErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q:\n got  %#v\n want %#v", b, got, want)
	}
}

func TestDecodeMatchesStdlib(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-0.0e-0`, `1E+2`, `true`, `false`, `null`,
		`{"a":{"b":[1,2,{"c":null}]},"d":[],"e":{}}`,
		`{"a":1,"a":2}`,
		`"\u00e9\/\b\f\n\r\t\"\\"`,
		`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`,
		`"\u0000"`, "\"\xff\xfe\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", `"é世😀"`,
		"{\"\xff\":1}",
		` {"a" : 1 } `, "\t[1 ,\n2]\r",
		// invalid
		``, ` `, `{`, `[`, `"`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `[1,`, `[1`, `tru`, `nul`, `fals`,
		`{"a":1,}`, `[1,]`, `{,}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `+1`,
		`"\x"`, `"\u12"`, `"\u12g4"`, "\"a\nb\"", "\"\x1f\"", `{"a":1}}`, `[]]`, `nulll`, `truex`,
		`"\ud83d\u12"`, `NaN`, `Infinity`, `'a'`, "\x00", "{\"a\":1}\x00",
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200),
	}
	for _, in := range inputs {
		checkDecodeMatches(t, []byte(in))
	}
}

func TestDecodeSharesNoCallerMemory(t *testing.T) {
	raw := []byte(`{"k":"value"}`)
	p, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	copy(raw, bytes.Repeat([]byte("x"), len(raw)))
	if p.Obj["k"] != "value" {
		t.Errorf("Obj changed with the caller's buffer: %v", p.Obj)
	}
}
