package wss

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readerVariants feed the same body through different read patterns and
// buffer sizes, so that every element, string, escape and number gets cut
// at a refill boundary somewhere.
var readerVariants = []struct {
	name    string
	bufSize int
	wrap    func(io.Reader) io.Reader
}{
	{"whole", 0, func(r io.Reader) io.Reader { return r }},
	{"onebyte", 0, iotest.OneByteReader},
	{"half-buf7", 7, iotest.HalfReader},
	{"onebyte-buf1", 1, iotest.OneByteReader},
	{"dataerr-buf64", 64, iotest.DataErrReader},
}

type decodeResult struct {
	records []string // compacted
	n       int
	err     error
}

func runDecode(body []byte, path string, maxRecord, bufSize int, wrap func(io.Reader) io.Reader) decodeResult {
	var res decodeResult
	res.n, res.err, _ = decode(wrap(bytes.NewReader(body)), path, maxRecord, bufSize, func(raw []byte) error {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return fmt.Errorf("decoder yielded invalid JSON %q: %v", raw, err)
		}
		res.records = append(res.records, b.String())
		return nil
	})
	return res
}

// decodeAllWays decodes body through every reader variant and fails the
// test unless they all agree.
func decodeAllWays(t *testing.T, body []byte, path string, maxRecord int) decodeResult {
	t.Helper()
	var first decodeResult
	for i, v := range readerVariants {
		res := runDecode(body, path, maxRecord, v.bufSize, v.wrap)
		if i == 0 {
			first = res
			continue
		}
		if fmt.Sprint(res.records) != fmt.Sprint(first.records) || res.n != first.n || (res.err == nil) != (first.err == nil) {
			t.Fatalf("variant %s disagrees with %s:\n got  %d %q err=%v\n want %d %q err=%v",
				v.name, readerVariants[0].name, res.n, res.records, res.err, first.n, first.records, first.err)
		}
	}
	return first
}

