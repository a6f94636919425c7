package wssaccess

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
)

// readAll drains a, returning "entry:num:text" per line and the final error.
func readAll(t *testing.T, a *Archive) ([]string, []*LineError, error) {
	t.Helper()
	var out []string
	var bad []*LineError
	for range 100000 {
		l, err := a.Next()
		var le *LineError
		switch {
		case errors.As(err, &le):
			bad = append(bad, le)
			continue
		case err != nil:
			return out, bad, err
		}
		out = append(out, l.Entry+":"+itoa(l.Num)+":"+string(l.Bytes))
	}
	t.Fatal("Next never ended")
	return nil, nil, nil
}

func itoa(n int64) string { return string(appendUint(nil, uint64(n))) }

func TestArchiveReadsEntriesInOrder(t *testing.T) {
	// Two gzip members in one entry (Go's gzip.Reader reads concatenated
	// members as one stream), CRLF endings, blank lines, a last line
	// without a terminator, an uncompressed ELFF entry, a directory entry
	// and an empty entry.
	multi := append(gzipped(t, "#Fields: a b\r\n1 2\r\n\r\n"), gzipped(t, "#Fields: a b\n3 4")...)
	z := zipOf(t,
		zipEntry{name: "cloud_1_20261124100000", data: multi, method: zip.Store},
		zipEntry{name: "dir/"},
		zipEntry{name: "empty", data: nil},
		zipEntry{name: "plain.log", data: []byte("#Fields: c\n5\n"), method: zip.Deflate},
		zipEntry{name: "cloud_2_20261124100000", data: gzipped(t, "#Fields: a b\n6 7\n"), method: zip.Deflate},
	)
	a := openBytes(t, z)
	if got, want := strings.Join(a.Entries(), ","), "cloud_1_20261124100000,empty,plain.log,cloud_2_20261124100000"; got != want {
		t.Errorf("Entries = %s, want %s", got, want)
	}
	lines, bad, err := readAll(t, a)
	if err != io.EOF || len(bad) > 0 {
		t.Fatalf("end: %v, bad lines %v", err, bad)
	}
	want := []string{
		"cloud_1_20261124100000:1:#Fields: a b", "cloud_1_20261124100000:2:1 2",
		"cloud_1_20261124100000:4:#Fields: a b", "cloud_1_20261124100000:5:3 4",
		"plain.log:1:#Fields: c", "plain.log:2:5",
		"cloud_2_20261124100000:1:#Fields: a b", "cloud_2_20261124100000:2:6 7",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if st := a.Stats(); st.Entries != 4 || st.Lines != 8 || st.Blank != 1 {
		t.Errorf("stats %+v, want 4 entries, 8 lines, 1 blank", st)
	}
	if _, err := a.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF again", err)
	}
}

// damage returns a copy of b with the byte at i (from the end if negative) flipped.
func damage(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if i < 0 {
		i += len(c)
	}
	c[i] ^= 0xff
	return c
}

func TestArchiveDamagedEntryIsNamed(t *testing.T) {
	good := gzipped(t, sampleFile(0, 50))
	truncated := good[:len(good)/2]
	tests := []struct {
		name string
		zip  []byte
	}{
		{"not gzip", zipOf(t, zipEntry{name: "bad", data: []byte("PK\x03\x04 garbage")})},
		{"gzip CRC mismatch", zipOf(t, zipEntry{name: "bad", data: damage(good, -6)})},
		{"gzip size mismatch", zipOf(t, zipEntry{name: "bad", data: damage(good, -2)})},
		{"corrupt deflate data", zipOf(t, zipEntry{name: "bad", data: damage(good, 40)})},
		{"truncated gzip", zipOf(t, zipEntry{name: "bad", data: truncated})},
		{"garbage after a member", zipOf(t, zipEntry{name: "bad", data: append(bytes.Clone(good), "junk"...)})},
		{"bad gzip header", zipOf(t, zipEntry{name: "bad", data: damage(good, 3)[:2:2]})},
		{"ZIP CRC mismatch", zipCRCMismatch(t, good)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openBytes(t, tt.zip)
			_, _, err := readAll(t, a)
			var de *DamagedArchiveError
			if !errors.As(err, &de) || !errors.Is(err, ErrDamagedArchive) {
				t.Fatalf("end error %v (%T), want a *DamagedArchiveError", err, err)
			}
			if de.Entry != "bad" || !strings.Contains(err.Error(), `entry "bad"`) {
				t.Errorf("error %q does not name the entry", err)
			}
			if _, again := a.Next(); again != err {
				t.Errorf("Next after the damage = %v, want the same error (sticky)", again)
			}
			if verr := openBytes(t, tt.zip).Verify(); !errors.As(verr, &de) || de.Entry != "bad" {
				t.Errorf("Verify = %v, want a *DamagedArchiveError naming the entry", verr)
			}
		})
	}
}

