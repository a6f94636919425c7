package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden.json from the current output")

// TestGolden maps every testdata/golden/NAME.input.json and compares the
// document with NAME.golden.json (indented for readable diffs; the document
// itself is one line). There is one input per row of the ecs-mapping.md
// table and a few for other record shapes. Run `go test -update` after a
// deliberate mapping change and review the diff.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) < 8 {
		t.Fatalf("found %d golden inputs, want one per mapping-table row", len(inputs))
	}
	m := NewMapper(Fields{}, "tenant-a")
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			ev, err := m.Map(&p, testIngested)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			checkDoc(t, ev)
			var got bytes.Buffer
			if err := json.Indent(&got, ev.Doc, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')

			goldenPath := filepath.Join("testdata", "golden", name+".golden.json")
			if *update {
				if err := os.WriteFile(goldenPath, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("document differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", goldenPath, got.Bytes(), want)
			}
		})
	}
}

// Every golden file has its input, so a renamed input cannot leave a stale
// expectation that nothing checks.
func TestGoldenNoOrphans(t *testing.T) {
	goldens, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.golden.json"))
	for _, g := range goldens {
		in := strings.TrimSuffix(g, ".golden.json") + ".input.json"
		if _, err := os.Stat(in); err != nil {
			t.Errorf("%s has no input %s", g, in)
		}
	}
}
