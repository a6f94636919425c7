package wss

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"strings"
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
		`[{"a":[[1]]}, "a long string, past the limit", 1, [[[[]]]], {"k":"v"}]`, `[[{"a":[{"b":[}]}]]]`,
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
		fuzzSkip(t, body, arr)
	})
}

// Skip limits for fuzzing: small, so that the fuzzer's short inputs hit
// the skip path often.
const (
	fuzzMaxRecord = 16
	fuzzMaxDepth  = 2
)

// fuzzSkip decodes body with tiny record limits and a skipped callback:
// every read pattern agrees, and for a body encoding/json reads as the
// array arr each element is either delivered (when within both limits)
// or skipped with its exact size and hash. A body encoding/json rejects is
// only accepted when a record too deep for it was skipped.
func fuzzSkip(t *testing.T, body []byte, arr []json.RawMessage) {
	t.Helper()
	type item struct {
		raw  string // compacted, for a record
		size int64  // for a skipped one
		hash [32]byte
		deep bool
	}
	var first []item
	var firstErr error
	for i, v := range []int{0, 3, 2} {
		v := readerVariants[v]
		var got []item
		_, err, _ := decodeWith(v.wrap(bytes.NewReader(body)), decodeOptions{
			maxRecord: fuzzMaxRecord, maxDepth: fuzzMaxDepth, bufSize: v.bufSize,
			record: func(raw []byte) error {
				var b bytes.Buffer
				if err := json.Compact(&b, raw); err != nil {
					t.Fatalf("%s: decoder yielded invalid JSON %q from %q", v.name, raw, body)
				}
				got = append(got, item{raw: b.String()})
				return nil
			},
			skipped: func(sk SkippedRecord) error {
				if len(sk.Excerpt) > MaxSkippedExcerpt || int64(len(sk.Excerpt)) > sk.Size || sk.Index != len(got)+1 {
					t.Fatalf("%s: bad skipped record %+v from %q", v.name, sk, body)
				}
				got = append(got, item{size: sk.Size, hash: sk.Hash, deep: strings.Contains(sk.Reason, "max_record_depth")})
				return nil
			},
		})
		if i == 0 {
			first, firstErr = got, err
			continue
		}
		if (err == nil) != (firstErr == nil) || len(got) != len(first) {
			t.Fatalf("%s disagrees on %q when skipping: %d items err=%v; whole: %d items err=%v", v.name, body, len(got), err, len(first), firstErr)
		}
		for j := range got {
			if got[j] != first[j] {
				t.Fatalf("%s disagrees on %q item %d when skipping: %+v vs %+v", v.name, body, j, got[j], first[j])
			}
		}
	}
	if arr != nil {
		if firstErr != nil {
			t.Fatalf("encoding/json accepts %q as an array of %d, decoder failed when skipping: %v", body, len(arr), firstErr)
		}
		if len(first) != len(arr) {
			t.Fatalf("%q: %d items when skipping, encoding/json has %d", body, len(first), len(arr))
		}
		for j, el := range arr {
			over := len(el) > fuzzMaxRecord || nesting(el) > fuzzMaxDepth
			it := first[j]
			if it.raw == "" != over {
				t.Fatalf("%q: element %d (%d bytes, nesting %d) skipped=%v", body, j, len(el), nesting(el), it.raw == "")
			}
			if over && (it.size != int64(len(el)) || it.hash != sha256.Sum256(el)) {
				t.Fatalf("%q: element %d %q skipped as %d bytes %x", body, j, el, it.size, it.hash)
			}
		}
		return
	}
	doc := trimJSONSpace(body)
	if firstErr == nil && len(doc) > 0 && !bytes.HasPrefix(doc, []byte("\xEF\xBB\xBF")) && !json.Valid(doc) {
		for _, it := range first {
			if it.deep {
				return // deeper than encoding/json goes, inside a skipped record
			}
		}
		t.Fatalf("decoder accepted %q when skipping, which encoding/json rejects", body)
	}
}

// nesting is how deep containers nest in the JSON value v.
func nesting(v []byte) int {
	depth, deepest, inStr := 0, 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
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
