package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
