package wssaccess

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
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

func TestLayout(t *testing.T) {
	z := testZip(t, "PK\x05\x06 inside the data "+string(make([]byte, 40)))
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
