package wss

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// patternReader yields size bytes: head, then pat over and over, then
// tail; it never holds more than those pieces.
type patternReader struct {
	head, pat, tail []byte
	size, off       int64
}

func newPatternReader(head, pat, tail string, size int64) *patternReader {
	return &patternReader{head: []byte(head), pat: []byte(pat), tail: []byte(tail), size: size}
}

func (r *patternReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.off < r.size {
		var src []byte
		switch mid := r.size - int64(len(r.tail)); {
		case r.off < int64(len(r.head)):
			src = r.head[r.off:]
		case r.off >= mid:
			src = r.tail[r.off-mid:]
		default:
			src = r.pat[(r.off-int64(len(r.head)))%int64(len(r.pat)):]
			src = src[:min(int64(len(src)), mid-r.off)]
		}
		k := copy(p[n:], src)
		n += k
		r.off += int64(k)
	}
	if r.off == r.size {
		return n, io.EOF
	}
	return n, nil
}

type skipResult struct {
	records []string
	skipped []SkippedRecord
	n       int
	err     error
}

func decodeSkipping(r io.Reader, maxRecord, maxDepth, bufSize int) skipResult {
	var res skipResult
	res.n, res.err, _ = decodeWith(r, decodeOptions{
		maxRecord: maxRecord, maxDepth: maxDepth, bufSize: bufSize,
		record: func(raw []byte) error {
			res.records = append(res.records, string(raw))
			return nil
		},
		skipped: func(sk SkippedRecord) error {
			res.skipped = append(res.skipped, sk)
			return nil
		},
	})
	return res
}

// goodRecords is the body around a bad record: 20 good ones, the bad one
// after the first k.
func goodRecords(k int) (before, after string, want []string) {
	var b, a strings.Builder
	b.WriteString("[")
	for i := 0; i < 20; i++ {
		rec := fmt.Sprintf(`{"n":%d,"user":"admin@example.com"}`, i)
		want = append(want, rec)
		if i < k {
			b.WriteString(rec + ",")
		} else {
			a.WriteString("," + rec)
		}
	}
	a.WriteString("]")
	return b.String(), a.String(), want
}

// A 50 MB record among 20 good ones: the 20 are delivered, the big one is
// reported with the SHA-256 of its exact bytes, and it is never held in
// memory, neither by the decoder nor by the test.
func TestDecodeSkipsHugeRecordInConstantMemory(t *testing.T) {
	const size = 50 << 20
	head, tail := `{"id":"big","pad":"`, `"}`
	pat := "é-ü€😀x" // multi-byte runes, so the excerpt's cut must mind them
	huge := func() io.Reader { return newPatternReader(head, pat, tail, size) }
	h := sha256.New()
	if _, err := io.Copy(h, huge()); err != nil {
		t.Fatal(err)
	}
	var wantHash [32]byte
	h.Sum(wantHash[:0])

	before, after, want := goodRecords(7)
	body := io.MultiReader(strings.NewReader(before), huge(), strings.NewReader(after))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	res := decodeSkipping(body, 1<<20, 0, 0)
	runtime.ReadMemStats(&m1)

	if res.err != nil {
		t.Fatalf("err = %v", res.err)
	}
	if res.n != 20 || strings.Join(res.records, "\n") != strings.Join(want, "\n") {
		t.Fatalf("n = %d, records %q", res.n, res.records)
	}
	if len(res.skipped) != 1 {
		t.Fatalf("skipped %d records, want 1", len(res.skipped))
	}
	sk := res.skipped[0]
	if sk.Index != 8 || sk.Size != size || sk.Hash != wantHash {
		t.Errorf("skipped #%d, %d bytes, hash %x; want #8, %d bytes, %x", sk.Index, sk.Size, sk.Hash, size, wantHash)
	}
	if want := fmt.Sprintf("record #8 is %d bytes, over max_record_bytes %d", size, 1<<20); sk.Reason != want {
		t.Errorf("reason %q, want %q", sk.Reason, want)
	}
	var first bytes.Buffer
	_, _ = io.CopyN(&first, huge(), int64(len(sk.Excerpt)))
	if len(sk.Excerpt) > MaxSkippedExcerpt || len(sk.Excerpt) < MaxSkippedExcerpt-utf8.UTFMax ||
		!utf8.Valid(sk.Excerpt) || !bytes.Equal(sk.Excerpt, first.Bytes()) {
		t.Errorf("excerpt (%d bytes, valid UTF-8 %v) is not the record's first bytes cut at a rune: %q",
			len(sk.Excerpt), utf8.Valid(sk.Excerpt), sk.Excerpt)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 16<<20 {
		t.Errorf("decoding allocated %d MiB for a 50 MiB record: it was buffered", alloc>>20)
	}
}

// 100,000 levels of nesting are stepped over without recursion (a
// goroutine stack that deep would be hundreds of MiB, and the scanner's
// JSON limit would fail the body).
func TestDecodeSkipsDeepRecordIteratively(t *testing.T) {
	const levels = 100_000
	for _, tc := range []struct{ name, open, inner, close string }{
		{"arrays", "[", "1", "]"},
		{"objects", `{"a":`, `"x"`, "}"},
		{"mixed", `[{"k":[],"a":`, "true", "}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deep := strings.Repeat(tc.open, levels) + tc.inner + strings.Repeat(tc.close, levels)
			before, after, want := goodRecords(3)
			res := decodeSkipping(strings.NewReader(before+deep+after), 0, 512, 0)
			if res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			if res.n != 20 || strings.Join(res.records, "\n") != strings.Join(want, "\n") || len(res.skipped) != 1 {
				t.Fatalf("n = %d, %d skipped", res.n, len(res.skipped))
			}
			sk := res.skipped[0]
			if sk.Index != 4 || sk.Size != int64(len(deep)) || sk.Hash != sha256.Sum256([]byte(deep)) ||
				sk.Reason != "record #4 is nested deeper than max_record_depth 512" ||
				!bytes.Equal(sk.Excerpt, []byte(deep[:MaxSkippedExcerpt])) {
				t.Fatalf("skipped %+v", sk)
			}
		})
	}
}

