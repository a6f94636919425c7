package simulator

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var syncDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func newSyncTest(t *testing.T, tune func(*SyncConfig)) (*SyncSimulator, func(q string) (int, []byte)) {
	t.Helper()
	now := syncDay.Add(2 * time.Hour)
	cfg := SyncConfig{Seed: 3, Start: syncDay, LinesPerHour: 1000, PageLines: 700, FileLines: 150,
		Now: func() time.Time { return now }, FieldsChange: true, HostileRate: 0.2}
	if tune != nil {
		tune(&cfg)
	}
	s, err := NewSync(cfg)
	if err != nil {
		t.Fatal(err)
	}
	get := func(q string) (int, []byte) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, SyncPath+"?"+q, nil))
		return rec.Code, rec.Body.Bytes()
	}
	return s, get
}

// splitBody finds the trailer (test-side, naively) and the ZIP's lines.
func splitBody(t *testing.T, body []byte) (lines [][]byte, fields map[string]bool, token, status string) {
	t.Helper()
	i := bytes.LastIndex(body, []byte("X-sync-token: "))
	if i < 0 {
		t.Fatalf("no trailer in %d bytes", len(body))
	}
	for _, l := range strings.Split(strings.TrimSpace(string(body[i:])), "\r\n") {
		k, v, _ := strings.Cut(l, ": ")
		switch k {
		case "X-sync-token":
			token = v
		case "X-sync-status":
			status = v
		}
	}
	fields = map[string]bool{}
	if i == 0 {
		return nil, fields, token, status
	}
	zr, err := zip.NewReader(bytes.NewReader(body[:i]), int64(i))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		gz, err := gzip.NewReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(gz)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if l := sc.Bytes(); bytes.HasPrefix(l, []byte("#Fields: ")) {
				fields[string(l)] = true
			} else if l[0] != '#' {
				lines = append(lines, append([]byte(nil), l...))
			}
		}
		if err := sc.Err(); err != nil && err != io.EOF {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
	return lines, fields, token, status
}

func TestSyncPagesMatchGroundTruth(t *testing.T) {
	s, get := newSyncTest(t, nil)
	start := "startDate=1773100800000&endDate=0&token="
	want := s.SyncLineHashes(syncDay, syncDay.Add(2*time.Hour+time.Millisecond))
	seen := map[[32]byte]bool{}
	tok, hostile, quoted := "none", 0, 0
	fieldsSeen := map[string]bool{}
	for page := 0; ; page++ {
		code, body := get(start + tok)
		if code != 200 || page > 10 {
			t.Fatalf("page %d: HTTP %d %s", page, code, body)
		}
		lines, fields, next, status := splitBody(t, body)
		for f := range fields {
			fieldsSeen[f] = true
		}
		for _, l := range lines {
			h := sha256.Sum256(l)
			if seen[h] {
				t.Fatal("a line served twice")
			}
			if _, ok := want[h]; !ok {
				t.Fatalf("a line not in the ground truth: %.200q", l)
			}
			seen[h] = true
			if !utf8.Valid(l) || len(l) > 60000 || bytes.ContainsAny(l, "\x01\x1b") {
				hostile++
			}
			if bytes.Contains(l, []byte(`"Mozilla/5.0 (`)) {
				quoted++
			}
		}
		tok = next
		if status == "done" {
			break
		}
	}
	if len(seen) != len(want) || len(want) != 2001 {
		t.Fatalf("%d lines served, ground truth %d", len(seen), len(want))
	}
	if len(fieldsSeen) != 2 || hostile == 0 || quoted == 0 {
		t.Fatalf("formats %d, hostile lines %d, quoted user agents %d", len(fieldsSeen), hostile, quoted)
	}
	// Caught up: trailer only, the same token.
	code, body := get(start + tok)
	if code != 200 || string(body) != "X-sync-token: "+tok+"\r\nX-sync-status: done\r\n" {
		t.Fatalf("caught up: %d %q", code, body)
	}
}

func TestSyncLinesAreStable(t *testing.T) {
	s, _ := newSyncTest(t, nil)
	for _, p := range []int64{0, 1, 499, 500, 999, 1000, 123456} {
		a, b := s.SyncLine(p), s.SyncLine(p)
		if !bytes.Equal(a, b) || bytes.ContainsAny(a, "\r\n") {
			t.Fatalf("line %d: %q", p, a)
		}
		n := len(strings.Fields(string(a)))
		if n < 45 { // quoted values hold spaces: at least the column count
			t.Fatalf("line %d has %d words", p, n)
		}
	}
	for _, ms := range []int64{0, 1, 3599, 3600, 3_600_000, 3_600_001, 7_199_999} {
		p := s.posAt(syncDay.UnixMilli() + ms)
		if s.timeOf(p) < syncDay.UnixMilli()+ms || (p > 0 && s.timeOf(p-1) >= syncDay.UnixMilli()+ms) {
			t.Fatalf("posAt(+%d) = %d", ms, p)
		}
	}
}

func TestSyncErrors(t *testing.T) {
	_, get := newSyncTest(t, func(c *SyncConfig) { c.TokenMaxAge = time.Minute })
	for q, want := range map[string]int{
		"startDate=1773100800001&endDate=0&token=none":                      400, // not a whole hour
		"startDate=1773100800000&endDate=1893456000000&token=none":          400, // future end
		"startDate=1773100800000&endDate=0":                                 400, // no token
		"startDate=1773100800000&endDate=0&token=forged":                    400,
		"startDate=1773100800000&endDate=0&token=s1.p1.t1.0000000000000001": 400,
	} {
		if code, body := get(q); code != want {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
}
