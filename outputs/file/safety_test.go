package file

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// started is an output after its start with state (nil: a first start).
func started(t *testing.T, path string, state []byte) *Output {
	t.Helper()
	o, err := New("f", Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Restore(state); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// write follows the file, then writes, as the pipeline's drainer does.
func write(t *testing.T, o *Output, from, n int) {
	t.Helper()
	if _, err := o.Follow(); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(context.Background(), evs(from, n)); err != nil {
		t.Fatal(err)
	}
}

func lines(from, n int) string {
	var b strings.Builder
	for _, e := range evs(from, n) {
		b.Write(e.Doc)
		b.WriteByte('\n')
	}
	return b.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		t.Fatalf("%s holds NUL bytes: %q", path, b)
	}
	return string(b)
}

// The saved state names a file: a start whose path names another file
// (path changed in the config, or the file replaced while stopped) never
// cuts that file; it appends to it.
func TestOtherFileIsNeverCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other func(t *testing.T, dir, path string) string // returns the path of the next start
	}{
		{"path changed to an existing file", func(t *testing.T, dir, path string) string {
			p := filepath.Join(dir, "precious.log")
			os.WriteFile(p, []byte("line one of somebody else's file\nline two\n"), 0o600)
			return p
		}},
		{"file replaced at the same path", func(t *testing.T, dir, path string) string {
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path, []byte("a new file with other content, longer than the saved length\n"), 0o600)
			return path
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "events.ndjson")
			o := started(t, path, nil)
			write(t, o, 0, 1)
			saved := o.State()
			o.Close()

			next := tc.other(t, dir, path)
			before := readFile(t, next)
			o2 := started(t, next, saved)
			write(t, o2, 1, 1)
			if got, want := readFile(t, next), before+lines(1, 1); got != want {
				t.Fatalf("file after start and one batch:\n%q\nwant (nothing cut, appended):\n%q", got, want)
			}
		})
	}
}

// The same file reached through another spelling of its path (a symlink)
// is still ours: the batch written but not marked is cut back.
func TestSameFileThroughLinkIsRewound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	o := started(t, path, nil)
	write(t, o, 0, 2)
	saved := o.State()
	write(t, o, 2, 1) // written, never marked
	o.Close()
	link := filepath.Join(dir, "link.ndjson")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	o2 := started(t, link, saved)
	write(t, o2, 2, 1)
	if got := readFile(t, path); got != lines(0, 3) {
		t.Fatalf("file:\n%q\nwant:\n%q", got, lines(0, 3))
	}
}

// A state saved by an older version holds only a length: it cannot prove
// the file is the one it measured, so nothing is cut (at most one batch
// repeats), and the state saved from then on names the file.
func TestLegacyStateNeverCuts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	os.WriteFile(path, []byte(lines(0, 3)), 0o600)
	legacy := []byte{0, 0, 0, 0, 0, 0, 0, byte(len(lines(0, 1)))}
	o := started(t, path, legacy)
	write(t, o, 3, 1)
	if got := readFile(t, path); got != lines(0, 4) {
		t.Fatalf("file:\n%q\nwant:\n%q", got, lines(0, 4))
	}
	if len(o.State()) == 8 {
		t.Fatal("the state is still the old length-only format")
	}
}

// copytruncate: the file is emptied under the output. The next batch goes
// at the start of the file, not at the old offset behind a hole of NULs.
func TestCopytruncateLeavesNoHole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	o := started(t, path, nil)
	write(t, o, 0, 3)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	write(t, o, 3, 2)
	if got := readFile(t, path); got != lines(3, 2) {
		t.Fatalf("file after copytruncate and one batch:\n%q\nwant:\n%q", got, lines(3, 2))
	}
	// And a restart rewinds to the real length, not to the pre-rotation one.
	saved := o.State()
	write(t, o, 5, 1) // never marked
	o.Close()
	o2 := started(t, path, saved)
	write(t, o2, 5, 1)
	if got := readFile(t, path); got != lines(3, 3) {
		t.Fatalf("after restart:\n%q\nwant:\n%q", got, lines(3, 3))
	}
}

// Rename rotation (logrotate without copytruncate): the next batch goes to
// the new file at the path, the rotated one keeps what it had.
func TestRenameRotationFollowsThePath(t *testing.T) {
	for _, create := range []bool{true, false} {
		name := map[bool]string{true: "create", false: "nocreate"}[create]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.ndjson")
			o := started(t, path, nil)
			write(t, o, 0, 2)
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			if create {
				os.WriteFile(path, nil, 0o600)
			}
			write(t, o, 2, 2)
			if got := readFile(t, path+".1"); got != lines(0, 2) {
				t.Fatalf("rotated file:\n%q\nwant:\n%q", got, lines(0, 2))
			}
			if got := readFile(t, path); got != lines(2, 2) {
				t.Fatalf("new file:\n%q\nwant:\n%q", got, lines(2, 2))
			}
		})
	}
}

