package event

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestAppendCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, `null`},
		{"bools", []any{true, false}, `[true,false]`},
		{"keys sorted by bytes", map[string]any{"b": json.Number("1"), "a": json.Number("2"), "B": json.Number("3"), "é": "x", "aa": nil},
			`{"B":3,"a":2,"aa":null,"b":1,"é":"x"}`},
		{"nested objects sorted too", map[string]any{"z": map[string]any{"y": "1", "x": []any{map[string]any{"q": true, "p": false}}}},
			`{"z":{"x":[{"p":false,"q":true}],"y":"1"}}`},
		{"number text kept exactly", []any{json.Number("1.0"), json.Number("1e3"), json.Number("-0"), json.Number("12345678901234567890123")},
			`[1.0,1e3,-0,12345678901234567890123]`},
		{"invalid hand-built number becomes a string", json.Number("0x10"), `"0x10"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short control escapes", "\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"other controls as \\u00XX", "\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"DEL and slash pass through", "\x7f/", "\"\x7f/\""},
		{"no HTML escaping", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"valid UTF-8 passes", "héllo 世界 😀 \u2028", "\"héllo 世界 😀 \u2028\""},
		{"invalid UTF-8 replaced per byte", "a\xffb\xc3", "\"a\uFFFDb\uFFFD\""},
		{"empty containers", []any{map[string]any{}, []any{}, ""}, `[{},[],""]`},
		{"nil containers", []any{map[string]any(nil), []any(nil)}, `[null,null]`},
		{"go ints", []any{int(-3), int64(4), uint64(5)}, `[-3,4,5]`},
		{"go floats like encoding/json", []any{1.5, 1e21, 1e-7, float64(2)}, `[1.5,1e+21,1e-07,2]`},
		{"NaN stays valid JSON", math.NaN(), `"NaN"`},
		{"other types via encoding/json", map[string]string{"b": "1", "a": "2"}, `{"a":"2","b":"1"}`},
		{"struct via encoding/json", struct {
			Z int `json:"z"`
			A int `json:"a"`
		}{1, 2}, `{"a":2,"z":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendCanonical(nil, tt.in))
			if got != tt.want {
				t.Errorf("AppendCanonical = %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %q", got)
			}
		})
	}
}

func TestAppendCanonicalAppends(t *testing.T) {
	got := string(AppendCanonical([]byte("prefix:"), "x"))
	if got != `prefix:"x"` {
		t.Errorf("got %s", got)
	}
}

func mustHash(t *testing.T, raw string) [32]byte {
	t.Helper()
	p, err := Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse(%s): %v", raw, err)
	}
	return p.Hash
}

func TestHashStability(t *testing.T) {
	base := `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.50,"tags":["x","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`
	same := []struct{ name, raw string }{
		{"keys reordered", `{"userName":"a@x","detail":{"z":[1,{"a":1,"b":2}],"k":"v"},"tags":["x","y"],"n":1.50,"timestamp":"2026-11-24T10:15:02Z"}`},
		{"whitespace", " {\n\t\"timestamp\" : \"2026-11-24T10:15:02Z\" ,\r\n \"userName\":\"a@x\",\"n\": 1.50, \"tags\":[ \"x\" , \"y\" ],\"detail\":{ \"k\":\"v\",\"z\":[1,{\"b\":2,\"a\":1}]}}\n"},
		{"nested reorder", `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.50,"tags":["x","y"],"detail":{"z":[1,{"a":1,"b":2}],"k":"v"}}`},
		{"\\u escapes", `{"timestamp":"2026-11-24T10:15:02Z","userName":"\u0061@x","n":1.50,"tags":["\u0078","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`},
		{"escaped slash and key", `{"time\u0073tamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.50,"tags":["x","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`},
	}
	want := mustHash(t, base)
	for _, tt := range same {
		if got := mustHash(t, tt.raw); got != want {
			t.Errorf("%s: hash differs from the base record", tt.name)
		}
	}

	if mustHash(t, `{"m":"é/ü"}`) != mustHash(t, `{"m":"\u00e9\/\u00FC"}`) {
		t.Error(`\u escapes and literal UTF-8 hash differently`)
	}
	if mustHash(t, `{"m":"😀"}`) != mustHash(t, `{"m":"\ud83d\ude00"}`) {
		t.Error("a surrogate pair and literal UTF-8 hash differently")
	}

	different := []struct{ name, raw string }{
		{"value changed", `{"timestamp":"2026-11-24T10:15:02Z","userName":"b@x","n":1.50,"tags":["x","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`},
		{"nested value changed", `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.50,"tags":["x","y"],"detail":{"k":"v","z":[1,{"b":3,"a":1}]}}`},
		{"array order is significant", `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.50,"tags":["y","x"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`},
		{"number spelling is significant", `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.5,"tags":["x","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`},
		{"string vs number", `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":"1.50","tags":["x","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]}}`},
		{"extra key", `{"timestamp":"2026-11-24T10:15:02Z","userName":"a@x","n":1.50,"tags":["x","y"],"detail":{"k":"v","z":[1,{"b":2,"a":1}]},"x":null}`},
	}
	for _, tt := range different {
		if got := mustHash(t, tt.raw); got == want {
			t.Errorf("%s: hash equals the base record's", tt.name)
		}
	}
}

// The hash is SHA-256 over the canonical form, nothing else: other
// components (the dead letter, a future re-hash) must be able to recompute it.
func TestHashIsSHA256OfCanonical(t *testing.T) {
	p, err := Parse([]byte(`{ "b" : 2, "a" : "x" }`))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(`{"a":"x","b":2}`)); p.Hash != want {
		t.Errorf("hash is not sha256 of the canonical form")
	}
}

// plainRun must agree with a byte-by-byte scan for every byte value at every
// position of two words, alone and followed by a second special byte (whose
// borrow must not hide or move the first).
func TestPlainRunMatchesPlainByte(t *testing.T) {
	reference := func(b []byte) int {
		for i, c := range b {
			if !plainByte[c] {
				return i
			}
		}
		return len(b)
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 16; pos++ {
			for _, second := range []int{-1, (pos + 3) % 16, (pos + 1) % 16} {
				b := []byte("abcdefghijklmnopq")
				b[pos] = byte(c)
				if second >= 0 && second != pos {
					b[second] = '"'
				}
				if got, want := plainRun(string(b), 0), reference(b); got != want {
					t.Fatalf("%q: plainRun = %d, want %d", b, got, want)
				}
			}
		}
	}
}

func TestSortMembers(t *testing.T) {
	for _, n := range []int{0, 1, 2, 13, 32, 33, 100} {
		ms := make([]member, n)
		for i := range ms {
			ms[i].key = fmt.Sprintf("k%03d", (i*37)%max(n, 1))
		}
		sortMembers(ms)
		if !slices.IsSortedFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) }) {
			t.Errorf("n=%d: not sorted", n)
		}
	}
}
