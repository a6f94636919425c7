package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check writes nothing: no output file or directory, no state_dir (a
// root-run check must not leave files the service user cannot open). It
// does test that state_dir could be made and metrics.listen bound.
func TestCheckWritesNothing(t *testing.T) {
	e := newCrashEnv(t, 100, "")
	dir := filepath.Dir(e.cfg)
	out := filepath.Join(dir, "new", "sub", "events.ndjson")
	editConfig(t, e.cfg, fmt.Sprintf("path: %q", e.out1), fmt.Sprintf("path: %q", out))
	code, stdout, stderr := runBin(t, nil, "check", "--config", e.cfg)
	if code != 0 || !strings.Contains(stdout, "ok   state_dir") || !strings.Contains(stdout, "ok   metrics.listen") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	for _, p := range []string{filepath.Join(dir, "new"), filepath.Join(dir, "state"), e.out2} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("check created %s", p)
		}
	}

	// A state_dir that cannot be made, a busy metrics port: both named.
	os.WriteFile(filepath.Join(dir, "state"), []byte("a file"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	editConfig(t, e.cfg, `metrics: {listen: ""}`, `metrics: {listen: "`+ln.Addr().String()+`"}`)
	code, stdout, _ = runBin(t, nil, "check", "--config", e.cfg)
	if code != 1 || !strings.Contains(stdout, "FAIL state_dir") || !strings.Contains(stdout, "FAIL metrics.listen") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
}

// An output whose target cannot be opened exits 2 (the configuration's to
// fix) with its key path, not a bare "restore: mkdir".
func TestUnopenableOutputExitsTwoWithKeyPath(t *testing.T) {
	e := newCrashEnv(t, 50, "")
	dir := filepath.Dir(e.cfg)
	os.WriteFile(filepath.Join(dir, "blocker"), []byte("a file, not a directory"), 0o600)
	editConfig(t, e.cfg, fmt.Sprintf("path: %q", e.out2), fmt.Sprintf("path: %q", filepath.Join(dir, "blocker", "events.ndjson")))
	code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once")
	if code != 2 || !strings.Contains(stderr, "outputs[1] (output two)") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}
