package detect

import (
	"testing"

	"github.com/auditfwd/auditfwd/rules"
)

// The shipped rule pack loads into the engine: every modifier, condition
// and correlation it uses is one the engine supports.
func TestShippedPackLoads(t *testing.T) {
	rs, err := LoadFS(rules.FS, rules.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 15 {
		t.Fatalf("%d rules", len(rs))
	}
	if _, err := New(rs, Options{}); err != nil {
		t.Fatal(err)
	}
}
