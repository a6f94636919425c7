package main

import (
	"net"
	"strings"
	"testing"
)

// A second instance (run --once from cron beside a daemon, or a second
// config) must not fail on the metrics port: --once serves no metrics
// unless asked, and a daemon that cannot listen says what to change.
func TestSecondInstanceAndTheMetricsPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the first instance's port
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := newCrashEnvMetrics(t, 300, "", ln.Addr().String())
	if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
		t.Fatalf("run --once beside a busy metrics port: exit %d\n%s", code, stderr)
	}
	e.check(t)
	code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once", "--metrics")
	if code != 1 || !strings.Contains(stderr, `set metrics.listen to a free host:port, or to \"\"`) {
		t.Fatalf("run --once --metrics on a busy port: exit %d\n%s", code, stderr)
	}
}
