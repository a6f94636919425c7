package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const accessOut = `outputs:
  - {name: o, type: file, path: /tmp/x}
`

func TestAccessSourceParses(t *testing.T) {
	now := time.Date(2026, 12, 3, 17, 41, 0, 0, time.UTC)
	c, err := Parse([]byte(`sources:
  - name: proxy
    type: wss_access
    base_url: https://portal.threatpulse.com/
    username: u
    password: p
    start: 3h
    keep_original: true
    retention: 365d
    checkpoint_records: 2000
    retry: {initial_interval: 1s}
`+accessOut), now)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.Access == nil {
		t.Fatal("no access keys")
	}
	a := s.Access
	if a.BaseURL != "https://portal.threatpulse.com" || a.Username != "u" || a.Password.Value() != "p" || !a.KeepOriginal {
		t.Fatalf("keys: %+v", a)
	}
	if a.Retention.D() != 365*24*time.Hour || a.PollInterval.D() != time.Minute || a.MinRequestInterval.D() != 5*time.Second || a.MaxArchiveBytes != 2<<30 {
		t.Fatalf("defaults: %+v", a)
	}
	if s.Checkpoint != 2000 || s.Retry.InitialInterval.D() != time.Second || s.Retry.MaxInterval.D() != 5*time.Minute {
		t.Fatalf("common keys: checkpoint %d, retry %+v", s.Checkpoint, s.Retry)
	}
	if want := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC); !s.StartTime.Equal(want) {
		t.Fatalf("start %s, want %s (3h back, cut to its hour)", s.StartTime, want)
	}
	if s.PollInterval.D() != time.Minute {
		t.Fatalf("poll_interval for readiness: %s", s.PollInterval.D())
	}
}

func TestAccessSourceErrors(t *testing.T) {
	_, err := Parse([]byte(`sources:
  - name: proxy
    type: wss_access
    base_url: https://portal.threatpulse.com/reportpod/logs/sync
    window: 1h
    poll_interval: soon
    max_archive_bytes: lots
    start: 2026-01-01T00:30:00Z
  - name: old
    type: wss_access
    base_url: https://portal.threatpulse.com
    username: u
    password: p
    start: 150d
  - name: again
    type: wss_access
    base_url: https://portal.threatpulse.com
    username: u
    password: p2
  - name: typo
    type: wss_acess
    base_url: https://portal.threatpulse.com
    username: u
    password: p
`+accessOut), time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"sources[0].window: unknown key (line 5)", // an audit key: not one of the Sync API's
		`sources[0].poll_interval: "soon" is not a duration like 30s, 2h or 100d (line 6)`,
		`sources[0].max_archive_bytes: "lots" is not a size`,
		"sources[0].base_url: ", "the source adds /reportpod/logs/sync",
		"sources[0].username: required", "sources[0].password: required",
		"sources[0].start: ", "is not on a whole UTC hour",
		"sources[1].start: 2026-07-06T17:00:00Z is older than the Sync API keeps logs (retention 100d",
		`sources[3].type: must be wss_audit or wss_access (got "wss_acess")`,
		"sources[2].username: sources[1] reads the same tenant with the same credential",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "sources[0].date_format") || strings.Contains(msg, "sources[0].path") {
		t.Errorf("audit checks ran on an access source:\n%s", msg)
	}
}

func TestAccessSourceSecretFilesAndPaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ParseIn([]byte(`sources:
  - name: proxy
    type: wss_access
    base_url: http://portal.example
    username: u
    password_file: pw
    tls: {insecure_skip_verify: true}
`+accessOut), time.Now(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].Access.Password.Value(); got != "s3cret" {
		t.Fatalf("password from a file relative to the config: %q", got)
	}
	var paths []string
	for _, w := range Warnings(c) {
		paths = append(paths, w.Path)
	}
	if got := strings.Join(paths, " "); !strings.Contains(got, "sources[0].base_url") || !strings.Contains(got, "sources[0].tls.insecure_skip_verify") {
		t.Fatalf("warnings %v: want the cleartext base_url and the skipped verification", paths)
	}
}
