package wssaccess

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testZip(t *testing.T, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("cloud_00001_20260310000000.log.gz")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// toZip64 rewrites a small ZIP's end as a ZIP64 one (record, locator, and
// an end record whose fields all say "see ZIP64"), as a writer that always
// uses ZIP64 would.
func toZip64(t *testing.T, z []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(z, []byte("PK\x05\x06"))
	eocd := z[i:]
	le := binary.LittleEndian
	out := append([]byte{}, z[:i]...)
	rec := make([]byte, 56)
	copy(rec, "PK\x06\x06")
	le.PutUint64(rec[4:], 44)
	le.PutUint16(rec[12:], 45)
	le.PutUint16(rec[14:], 45)
	le.PutUint64(rec[24:], uint64(le.Uint16(eocd[10:])))
	le.PutUint64(rec[32:], uint64(le.Uint16(eocd[10:])))
	le.PutUint64(rec[40:], uint64(le.Uint32(eocd[12:])))
	le.PutUint64(rec[48:], uint64(le.Uint32(eocd[16:])))
	loc := make([]byte, 20)
	copy(loc, "PK\x06\x07")
	le.PutUint64(loc[8:], uint64(len(out)))
	le.PutUint32(loc[16:], 1)
	end := make([]byte, 22)
	copy(end, "PK\x05\x06")
	for _, o := range []int{8, 10} {
		le.PutUint16(end[o:], 0xffff)
	}
	for _, o := range []int{12, 16} {
		le.PutUint32(end[o:], 0xffffffff)
	}
	out = append(append(append(out, rec...), loc...), end...)
	if _, err := zip.NewReader(bytes.NewReader(out), int64(len(out))); err != nil {
		t.Fatalf("the ZIP64 test archive does not open: %v", err)
	}
	return out
}

func TestLayout(t *testing.T) {
	z := testZip(t, "PK\x05\x06 inside the data "+string(make([]byte, 40)))
	z64 := toZip64(t, z)
	tr := "X-sync-token: tok\r\nX-sync-status: more\r\n"
	for _, tc := range []struct {
		name    string
		body    []byte
		zipSize int64
		check   func(error) bool
	}{
		{name: "trailer only", body: []byte("X-sync-token: tok\r\nX-sync-status: done\r\n"), zipSize: 0},
		{name: "trailer only after a newline", body: []byte("\r\nX-sync-status: done\r\nX-sync-token: tok\r\n"), zipSize: 0},
		{name: "zip then trailer", body: append(append([]byte{}, z...), tr...), zipSize: int64(len(z))},
		{name: "zip, CRLF, trailer", body: append(append(append([]byte{}, z...), "\r\n"...), tr...), zipSize: int64(len(z))},
		{name: "zip, LF, trailer", body: append(append(append([]byte{}, z...), "\n"...), tr...), zipSize: int64(len(z))},
		{name: "partial zip with trailer", body: append(append([]byte{}, z[:203%len(z)]...), tr...),
			check: func(err error) bool { var pe *PartialArchiveError; return errors.As(err, &pe) && pe.HasTrailer }},
		{name: "partial zip without trailer", body: z[:len(z)-30],
			check: func(err error) bool { var pe *PartialArchiveError; return errors.As(err, &pe) && !pe.HasTrailer }},
		{name: "zip without trailer", body: z,
			check: func(err error) bool { var te *TrailerError; return errors.As(err, &te) }},
		// A whole ZIP followed by a trailer that does not parse is a bad
		// trailer (repeat), not a partial ZIP (restart without the token).
		{name: "zip then an unknown status", body: append(append([]byte{}, z...), "X-sync-token: tok\nX-sync-status: later\n"...),
			check: func(err error) bool {
				var te *TrailerError
				return errors.As(err, &te) && !errors.As(err, new(*PartialArchiveError))
			}},
		{name: "zip then an oversized token", body: append(append([]byte{}, z...), "X-sync-token: "+strings.Repeat("t", MaxTokenLen+1)+"\nX-sync-status: more\n"...),
			check: func(err error) bool {
				var te *TrailerError
				return errors.As(err, &te) && !errors.As(err, new(*PartialArchiveError))
			}},
		{name: "zip then garbage", body: append(append([]byte{}, z...), "\x00\x01garbage"...),
			check: func(err error) bool {
				var te *TrailerError
				return errors.As(err, &te) && !errors.As(err, new(*PartialArchiveError))
			}},
		{name: "zip64 then trailer", body: append(append([]byte{}, z64...), tr...), zipSize: int64(len(z64))},
		{name: "zip64 then an unknown status", body: append(append([]byte{}, z64...), "X-sync-token: tok\nX-sync-status: later\n"...),
			check: func(err error) bool {
				var te *TrailerError
				return errors.As(err, &te) && !errors.As(err, new(*PartialArchiveError))
			}},
		{name: "html then trailer", body: []byte("<html><title>Proxy error</title></html>" + tr),
			check: func(err error) bool {
				var ne *NotArchiveError
				return errors.As(err, &ne) && bytes.Contains([]byte(err.Error()), []byte("Proxy error"))
			}},
		{name: "nothing", body: nil, check: func(err error) bool { var te *TrailerError; return errors.As(err, &te) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size, trl, err := layout(bytes.NewReader(tc.body), int64(len(tc.body)))
			if tc.check != nil {
				if !tc.check(err) {
					t.Fatalf("got %d, %+v, %v", size, trl, err)
				}
				return
			}
			if err != nil || size != tc.zipSize || trl.Token != "tok" {
				t.Fatalf("got %d, %+v, %v; want zip size %d", size, trl, err, tc.zipSize)
			}
			if size > 0 {
				if _, err := zip.NewReader(bytes.NewReader(tc.body[:size]), size); err != nil {
					t.Fatalf("the ZIP part does not open: %v", err)
				}
			}
		})
	}
}

func TestOpenSpoolRemovesStaleFiles(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "sync-123.spool")
	other := filepath.Join(dir, "state.db")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale spool file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("another file was removed: %v", err)
	}
	f, n, err := sp.fill(bytes.NewReader(make([]byte, 1<<20)))
	if err != nil || n != 1<<20 {
		t.Fatalf("at the limit: %d, %v", n, err)
	}
	discard(f)
	if _, _, err := sp.fill(bytes.NewReader(make([]byte, 1<<20+1))); !errors.As(err, new(*SpoolLimitError)) {
		t.Fatalf("one byte over: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, spoolPattern)); len(m) != 0 {
		t.Fatalf("spool files left: %v", m)
	}
}
