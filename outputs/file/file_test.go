package file

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditfwd/auditfwd/internal/event"
)

func evs(from, n int) []event.Event {
	var out []event.Event
	for i := from; i < from+n; i++ {
		doc := []byte(fmt.Sprintf(`{"n":%d}`, i))
		out = append(out, event.Event{Hash: sha256.Sum256(doc), Doc: doc})
	}
	return out
}

func TestRewindCutsUnmarkedBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "events.ndjson")
	o, _ := New("f", Config{Path: path})
	if err := o.Restore(nil); err != nil { // first start
		t.Fatal(err)
	}
	if err := o.Write(context.Background(), evs(0, 3)); err != nil {
		t.Fatal(err)
	}
	marked := o.State()
	if err := o.Write(context.Background(), evs(3, 2)); err != nil { // written, never marked
		t.Fatal(err)
	}
	o.Close()

	o2, _ := New("f", Config{Path: path})
	if err := o2.Restore(marked); err != nil {
		t.Fatal(err)
	}
	if err := o2.Write(context.Background(), evs(3, 2)); err != nil { // redelivered
		t.Fatal(err)
	}
	o2.Close()
	got, _ := os.ReadFile(path)
	want := `{"n":0}` + "\n" + `{"n":1}` + "\n" + `{"n":2}` + "\n" + `{"n":3}` + "\n" + `{"n":4}` + "\n"
	if string(got) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
}

func TestFirstStartKeepsExistingContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	os.WriteFile(path, []byte("old line\n"), 0o640)
	o, _ := New("f", Config{Path: path})
	if err := o.Restore(nil); err != nil {
		t.Fatal(err)
	}
	base := o.State()
	o.Write(context.Background(), evs(0, 1))
	o.Close()
	// A crash before the first mark: the restart rewinds to the baseline,
	// which keeps the user's old content.
	o2, _ := New("f", Config{Path: path})
	o2.Restore(base)
	o2.Close()
	if got, _ := os.ReadFile(path); string(got) != "old line\n" {
		t.Fatalf("file: %q", got)
	}
}

func TestValidate(t *testing.T) {
	if errs := (&Config{}).Validate(); len(errs) != 1 {
		t.Fatalf("empty path: %v", errs)
	}
	if errs := (&Config{Path: "x", Mode: "rw"}).Validate(); len(errs) != 1 {
		t.Fatalf("bad mode: %v", errs)
	}
}
