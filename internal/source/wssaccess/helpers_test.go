package wssaccess

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

// clock is a settable time for the simulator and the client's retention
// check; waits between requests use real timers (min_request_interval is
// set to 1ns in these tests).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var day0 = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

type env struct {
	sim    *simulator.SyncSimulator
	srv    *httptest.Server
	client *Client
	clock  *clock
	dir    string
}

const testPassword = "s3cret-Passw0rd"

// newEnv serves a simulator on 127.0.0.1 (3.5 hours of 120 lines an hour,
// pages of 100 lines, files of 30) and builds a client for it.
func newEnv(t *testing.T, tune func(*simulator.SyncConfig), tuneCfg func(*Config)) *env {
	t.Helper()
	ck := &clock{t: day0.Add(3*time.Hour + 30*time.Minute)}
	sc := simulator.SyncConfig{
		Username: "api-user", Password: testPassword, Seed: 7, Start: day0,
		LinesPerHour: 120, PageLines: 100, FileLines: 30, Now: ck.Now, FieldsChange: true, HostileRate: 0.05,
	}
	if tune != nil {
		tune(&sc)
	}
	sim, err := simulator.NewSync(sc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL, Username: "api-user", Password: wss.Secret(testPassword),
		MinRequestInterval: Duration(time.Nanosecond), RequestTimeout: Duration(2 * time.Minute)}
	if tuneCfg != nil {
		tuneCfg(&cfg)
	}
	dir := t.TempDir()
	c, err := New(cfg, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Now = ck.Now
	return &env{sim: sim, srv: srv, client: c, clock: ck, dir: dir}
}

func (e *env) fetch(t *testing.T, r Request) (*Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := e.client.Fetch(ctx, r)
	if resp != nil {
		t.Cleanup(func() { resp.Close() })
	}
	return resp, err
}

// readArchive decodes a ZIP of gzip ELFF files with the standard library:
// the data lines, and each member's #Fields line.
func readArchive(t *testing.T, ra io.ReaderAt, size int64) (lines [][]byte, fields []string) {
	t.Helper()
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "cloud_") || !strings.HasSuffix(f.Name, ".log.gz") {
			t.Errorf("file name %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(rc) // multistream: every member
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(gz)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l := sc.Bytes()
			if bytes.HasPrefix(l, []byte("#Fields: ")) {
				fields = append(fields, string(l))
			}
			if len(l) > 0 && l[0] == '#' {
				continue
			}
			lines = append(lines, append([]byte(nil), l...))
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		rc.Close()
	}
	return lines, fields
}

func hashOf(b []byte) [32]byte { return sha256.Sum256(b) }
