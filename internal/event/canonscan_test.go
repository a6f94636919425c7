package event

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/auditfwd/auditfwd/internal/benchcpu"
)

// referenceHash is how Parse hashed before Hash scanned the text itself:
// decode, then AppendCanonical of the value. Hash must give the same bytes
// for every input, or seen-sets written by earlier versions stop matching.
func referenceHash(raw []byte) [32]byte {
	raw = bytes.TrimSpace(raw)
	v, err := decodeRecord(string(raw))
	if err != nil {
		return sha256.Sum256(raw)
	}
	return sha256.Sum256(AppendCanonical(nil, v))
}

// checkCanonicalText fails when the one-pass canonical writer and
// AppendCanonical of the decoded value disagree on validity or on bytes.
func checkCanonicalText(t *testing.T, data []byte) {
	t.Helper()
	trimmed := bytes.TrimSpace(data)
	v, decErr := decodeRecord(string(trimmed))
	w := canonWriters.Get().(*canonWriter)
	defer w.release()
	ok := w.canonicalize(string(trimmed))
	if ok != (decErr == nil) {
		t.Fatalf("input %q: canonical writer ok = %v, decodeRecord err = %v", data, ok, decErr)
	}
	if ok {
		if want := AppendCanonical(nil, v); !bytes.Equal(w.out, want) {
			t.Fatalf("input %q:\n got  %s\n want %s", data, w.out, want)
		}
	}
	if got, want := Hash(data), referenceHash(data); got != want {
		t.Fatalf("input %q: Hash differs from the reference", data)
	}
}

func TestCanonicalTextMatchesReference(t *testing.T) {
	inputs := []string{
		string(benchRecord),
		`{}`, `[]`, `""`, `0`, `-0.0e-0`, `1E+2`, `true`, `false`, `null`, " \v{\"a\":1}\u00a0",
		`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":2,"b":1,"a":3}`, `{"b":1,"a":2,"b":{"z":1,"y":2},"a":[{"d":1,"c":2}]}`,
		`{"a":1,"a":2,"a":3,"b":4,"b":5}`, `{"\u0062":1,"a":2}`, `{"\u00e9":1,"z":2,"é":3}`,
		`{"a\"b":1,"a":2,"a\\":3}`, "{\"\xff\":1,\"\xfe\":2,\"\uFFFD\":3}",
		`"\u00e9\/\b\f\n\r\t\"\\"`, `"\ud83d\ude00"`, `"\ud83d"`, "\"a\xc3\"", `"\u0000\u001f"`,
		"\"\x7f\u2028\"", ` {"a" : [ 1 , { "c" : null , "b" : true } ] } `,
		`{"z":{"y":{"x":{"w":1,"v":2},"u":3},"t":4},"s":5}`,
		// invalid
		``, `{`, `{"a"`, `{"a":`, `{"a":1,}`, `[1,]`, `{,}`, `{1:2}`, `[1 2]`, `01`, `1.`, `-`,
		`"\x"`, `"\u12"`, "\"a\nb\"", `{"a":1}}`, `nulll`, `{"a":1} {"b":2}`, "{\"a\":1}\x00",
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat(`{"b":1,"a":`, 300) + "1" + strings.Repeat("}", 300),
	}
	for _, in := range inputs {
		checkCanonicalText(t, []byte(in))
	}
}

// FuzzCanonicalText holds Hash's one-pass writer to the reference: the
// decoded value through AppendCanonical.
func FuzzCanonicalText(f *testing.F) {
	for _, s := range []string{
		string(benchRecord), `{"b":1,"a":{"d":[1,{"f":2,"e":3}],"c":"\u00e9"},"a":null}`,
		"{\"\xff\":\"\xfe\",\"\\ud83d\":1}", `[{"b":1,"b":2}]`, `{"a":01}`, `{"x":"\u12`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCanonicalText(t, data)
	})
}

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		Hash(benchRecord)
	}
}

func BenchmarkHashReference(b *testing.B) {
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		referenceHash(benchRecord)
	}
}