func TestDecodeShapes(t *testing.T) {
	huge := `{"blob":"` + strings.Repeat(`x\"]}`, 256<<10) + `"}` // > 1 MiB, full of delimiters
	tests := []struct {
		name string
		body string
		path string
		want []string
	}{
		{"empty", ``, "", nil},
		{"whitespace only", " \n\t\r ", "", nil},
		{"null", `null`, "", nil},
		{"null padded", " \n null \n", "", nil},
		{"empty array", `[]`, "", nil},
		{"empty array spaced", " [ \n ] ", "", nil},
		{"array", `[{"a":1},{"b":2}]`, "", []string{`{"a":1}`, `{"b":2}`}},
		{"whitespace everywhere", "\r\n[ {\"a\" : 1 , \"b\":[ 1 ,2 ]} ,\n\t{ \"c\" :\"d\" }\t]\n", "", []string{`{"a":1,"b":[1,2]}`, `{"c":"d"}`}},
		{"any element type", `[1, -0.5e+3, "s", true, false, null, [], {}, [[1],[2,[3]]]]`, "",
			[]string{`1`, `-0.5e+3`, `"s"`, `true`, `false`, `null`, `[]`, `{}`, `[[1],[2,[3]]]`}},
		{"delimiters inside strings", `[{"m":"a]b}c\"d\\e,f[g{h","k\"]":"\\"}, "]", "\\\"]"]`, "",
			[]string{`{"m":"a]b}c\"d\\e,f[g{h","k\"]":"\\"}`, `"]"`, `"\\\"]"`}},
		{"unicode escapes", `[{"u":"\u00e9\ud83d\ude00\u0000\/"},"é😀"]`, "", []string{`{"u":"\u00e9\ud83d\ude00\u0000\/"}`, `"é😀"`}},
		{"data", `{"data":[{"a":1}]}`, "", []string{`{"a":1}`}},
		{"records", `{"records":[1,2]}`, "", []string{`1`, `2`}},
		{"auditLogs", `{"auditLogs":[{"x":"y"}]}`, "", []string{`{"x":"y"}`}},
		{"items", `{"items":[3]}`, "", []string{`3`}},
		{"results", `{"results":["r"]}`, "", []string{`"r"`}},
		{"case-insensitive key", `{"Data":[1],"AUDITLOGS":[2]}`, "", []string{`1`}},
		{"auditlogs lower case", `{"auditlogs":[2]}`, "", []string{`2`}},
		{"escaped key", `{"d\u0061ta":[7]}`, "", []string{`7`}},
		{"data null", `{"data":null}`, "", nil},
		{"data empty", `{"data":[]}`, "", nil},
		{"meta before", `{"meta":{"count":2,"data":[9],"x":[{"data":[8]}]},"total":2,"data":[{"a":1},{"b":2}]}`, "", []string{`{"a":1}`, `{"b":2}`}},
		{"meta after", `{"data":[{"a":1}],"paging":{"next":null,"items":[5]},"count":1,"records":[6]}`, "", []string{`{"a":1}`}},
		{"meta both sides", ` { "status" : "ok" , "items" : [ 1 ] , "count" : 1 } `, "", []string{`1`}},
		{"candidate not array then array", `{"items":"none","data":[1]}`, "", []string{`1`}},
		{"duplicate key first wins", `{"data":[1],"data":[2]}`, "", []string{`1`}},
		{"message with data is data", `{"message":"OK","data":[1]}`, "", []string{`1`}},
		{"path top key", `{"x":[1],"rows":[{"a":1}]}`, "rows", []string{`{"a":1}`}},
		{"path nested", `{"meta":{},"result":{"count":2,"items":[1,2],"more":false}}`, "result.items", []string{`1`, `2`}},
		{"path case-insensitive", `{"Result":{"Items":[1]}}`, "result.items", []string{`1`}},
		{"path null leaf", `{"result":{"items":null}}`, "result.items", nil},
		{"path null parent", `{"result":null}`, "result.items", nil},
		{"path with array body", `[1,2]`, "result.items", []string{`1`, `2`}},
		{"path beats detection", `{"data":[1],"rows":[2]}`, "rows", []string{`2`}},
		{"byte order mark", "\xEF\xBB\xBF[1]", "", []string{`1`}},
		{"huge record", `[1,` + huge + `,2]`, "", []string{`1`, huge, `2`}},
		{"huge skipped value", `{"meta":"` + strings.Repeat("m", 3<<20) + `","data":[1]}`, "", []string{`1`}},
		{"invalid utf8 kept", "[\"\xff\xfe\"]", "", []string{"\"\xff\xfe\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAllWays(t, []byte(tc.body), tc.path, 2<<20)
			if res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			if res.n != len(tc.want) || len(res.records) != len(tc.want) {
				t.Fatalf("n = %d, %d records, want %d", res.n, len(res.records), len(tc.want))
			}
			for i := range tc.want {
				if res.records[i] != tc.want[i] {
					t.Errorf("record %d = %.80q, want %.80q", i, res.records[i], tc.want[i])
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		path      string
		maxRecord int
		wantRecs  int      // records delivered before the error
		wantMsg   []string // substrings of the error
		eof       bool     // errors.Is(err, io.ErrUnexpectedEOF)
	}{
		{"html page", "\n<!DOCTYPE html><html><head><title>Sign in</title><style>p{}</style></head><body><p>Please log in</p></body></html>", "", 0, 0,
			[]string{"got HTML, not JSON (a proxy or login page?)", "Sign in", "Please log in"}, false},
		{"csv", "time,user,operation\n2026-01-01,a,Login\n", "", 0, 0, []string{"not JSON", "time,user"}, false},
		{"scalar body", `"ok"`, "", 0, 0, []string{"JSON scalar"}, false},
		{"number body", `42`, "", 0, 0, []string{"JSON scalar"}, false},
		{"trailing garbage", `[1,2] x`, "", 0, 2, []string{"trailing data"}, false},
		{"two documents", `[1][2]`, "", 0, 1, []string{"trailing data"}, false},
		{"garbage after null", `null,`, "", 0, 0, []string{"trailing data"}, false},
		{"truncated in record", `[{"a":1},{"b":`, "", 0, 1, []string{"truncated", "record #2"}, true},
		{"truncated in string", `[{"a":1},"abc`, "", 0, 1, []string{"truncated"}, true},
		{"truncated after comma", `[1,`, "", 0, 1, []string{"truncated"}, true},
		{"truncated before close", `[1`, "", 0, 0, []string{"truncated"}, true},
		{"truncated wrapper", `{"data":[1]`, "", 0, 1, []string{"truncated"}, true},
		{"truncated in meta", `{"meta":{"a":"b`, "", 0, 0, []string{"truncated"}, true},
		{"truncated literal", `[tru`, "", 0, 0, []string{"truncated"}, true},
		{"truncated escape", `["a\u00`, "", 0, 0, []string{"truncated"}, true},
		{"trailing comma", `[1,]`, "", 0, 1, []string{"unexpected ']'"}, false},
		{"leading comma", `[,1]`, "", 0, 0, []string{"unexpected ','"}, false},
		{"missing comma", `[1 2]`, "", 0, 1, []string{"unexpected '2'"}, false},
		{"bad literal", `[nul]`, "", 0, 0, []string{"literal null"}, false},
		{"leading zero", `[01]`, "", 0, 1, []string{"unexpected '1'"}, false},
		{"bare minus", `[-]`, "", 0, 0, []string{"in a number"}, false},
		{"bad fraction", `[1.]`, "", 0, 0, []string{"decimal point"}, false},
		{"bad exponent", `[1e]`, "", 0, 0, []string{"exponent"}, false},
		{"bad escape", `["\x"]`, "", 0, 0, []string{"escape"}, false},
		{"bad unicode escape", `["\u12G4"]`, "", 0, 0, []string{"\\u escape"}, false},
		{"control char in string", "[\"a\nb\"]", "", 0, 0, []string{"control character"}, false},
		{"single quotes", `['a']`, "", 0, 0, []string{"unexpected '\\''"}, false},
		{"no key quotes", `[{a:1}]`, "", 0, 0, []string{"object key"}, false},
		{"no records key", `{"meta":1,"count":0}`, "", 0, 0, []string{"no records array", `"meta"`, `"count"`, "records_path"}, false},
		{"empty object", `{}`, "", 0, 0, []string{"no records array", "keys seen: none"}, false},
		{"candidate holds object", `{"data":{"x":[1]}}`, "", 0, 0, []string{`"data" holds an object`, "records_path"}, false},
		{"error object string", `{"error":"invalid_token","status":401}`, "", 0, 0, []string{"error object", "invalid_token"}, false},
		{"error object nested", `{"error":{"code":500,"message":"backend down"}}`, "", 0, 0, []string{"error object", "backend down"}, false},
		{"errorMessage", `{"errorMessage":"Date range too large"}`, "", 0, 0, []string{"Date range too large"}, false},
		{"path missing", `{"result":{"rows":[1]},"meta":{}}`, "result.items", 0, 0, []string{`no key "items"`, `"rows"`}, false},
		{"path missing top", `{"data":[1]}`, "result.items", 0, 0, []string{`no key "result"`, `"data"`}, false},
		{"path not array", `{"result":{"items":{"a":1}}}`, "result.items", 0, 0, []string{"holds an object, not an array"}, false},
		{"path parent not object", `{"result":[1]}`, "result.items", 0, 0, []string{"holds an array, not an object"}, false},
		{"record too large", `[1,"` + strings.Repeat("a", 100) + `",2]`, "", 64, 1, []string{"record #2 is larger than max_record_bytes (64 bytes)"}, false},
		{"record exactly at limit", `[1,"` + strings.Repeat("a", 61) + `",`, "", 63, 2, []string{"truncated"}, true}, // the limit is fine, the missing ] is not
		{"deep nesting", strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), "", 0, 0, []string{"nesting deeper"}, false},
		{"bom only half", "\xEF\xBB[1]", "", 0, 0, []string{"not JSON"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeAllWays(t, []byte(tc.body), tc.path, tc.maxRecord)
			if res.err == nil {
				t.Fatalf("no error; records %q", res.records)
			}
			var be *BodyError
			if !errors.As(res.err, &be) {
				t.Fatalf("err %T %v, want *BodyError", res.err, res.err)
			}
			if !Retryable(res.err) {
				t.Errorf("Retryable(%v) = false", res.err)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(res.err.Error(), m) {
					t.Errorf("error %q does not contain %q", res.err, m)
				}
			}
			if got := errors.Is(res.err, io.ErrUnexpectedEOF); got != tc.eof {
				t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v, want %v (%v)", got, tc.eof, res.err)
			}
			if res.n != tc.wantRecs || len(res.records) != tc.wantRecs {
				t.Errorf("n = %d (%d records), want %d", res.n, len(res.records), tc.wantRecs)
			}
		})
	}
}

func TestDecodeRecordLimitIsExact(t *testing.T) {
	rec := `"` + strings.Repeat("a", 62) + `"` // 64 bytes
	body := []byte(`[` + rec + `]`)
	if res := decodeAllWays(t, body, "", 64); res.err != nil || res.n != 1 {
		t.Fatalf("64-byte record at limit 64: n=%d err=%v", res.n, res.err)
	}
	if res := decodeAllWays(t, body, "", 63); res.err == nil {
		t.Fatalf("64-byte record at limit 63: no error")
	}
}

// A hostile body with a gigantic element must fail fast, not buffer it.
func TestDecodeHostileElementIsBounded(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`[{"x":"`), infiniteReader('a'))
	n, err := Decode(r, "", 1<<20, func([]byte) error { return nil })
	var be *BodyError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "max_record_bytes") || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

type infiniteReader byte

func (b infiniteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestDecodeCallbackError(t *testing.T) {
	stop := errors.New("stop here")
	calls := 0
	n, err := Decode(strings.NewReader(`[1,2,3,4]`), "", 0, func([]byte) error {
		if calls++; calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("err = %v (%T), want the callback's error unchanged", err, err)
	}
	if n != 2 || calls != 3 {
		t.Fatalf("n = %d, calls = %d; want 2, 3", n, calls)
	}
	if Retryable(err) {
		t.Error("a callback error is retryable")
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("connection reset by peer")
	r := io.MultiReader(strings.NewReader(`[1,2,{"a":`), iotest.ErrReader(boom))
	n, err := Decode(r, "", 0, nil)
	var be *BodyError
	if !errors.As(err, &be) || !errors.Is(err, boom) || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	// A read error right after a complete document still fails the body:
	// the transfer did not end cleanly.
	r = io.MultiReader(strings.NewReader(`[1]`), iotest.ErrReader(boom))
	if _, err := Decode(r, "", 0, nil); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	// So does a failure before the first byte.
	if _, err := Decode(iotest.ErrReader(boom), "", 0, nil); !errors.Is(err, boom) || !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BodyError wrapping %v", err, boom)
	}
}

// The slice handed to fn is the decoder's buffer: check it is never
// clobbered while fn runs, whatever the record size.
func TestDecodeRecordBytesStable(t *testing.T) {
	var body bytes.Buffer
	var want []string
	body.WriteString(`{"meta":"x","data":[`)
	for i := 0; i < 2000; i++ {
		if i > 0 {
			body.WriteString(",\n")
		}
		rec := fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", (i*37)%3000))
		want = append(want, rec)
		body.WriteString(rec)
	}
	body.WriteString(`]}`)
	res := decodeAllWays(t, body.Bytes(), "", 0)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.records) != len(want) {
		t.Fatalf("%d records, want %d", len(res.records), len(want))
	}
	for i := range want {
		if res.records[i] != want[i] {
			t.Fatalf("record %d = %.60q, want %.60q", i, res.records[i], want[i])
		}
	}
}

// Every byte value at every offset of the 8-byte fast path must be judged
// exactly as encoding/json judges it.
func TestDecodeStringBytesAgreeWithEncodingJSON(t *testing.T) {
	for c := 0; c < 256; c++ {
		for at := 0; at < 19; at++ {
			str := []byte(strings.Repeat("a", 19))
			str[at] = byte(c)
			body := []byte(`["` + string(str) + `"]`)
			_, err := Decode(bytes.NewReader(body), "", 0, nil)
			if valid := json.Valid(body); (err == nil) != valid {
				t.Fatalf("byte 0x%02x at %d: decoder err=%v, encoding/json valid=%v", c, at, err, valid)
			}
		}
	}
}

// The nesting limit is encoding/json's: depth 10000 passes, 10001 fails.
func TestDecodeDepthLimitMatchesEncodingJSON(t *testing.T) {
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		body := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		_, err := Decode(bytes.NewReader(body), "", 0, nil)
		if valid := json.Valid(body); (err == nil) != valid {
			t.Errorf("depth %d: decoder err=%v, encoding/json valid=%v", depth, err, valid)
		}
	}
}