// A file that does not end with a newline (cut mid-line by someone, or a
// foreign file) gets the next event on a line of its own.
func TestPartialLineIsEnded(t *testing.T) {
	t.Run("first start on a foreign file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		os.WriteFile(path, []byte("no newline at the end"), 0o600)
		o := started(t, path, nil)
		write(t, o, 0, 1)
		if got, want := readFile(t, path), "no newline at the end\n"+lines(0, 1); got != want {
			t.Fatalf("file:\n%q\nwant:\n%q", got, want)
		}
	})
	t.Run("cut mid-line while stopped", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		o := started(t, path, nil)
		write(t, o, 0, 2)
		saved := o.State()
		o.Close()
		cut := int64(len(lines(0, 1)) + 3)
		os.Truncate(path, cut)
		o2 := started(t, path, saved)
		write(t, o2, 2, 1)
		if got, want := readFile(t, path), lines(0, 2)[:cut]+"\n"+lines(2, 1); got != want {
			t.Fatalf("file:\n%q\nwant:\n%q", got, want)
		}
	})
	t.Run("cut mid-line while running", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		o := started(t, path, nil)
		write(t, o, 0, 2)
		cut := int64(len(lines(0, 1)) + 3)
		os.Truncate(path, cut)
		write(t, o, 2, 1)
		if got, want := readFile(t, path), lines(0, 2)[:cut]+"\n"+lines(2, 1); got != want {
			t.Fatalf("file:\n%q\nwant:\n%q", got, want)
		}
	})
}

// A new file holds raw audit records: 0600 unless mode says otherwise.
func TestNewFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "events.ndjson")
	started(t, path, nil)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %o, want 600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("new directory mode %o, want 700", di.Mode().Perm())
	}
}

// State is read by the pipeline's polling goroutine (a drop_oldest drop
// saves it with the mark it moves) while the drainer writes.
func TestStateIsSafeDuringWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	o := started(t, path, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = o.State()
			}
		}
	}()
	for i := 0; i < 50; i++ {
		write(t, o, i, 1)
	}
	close(stop)
	wg.Wait()
}

// A file found shorter than the output left it, but not empty, lost those
// bytes: they are counted (the metric) and the output goes on at the end.
// Emptied is copytruncate: a rotation, nothing missing.
func TestShrunkFileCountsMissingBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	o := started(t, path, nil)
	write(t, o, 0, 4)
	saved := o.State()
	o.Close()
	full := int64(len(lines(0, 4)))
	os.Truncate(path, full-10)
	o2 := started(t, path, saved)
	if got := o2.MissingBytes(); got != 10 {
		t.Fatalf("missing bytes at start: %d, want 10", got)
	}
	write(t, o2, 4, 1)
	os.Truncate(path, 5)
	write(t, o2, 5, 1)
	want := int64(10) + (full - 10 + 1 + int64(len(lines(4, 1)))) - 5
	if got := o2.MissingBytes(); got != want {
		t.Fatalf("missing bytes after a cut while running: %d, want %d", got, want)
	}
	os.Truncate(path, 0)
	write(t, o2, 6, 1)
	if o2.MissingBytes() != want || o2.Rotations() != 1 {
		t.Fatalf("after copytruncate: missing %d (want %d), rotations %d (want 1)", o2.MissingBytes(), want, o2.Rotations())
	}
}

// An inode number can be reused by a file created after ours was deleted:
// the state's fingerprint of the last bytes tells them apart.
func TestReusedInodeIsNotCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	o := started(t, path, nil)
	write(t, o, 0, 1)
	var s savedState
	if err := json.Unmarshal(o.State(), &s); err != nil {
		t.Fatal(err)
	}
	o.Close()
	// Same device and inode, other content: what a reused inode looks like.
	os.WriteFile(path, []byte("somebody else's records, a long line of them\n"), 0o600)
	before := readFile(t, path)
	s.Tail = tailSum([]byte("bytes auditfwd wrote"))
	state, _ := json.Marshal(s)
	o2 := started(t, path, state)
	write(t, o2, 1, 1)
	if got := readFile(t, path); got != before+lines(1, 1) {
		t.Fatalf("file:\n%q\nwant:\n%q", got, before+lines(1, 1))
	}
}

// Bytes another program appended are kept, and the next batch goes after
// them on a line of its own.
func TestForeignAppendIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	o := started(t, path, nil)
	write(t, o, 0, 1)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("appended by hand")
	f.Close()
	changed, err := o.Follow()
	if err != nil || !changed {
		t.Fatalf("Follow: changed %v, err %v; want a change", changed, err)
	}
	write(t, o, 1, 1)
	if got, want := readFile(t, path), lines(0, 1)+"appended by hand\n"+lines(1, 1); got != want {
		t.Fatalf("file:\n%q\nwant:\n%q", got, want)
	}
}
