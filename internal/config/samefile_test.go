package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two file outputs writing one file would cut each other's batches on
// start (each rewinds the file to its own saved length): refused, naming
// the key.
func TestTwoFileOutputsOneFileRefused(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "events.ndjson")
	os.WriteFile(real, nil, 0o600)
	link := filepath.Join(dir, "link.ndjson")
	hard := filepath.Join(dir, "hard.ndjson")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(real, hard); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)
	// A symlink to a file not created yet (found by the review: every
	// event was written twice into one file).
	dangling := filepath.Join(dir, "dangling.ndjson")
	if err := os.Symlink("later.ndjson", dangling); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, a, b string }{
		{"through a dangling symlink", filepath.Join(dir, "later.ndjson"), dangling},
		{"same path", real, real},
		{"same path spelled otherwise", real, filepath.Join(dir, ".", "sub", "..", "events.ndjson")},
		{"through a symlink", real, link},
		{"through a hard link", real, hard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := fmt.Sprintf(`sources:
  - {name: a, base_url: "https://x.example", username: u, password: p}
outputs:
  - {name: one, type: file, path: %q}
  - {name: two, type: stdout}
  - {name: three, type: file, path: %q}
`, tc.a, tc.b)
			_, err := Parse([]byte(y), now)
			if err == nil || !strings.Contains(err.Error(), "outputs[2].path: ") || !strings.Contains(err.Error(), "outputs[0].path") {
				t.Fatalf("got %v", err)
			}
		})
	}
	y := fmt.Sprintf(`sources:
  - {name: a, base_url: "https://x.example", username: u, password: p}
outputs:
  - {name: one, type: file, path: %q}
  - {name: two, type: file, path: %q}
`, real, filepath.Join(sub, "events.ndjson"))
	if _, err := Parse([]byte(y), now); err != nil {
		t.Fatalf("two different files: %v", err)
	}
}