// zipCRCMismatch stores data with the CRC of other bytes: archive/zip
// notices at the entry's end.
func zipCRCMismatch(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "bad", Method: zip.Store, CRC32: 12345,
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	zw.Close()
	return buf.Bytes()
}

func TestArchiveGoodEntryBeforeDamagedOneIsRead(t *testing.T) {
	good := gzipped(t, "#Fields: a\n1\n2\n")
	z := zipOf(t, zipEntry{name: "ok", data: good}, zipEntry{name: "bad", data: good[:len(good)-4]})
	lines, _, err := readAll(t, openBytes(t, z))
	var de *DamagedArchiveError
	if !errors.As(err, &de) || de.Entry != "bad" {
		t.Fatalf("end error %v, want the damaged entry named", err)
	}
	if len(lines) < 3 || lines[2] != "ok:3:2" {
		t.Errorf("lines before the damage: %q", lines)
	}
	if err := openBytes(t, zipOf(t, zipEntry{name: "ok", data: good})).Verify(); err != nil {
		t.Errorf("Verify of a good archive: %v", err)
	}
}

func TestOpenArchiveRefusesABrokenDirectory(t *testing.T) {
	z := zipOf(t, zipEntry{name: "a", data: gzipped(t, "#Fields: a\n1\n")})
	for name, b := range map[string][]byte{
		"not a zip":         []byte("<html>busy</html>"),
		"cut before EOCD":   z[:len(z)-10],
		"empty":             nil,
		"directory damaged": damage(z, bytes.LastIndex(z, []byte("PK\x01\x02"))),
	} {
		_, err := OpenArchive(bytes.NewReader(b), int64(len(b)))
		var de *DamagedArchiveError
		if !errors.As(err, &de) || de.Entry != "" {
			t.Errorf("%s: OpenArchive = %v, want a *DamagedArchiveError without entry", name, err)
		}
	}
}

func TestArchiveOversizedLineIsABadLineAndReadingGoesOn(t *testing.T) {
	short := strings.Repeat("x", 150)        // fits the read buffer, over MaxLine
	long := strings.Repeat("y", 200<<10)     // over the buffer and over MaxLine
	assembled := strings.Repeat("z", 80<<10) // over the buffer, under MaxLine
	text := "#Fields: a\n" + short + "\r\n1\n" + long + "\r\n" + assembled + "\n2\n"
	for _, maxLine := range []int{100, 100 << 10} {
		a := openBytes(t, zipOf(t, zipEntry{name: "e", data: gzipped(t, text), method: zip.Deflate}))
		a.MaxLine = maxLine
		lines, bad, err := readAll(t, a)
		if err != io.EOF {
			t.Fatalf("MaxLine %d: end %v", maxLine, err)
		}
		var wantBad []string
		if maxLine == 100 {
			wantBad = append(wantBad, short)
		}
		wantBad = append(wantBad, long)
		if maxLine == 100 {
			wantBad = append(wantBad, assembled)
		}
		if len(bad) != len(wantBad) {
			t.Fatalf("MaxLine %d: %d bad lines, want %d: %v", maxLine, len(bad), len(wantBad), bad)
		}
		for i, le := range bad {
			w := wantBad[i]
			if le.Size != len(w) || le.Hash != sha256.Sum256([]byte(w)) || string(le.Head) != w[:min(lineHead, len(w))] ||
				le.Raw != nil || !strings.Contains(le.Reason, "over the") {
				t.Errorf("MaxLine %d: bad line %d: size %d (want %d), head %.20q, reason %q, hash ok %v",
					maxLine, i, le.Size, len(w), le.Head, le.Reason, le.Hash == sha256.Sum256([]byte(w)))
			}
		}
		last := lines[len(lines)-1]
		if last != "e:6:2" {
			t.Errorf("MaxLine %d: last line %q, want e:6:2 (numbering counts the bad lines)", maxLine, last)
		}
		if maxLine > 100 && !containsLine(lines, "e:5:"+assembled) {
			t.Errorf("MaxLine %d: the 80 KiB line was not handed out whole", maxLine)
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// The gzip reader must not be fooled by a member boundary falling on a
// read-buffer boundary: a large file of many members reads whole.
func TestArchiveManyMembersLargeFile(t *testing.T) {
	var data []byte
	n := 0
	for m := range 30 {
		data = append(data, gzipped(t, sampleFile(m*700, 700))...)
		n += 700 + 4
	}
	a := openBytes(t, zipOf(t, zipEntry{name: "big", data: data}))
	lines, bad, err := readAll(t, a)
	if err != io.EOF || len(bad) > 0 || len(lines) != n {
		t.Fatalf("end %v, %d bad, %d lines, want %d", err, len(bad), len(lines), n)
	}
}