// Every read pattern and buffer size cuts the skipped records somewhere
// else; sizes and hashes must not change.
func TestDecodeSkipAllWays(t *testing.T) {
	big := `{"blob":"` + strings.Repeat(`x\"]}é`, 30) + `","n":[1,2.5e3,-0,true,false,null,{}]}`
	deep := `{"d":[[[[{"e":[[]]}]]]]}`
	body := " [1,\n" + big + " ,\"ok\", " + deep + ",\t{\"d\":[[1]]} ,[[[]]], " + big + "]"
	wantRecs := []string{`1`, `"ok"`, `{"d":[[1]]}`, `[[[]]]`}
	wantSkip := []struct {
		index int
		raw   string
	}{{2, big}, {4, deep}, {7, big}}
	for _, v := range readerVariants {
		res := decodeSkipping(v.wrap(strings.NewReader(body)), 64, 3, v.bufSize)
		if res.err != nil {
			t.Fatalf("%s: err = %v", v.name, res.err)
		}
		if strings.Join(res.records, " ") != strings.Join(wantRecs, " ") || len(res.skipped) != len(wantSkip) {
			t.Fatalf("%s: records %q, %d skipped", v.name, res.records, len(res.skipped))
		}
		for i, w := range wantSkip {
			sk := res.skipped[i]
			if sk.Index != w.index || sk.Size != int64(len(w.raw)) || sk.Hash != sha256.Sum256([]byte(w.raw)) ||
				string(sk.Excerpt) != w.raw[:min(len(w.raw), MaxSkippedExcerpt)] {
				t.Errorf("%s: skipped %d = #%d %d bytes %q", v.name, i, sk.Index, sk.Size, sk.Excerpt)
			}
		}
	}
}

// A record skipped for its size is still checked: broken JSON inside it
// fails the body, as it would have if it were small, and a body that ends
// inside it is truncated.
func TestDecodeSkippedRecordIsStillChecked(t *testing.T) {
	pad := strings.Repeat("a", 200)
	for _, tc := range []struct{ name, body, msg string }{
		{"syntax", `[1,{"x":"` + pad + `" "y":1},2]`, "after an object value (record #2)"},
		{"bad close", `[1,["` + pad + `"},2]`, "after an array element (record #2)"},
		{"control char", "[1,[\"" + pad + "\n\"],2]", "control character"},
		{"truncated", `[1,{"x":"` + pad, "inside record #2"},
		{"truncated deep", `[1,` + strings.Repeat(`[`, 50), "inside record #2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range readerVariants {
				res := decodeSkipping(v.wrap(strings.NewReader(tc.body)), 64, 8, v.bufSize)
				var be *BodyError
				if !errors.As(res.err, &be) || !strings.Contains(res.err.Error(), tc.msg) || len(res.skipped) != 0 || res.n != 1 {
					t.Fatalf("%s: n=%d skipped=%d err=%v, want %q", v.name, res.n, len(res.skipped), res.err, tc.msg)
				}
			}
		})
	}
}

// The skipped callback's error stops decoding and comes back unchanged.
func TestDecodeSkippedCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n, err, fromFn := decodeWith(strings.NewReader(`[1,"`+strings.Repeat("a", 100)+`",2]`), decodeOptions{
		maxRecord: 64, skipped: func(SkippedRecord) error { return stop },
	})
	if n != 1 || err != stop || !fromFn {
		t.Fatalf("n=%d err=%v fromFn=%v", n, err, fromFn)
	}
}

func TestUTF8Head(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"abc", "abc"}, {"aé", "aé"}, {"a\xc3", "a"}, {"a€"[:3], "a"}, {"😀"[:3], ""},
		{"x😀", "x😀"}, {"\xff", "\xff"}, // invalid bytes are kept: they are evidence
	} {
		if got := string(utf8Head([]byte(tc.in))); got != tc.want {
			t.Errorf("utf8Head(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
