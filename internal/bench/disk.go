package bench

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// Disk is the space the agent holds after a pass (allocated blocks).
type Disk struct {
	Output     int64 // the NDJSON file output
	StateDB    int64 // state_dir/state.db: cursor, live seen-set runs, marks
	Seen       int64 // state_dir/seen: the seen-set's run files
	Queues     int64 // state_dir/queues
	DeadLetter int64 // state_dir/deadletter*.ndjson
	Other      int64
}

// Total is every byte under the work directory that the agent wrote.
func (d Disk) Total() int64 { return d.Output + d.StateDB + d.Seen + d.Queues + d.DeadLetter + d.Other }

func diskUsage(dir string) (Disk, error) {
	var d Disk
	state := filepath.Join(dir, "state")
	err := filepath.WalkDir(state, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		n := allocated(path)
		rel, _ := filepath.Rel(state, path)
		switch {
		case rel == "state.db":
			d.StateDB += n
		case strings.HasPrefix(rel, "seen"+string(filepath.Separator)):
			d.Seen += n
		case strings.HasPrefix(rel, "queues"+string(filepath.Separator)):
			d.Queues += n
		case strings.HasPrefix(rel, "deadletter"):
			d.DeadLetter += n
		default:
			d.Other += n
		}
		return nil
	})
	d.Output = allocated(filepath.Join(dir, "events.ndjson"))
	return d, err
}
