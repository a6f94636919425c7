package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The go-elasticsearch root package carries the whole typed API (about 850
// packages: minutes and gigabytes to compile cold). The output speaks
// esapi over elastictransport; this keeps it that way.
func TestBinaryDoesNotImportTheTypedElasticsearchAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, p := range deps {
		if p == "github.com/elastic/go-elasticsearch/v8" || strings.HasPrefix(p, "github.com/elastic/go-elasticsearch/v8/typedapi") {
			t.Fatalf("the binary imports %s (%d packages in all)", p, len(deps))
		}
	}
	if len(deps) > 600 {
		t.Errorf("the binary depends on %d packages; it was 368 when this test was written", len(deps))
	}
}
