package wss

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// FuzzDecode checks the decoder against encoding/json: it never panics,
// every read pattern and buffer size gives the same answer, anything it
// yields is valid JSON, a body encoding/json accepts as an array of N
// values yields exactly those N values (also when wrapped in an object),
// and it never accepts a body encoding/json rejects.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		``, ` `, `null`, `[]`, `[1,2,3]`, `{"data":[{"a":1}]}`, `{"meta":{"x":[1]},"items":[true,null]}`,
		`["a]b}c\"d\\e", {"k":[[],{}]}]`, `["\u00e9\ud83d\ude00"]`, `[-0.5e+3, 0, 1E-2]`, `<html>`, `[1,]`,
		`{"error":"nope"}`, "\xEF\xBB\xBF[1]", `[1] [2]`, `[{"a":"b`, "[\"\xff\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 1 << 20
		ref := fuzzDecode(t, body, "", limit)

		doc := trimJSONSpace(body)
		var arr []json.RawMessage
		if len(doc) > 0 && doc[0] == '[' && json.Unmarshal(body, &arr) == nil {
			if ref.err != nil {
				t.Fatalf("encoding/json accepts %q as an array of %d, decoder failed: %v", body, len(arr), ref.err)
			}
			wantSame(t, body, ref.records, arr)
			// The same array inside a wrapper, found by detection and by path
			// (unless wrapping pushed it past the nesting limit).
			wrapped := append(append([]byte(`{"meta":{"data":{"x":[1]}},"count":2,"data":`), body...), `,"items":[0]}`...)
			if json.Valid(wrapped) {
				wantSame(t, wrapped, fuzzDecode(t, wrapped, "", limit).records, arr)
			}
			nested := append(append([]byte(`{"result":{"items":`), body...), `}}`...)
			if json.Valid(nested) {
				wantSame(t, nested, fuzzDecode(t, nested, "result.items", limit).records, arr)
			}
		}
		if ref.err == nil {
			if len(doc) > 0 && !bytes.HasPrefix(doc, []byte("\xEF\xBB\xBF")) && !json.Valid(doc) {
				t.Fatalf("decoder accepted %q, which encoding/json rejects (%d records)", body, ref.n)
			}
		}
	})
}

// fuzzDecode decodes body with every reader variant, failing unless they
// agree and every record is valid JSON.
func fuzzDecode(t *testing.T, body []byte, path string, limit int) decodeResult {
	t.Helper()
	var first decodeResult
	// whole, one byte per read with a 1-byte buffer (every refill and
	// growth path), and uneven reads into a 7-byte buffer.
	for i, v := range []int{0, 3, 2} {
		v := readerVariants[v]
		var res decodeResult
		var bad []byte
		res.n, res.err, _ = decode(v.wrap(bytes.NewReader(body)), path, limit, v.bufSize, func(raw []byte) error {
			if !json.Valid(raw) {
				bad = append([]byte(nil), raw...)
				return io.ErrShortWrite
			}
			var b bytes.Buffer
			_ = json.Compact(&b, raw)
			res.records = append(res.records, b.String())
			return nil
		})
		if bad != nil {
			t.Fatalf("%s: decoder yielded invalid JSON %q from %q", v.name, bad, body)
		}
		if res.n != len(res.records) {
			t.Fatalf("%s: n = %d but %d records", v.name, res.n, len(res.records))
		}
		if i == 0 {
			first = res
			continue
		}
		if (res.err == nil) != (first.err == nil) || len(res.records) != len(first.records) {
			t.Fatalf("%s disagrees on %q: %d records err=%v; whole: %d records err=%v",
				v.name, body, len(res.records), res.err, len(first.records), first.err)
		}
		for j := range res.records {
			if res.records[j] != first.records[j] {
				t.Fatalf("%s disagrees on %q record %d: %q vs %q", v.name, body, j, res.records[j], first.records[j])
			}
		}
	}
	return first
}

func wantSame(t *testing.T, body []byte, got []string, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: decoder yielded %d records, encoding/json %d", body, len(got), len(want))
	}
	for i := range want {
		var b bytes.Buffer
		if err := json.Compact(&b, want[i]); err != nil {
			t.Fatalf("compact %q: %v", want[i], err)
		}
		if got[i] != b.String() {
			t.Fatalf("%q: record %d = %q, encoding/json says %q", body, i, got[i], b.String())
		}
	}
}

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
