package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// validate prints what it resolved per source; a wss_access source has no
// window, overlap or date_format, and its address is among its own keys:
// it must show those, not empty audit fields.
func TestValidatePrintsAnAccessSource(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`state_dir: ./state
sources:
  - name: proxy
    type: wss_access
    base_url: https://portal.threatpulse.com
    username: u
    password: p
    start: 3h
outputs:
  - {name: o, type: file, path: ./o.ndjson}
`), 0o600)
	code, stdout, stderr := runBin(t, nil, "validate", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	var line string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "source proxy:") {
			line = l
		}
	}
	for _, want := range []string{"wss_access", "https://portal.threatpulse.com/reportpod/logs/sync", "first start", "poll_interval 1m0s", "max_archive_bytes 2.0 GiB"} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %q in the source line %q", want, line)
		}
	}
	for _, bad := range []string{"date_format", "window 0s", "overlap"} {
		if strings.Contains(line, bad) {
			t.Errorf("audit key %q in the access source's line %q", bad, line)
		}
	}
}

// config.example.yaml's wss_access entry is commented out (one tenant's
// audit log is the common case); uncommented it must validate, every key
// known, so that the reference cannot drift from the code.
func TestExampleAccessSourceValidates(t *testing.T) {
	raw, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range lines {
		if l == "  # - name: wss-access" {
			start = i
		}
	}
	if start < 0 {
		t.Fatal("no commented wss_access entry (\"  # - name: wss-access\") in config.example.yaml")
	}
	n := 0
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "  # "); i++ {
		lines[i] = "  " + strings.TrimPrefix(lines[i], "  # ")
		n++
	}
	if n < 15 {
		t.Fatalf("the wss_access entry has %d lines: cut short?", n)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(strings.Join(lines, "\n")), 0o600)
	env := []string{"WSS_USERNAME=u", "WSS_PASSWORD=p", "WSS_ACCESS_USERNAME=au", "WSS_ACCESS_PASSWORD=ap"}
	code, stdout, stderr := runBin(t, env, "validate", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "ok (2 sources") || !strings.Contains(stdout, "source wss-access: wss_access") {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
}

// state set on a wss_access source says the cursor moved to TIME's hour:
// the stored cursor must be that hour too (the next request starts there),
// not TIME itself, or state show contradicts what set printed.
func TestStateSetAccessCursorIsTheHour(t *testing.T) {
	now := time.Now().UTC()
	sc := simulator.DemoSyncConfig(now)
	sc.LinesPerHour = 60
	syncSim, err := simulator.NewSync(sc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(syncSim)
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`state_dir: ./state
metrics: {listen: ""}
sources:
  - {name: access, type: wss_access, base_url: "`+srv.URL+`", username: demo, password: demo}
outputs:
  - {name: o, type: file, path: ./o.ndjson}
`), 0o600)
	if code, _, stderr := runBin(t, nil, "run", "--once", "--config", cfg); code != 0 {
		t.Fatalf("run exit %d:\n%s", code, stderr)
	}
	at := now.Add(-5 * time.Hour).Truncate(time.Minute).Add(31 * time.Minute)
	if at.Minute() == 0 {
		at = at.Add(7 * time.Minute)
	}
	hour := at.Truncate(time.Hour)
	code, stdout, stderr := runBin(t, nil, "state", "set", "--config", cfg, "--source", "access", "--cursor", at.Format(time.RFC3339))
	if code != 0 || !strings.Contains(stdout, "to "+hour.Format(time.RFC3339)) {
		t.Fatalf("state set exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runBin(t, nil, "state", "show", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("state show exit %d:\n%s", code, stderr)
	}
	var rep struct {
		Sources []struct {
			Name   string     `json:"name"`
			Cursor *time.Time `json:"cursor"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Sources) != 1 || rep.Sources[0].Cursor == nil {
		t.Fatalf("state show --json: %v\n%s", err, stdout)
	}
	if c := rep.Sources[0].Cursor.UTC(); !c.Equal(hour) {
		t.Errorf("cursor %s after state set %s, want its hour %s", c.Format(time.RFC3339), at.Format(time.RFC3339), hour.Format(time.RFC3339))
	}
}
