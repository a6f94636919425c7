package pipeline

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/queue"
	"github.com/auditfwd/auditfwd/internal/state"
)

// A queue whose output delivered part of a segment has that part punched
// out (zeros on disk): state verify must find its pending events on disk,
// not report them lost, and state repair must not rewind its marks (it
// set them to 0..0 and cut every pending event).
func TestVerifyQueueWithPunchedPrefix(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const key = "out/src"
	q, err := queue.Open(filepath.Join(dir, "queues", "out", "src"), 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 600; i++ {
		doc := []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("y"), 1000)))
		if err := q.Append(event.Event{Hash: sha256.Sum256(doc), Time: time.Now(), Doc: doc}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	end, err := q.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetQueueMarks(key, end, 0); err != nil {
		t.Fatal(err)
	}
	q.Commit(end)
	if b, err := q.Read(400, 1<<30); err != nil || len(b) != 400 {
		t.Fatalf("read %d, %v", len(b), err)
	}
	var mark int64
	if err := q.AckAll(func(m int64) error { mark = m; return st.SetQueueMarks(key, end, m) }); err != nil {
		t.Fatal(err)
	}
	q.Close()
	st.Close()

	c, err := Verify(&config.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := false
	for _, f := range c.Findings {
		if strings.HasPrefix(f.What, "queue ") && !f.OK {
			t.Fatalf("a healthy queue (marks %d..%d, every pending frame on disk) is a finding: %s; repair: %s", mark, end, f.Detail, f.Repair)
		}
		if f.What == "queue "+key {
			seen = true
			if want := fmt.Sprintf("%d bytes pending, on disk", end-mark); !strings.HasPrefix(f.Detail, want) {
				t.Fatalf("queue finding %q, want %q", f.Detail, want)
			}
		}
	}
	if !seen {
		t.Fatalf("verify said nothing about queue %s: %+v", key, c.Findings)
	}
}
