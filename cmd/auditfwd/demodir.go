package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// demoMarker names a directory the demo made, so that a later demo may
// clear what it wrote there. The demo never removes anything else.
const demoMarker = ".auditfwd-demo"

// demoOwned is what a demo writes in its directory, and so all it removes.
var demoOwned = []string{"state", "events.ndjson", "config.yaml"}

// prepareDemoDir makes dir ready for a fresh demo: a missing or empty
// directory is taken (and marked), a directory an earlier demo marked has
// that demo's files removed, anything else is refused: `demo --dir ..`
// must never delete a sibling's files.
func prepareDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			abs, _ := filepath.Abs(dir)
			return fmt.Errorf("%s is not empty and was not made by the demo (no %s file in it): refusing to touch it; give --dir a new or empty directory", abs, demoMarker)
		}
		for _, name := range demoOwned {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by `auditfwd demo`; a later demo may remove its files here: state/, events.ndjson, config.yaml\n"), 0o600)
}
