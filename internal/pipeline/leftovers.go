package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Leftovers lists what earlier runs left in stateDir that only a state
// with progress can account for: queue segments, seen-set runs, dead-letter
// bytes. Beside a fresh state.db they mean it was deleted, emptied or
// replaced, and starting over would cut queued events, forget what was
// delivered and resend it.
func Leftovers(stateDir string) []string {
	var out []string
	count := func(what, pattern string) {
		files, _ := filepath.Glob(filepath.Join(stateDir, pattern))
		n := 0
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
				n++
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s (%s)", n, what, filepath.Join(stateDir, filepath.Dir(pattern))))
		}
	}
	count("queue segment file(s)", filepath.Join("queues", "*", "*", "*.seg"))
	count("seen-set run file(s)", filepath.Join("seen", "*", "*.run"))
	if fi, err := os.Stat(filepath.Join(stateDir, "deadletter.ndjson")); err == nil && fi.Size() > 0 {
		out = append(out, fmt.Sprintf("a dead letter of %d bytes (%s)", fi.Size(), filepath.Join(stateDir, "deadletter.ndjson")))
	}
	return out
}

func leftoversError(stateDir string, found []string) error {
	return fmt.Errorf("state %s holds no progress, but state_dir holds what earlier runs left: %s. state.db was deleted, emptied or replaced: starting over would cut queued events and send again what was delivered. Restore state.db from a backup, or accept starting over with `auditfwd state repair --config FILE`, which moves these aside (nothing is deleted)",
		filepath.Join(stateDir, "state.db"), strings.Join(found, ", "))
}
