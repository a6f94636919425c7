package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// readSummary fills p from the "source summary" and "output summary" lines
// the child logs (as JSON) before it exits.
func readSummary(path string, p *Pass) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var source, output bool
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20) // a warning may quote a hostile record
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var l struct {
			Msg          string `json:"msg"`
			Fetched      int64  `json:"fetched"`
			New          int64  `json:"new"`
			Duplicate    int64  `json:"duplicate"`
			DeadLettered int64  `json:"dead_lettered"`
			Delivered    int64  `json:"delivered"`
			Queued       int64  `json:"queued"`
		}
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		switch l.Msg {
		case "source summary":
			source = true
			p.Fetched, p.New, p.Duplicate, p.DeadLettered = l.Fetched, l.New, l.Duplicate, l.DeadLettered
		case "output summary":
			output = true
			p.Delivered, p.OutputDeadLettered, p.Queued = l.Delivered, l.DeadLettered, l.Queued
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if !source || !output {
		return fmt.Errorf("%s has no source and output summary", path)
	}
	return nil
}
