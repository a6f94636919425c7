package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// validate prints the security warnings of a valid config and still
// exits 0: they are warnings, not errors.
func TestValidatePrintsSecurityWarnings(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`state_dir: `+filepath.Join(dir, "state")+`
sources:
  - {name: a, base_url: "http://portal.example", username: u, password: s3cret}
outputs:
  - {name: hec, type: splunk_hec, url: "https://hec.example:8088", token: t0ken, tls: {insecure_skip_verify: true}}
`), 0o600)
	code, stdout, stderr := runBin(t, nil, "validate", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"WARN sources[0].base_url: is http://: the WSS username and password go over the network unencrypted",
		"WARN outputs[0].tls.insecure_skip_verify: is true",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, "s3cret") || strings.Contains(stdout+stderr, "t0ken") {
		t.Errorf("a secret was printed:\n%s%s", stdout, stderr)
	}
}

// An existing state_dir open to group or others is warned about by check
// (a WARN line, exit still 0) and logged, with the key, by run at start.
func TestStateDirModeWarned(t *testing.T) {
	e := newCrashEnv(t, 100, "")
	stateDir := filepath.Join(filepath.Dir(e.cfg), "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runBin(t, nil, "check", "--config", e.cfg)
	if code != 0 || !strings.Contains(stdout, "ok   source t") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	want := "WARN state_dir: " + stateDir + " has mode 0755"
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, "chmod 700 "+stateDir) {
		t.Fatalf("missing %q and the chmod in:\n%s", want, stdout)
	}
	code, _, stderr = runBin(t, nil, "run", "--config", e.cfg, "--once")
	if code != 0 {
		t.Fatalf("run exit %d:\n%s", code, stderr)
	}
	var line string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "has mode 0755") {
			line = l
		}
	}
	if !strings.Contains(line, "level=warning") || !strings.Contains(line, "key=state_dir") {
		t.Fatalf("no warning with key=state_dir logged at start:\n%s", stderr)
	}
}

// A reload logs the warnings of the config it puts in force.
func TestReloadLogsWarnings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	e := newCrashEnv(t, 100, "")
	stateDir := filepath.Join(filepath.Dir(e.cfg), "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "run", "--config", e.cfg)
	valid := len(e.sim.ValidIDs())
	waitFor(t, "every record delivered", 60*time.Second, func() bool { return lines(t, e.out1) == valid }, d)
	if strings.Contains(d.stderr.String(), "has mode") {
		t.Fatalf("warned about a 0700 state_dir:\n%s", d.stderr.String())
	}
	if err := os.Chmod(stateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the state_dir warning after the reload", 60*time.Second, func() bool {
		return strings.Contains(d.stderr.String(), "has mode 0750") && strings.Contains(d.stderr.String(), "key=state_dir")
	}, d)
	d.stop(t)
}
