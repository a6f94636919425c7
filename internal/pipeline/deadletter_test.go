package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// stubHarness is a harness whose API is handler instead of the simulator.
func stubHarness(t *testing.T, handler http.HandlerFunc) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: newClock(t0)}
	// One window: whole-day dates cut the start to t0's day, which ends
	// after now.
	h.sc = simulator.Config{Start: t0.Add(-time.Hour)}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	return h
}

// badRecords writes records [from, to) of an upstream whose time field
// was renamed: every one is distinct and every one is dead-lettered.
func badRecords(w *bufio.Writer, from, to int) {
	for i := from; i < to; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"id":"bad-%06d","renamed_time":"2026-11-24T11:%02d:00Z","user":"u%d"}`, i, i%60, i)
	}
}

// A window of nothing but bad records (50,000 of them, checkpoint_records
// 100) is written to the dead letter progressively, a checkpoint at every
// 100 lines held, not kept in memory until the window ends. The first
// attempt fails half-way: what its checkpoints committed stays committed
// (without the cursor moving), and the retry adds the rest, each line once.
func TestDeadLettersCountTowardCheckpoints(t *testing.T) {
	const total, failAt, every = 50000, 25050, 100
	var (
		p        *Pipeline
		requests atomic.Int64
		// At the start of the retry: the first attempt's committed state.
		retryDLLen     atomic.Int64
		retryCursorSet atomic.Bool
	)
	h := stubHarness(t, func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		bw := bufio.NewWriterSize(w, 64<<10)
		switch n {
		case 1:
			bw.WriteString("[")
			badRecords(bw, 0, failAt)
			bw.Flush()
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // a truncated body: the window fails
		case 2:
			retryDLLen.Store(p.Store().DeadLetterLen())
			_, ok, _ := p.Store().Cursor("t1")
			retryCursorSet.Store(ok)
			fallthrough
		default:
			bw.WriteString("[")
			badRecords(bw, 0, total)
			bw.WriteString("]")
			bw.Flush()
		}
	})
	c := h.config(h.yaml("    checkpoint_records: 100\n", ""))
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now, OnceMaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	var checkpoints, maxHeld int
	p.srcs[0].onCheckpoint = func(dead int) { // on the source's goroutine
		checkpoints++
		maxHeld = max(maxHeld, dead)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err = p.Run(ctx)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	if maxHeld > every {
		t.Errorf("a checkpoint wrote %d dead-letter lines held in memory; want at most checkpoint_records (%d)", maxHeld, every)
	}
	// 250 checkpoints in the failed attempt, 250 more and the last one in
	// the retry.
	if want := total / every; checkpoints < want {
		t.Errorf("%d checkpoints for %d dead-lettered records; want at least %d", checkpoints, total, want)
	}
	if got := requests.Load(); got != 2 {
		t.Fatalf("%d requests, want 2 (one failed attempt, one retry)", got)
	}
	if retryCursorSet.Load() {
		t.Error("the cursor moved in a window that failed: only a window's last checkpoint moves it")
	}
	// The failed attempt's checkpoints committed what they wrote.
	dlPath := filepath.Join(h.dir, "state", "deadletter.ndjson")
	lines, size := deadLetterHashes(t, dlPath)
	committedFirst := retryDLLen.Load()
	if committedFirst == 0 {
		t.Error("nothing of the dead letter was committed during a window of 25,050 bad records")
	}
	var prefix int64
	n := 0
	for _, l := range lines {
		if prefix == committedFirst {
			break
		}
		prefix += int64(l.size)
		n++
	}
	if prefix != committedFirst || n != failAt/every*every {
		t.Errorf("the failed attempt committed %d bytes (%d lines); want whole lines, %d of them", committedFirst, n, failAt/every*every)
	}
	// Every record once, and the file is as long as the state says.
	seen := map[string]int{}
	for _, l := range lines {
		seen[l.hash]++
	}
	if len(lines) != total || len(seen) != total {
		t.Fatalf("dead letter: %d lines, %d distinct hashes; want %d of each", len(lines), len(seen), total)
	}
	st, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := st.Store().DeadLetterLen(); got != size {
		t.Fatalf("committed dead-letter length %d, file %d", got, size)
	}
	if _, ok, _ := st.Store().Cursor("t1"); !ok {
		t.Fatal("the window's cursor was never committed")
	}
}

type dlLine struct {
	hash string
	size int
}

func deadLetterHashes(t *testing.T, path string) ([]dlLine, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dlLine
	var size int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var d deadRecord
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead letter line: %v", err)
		}
		if d.Reason == "" || d.Raw == "" {
			t.Fatalf("incomplete dead letter line: %.200s", sc.Text())
		}
		out = append(out, dlLine{hash: d.Hash, size: len(sc.Bytes()) + 1})
		size += int64(len(sc.Bytes()) + 1)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, size
}

// Large bad records are bounded in bytes, not only in count: 20 records of
// 1 MiB with the default checkpoint_records (50,000) are not held whole.
func TestLargeDeadLettersBoundedInBytes(t *testing.T) {
	const n, size = 20, 1 << 20
	h := stubHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		bw := bufio.NewWriterSize(w, 64<<10)
		bw.WriteString("[")
		pad := make([]byte, size)
		for i := range pad {
			pad[i] = 'a' + byte(i%26)
		}
		for i := 0; i < n; i++ {
			if i > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, `{"id":"big-%d","renamed_time":"x","blob":"%s"}`, i, pad)
		}
		bw.WriteString("]")
		bw.Flush()
	})
	c := h.config(h.yaml("", ""))
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var checkpoints, maxHeld int
	p.srcs[0].onCheckpoint = func(dead int) {
		checkpoints++
		maxHeld = max(maxHeld, dead)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err = p.Run(ctx)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	// Lines of a little over 1 MiB: the 4 MiB bound is crossed by the 4th.
	if want := maxHeldDeadBytes / size; maxHeld > want {
		t.Errorf("a checkpoint wrote %d dead-letter lines of 1 MiB held in memory; want at most %d", maxHeld, want)
	}
	if lines, _ := deadLetterHashes(t, filepath.Join(h.dir, "state", "deadletter.ndjson")); len(lines) != n {
		t.Fatalf("%d dead letter lines, want %d", len(lines), n)
	}
}

// A dead letter that someone cut or deleted is not taken as it is: its
// committed length says records are missing, and the start refuses,
// naming the file, until it is whole again.
func TestDamagedDeadLetterRefusesStart(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 600; c.MalformedRate = 0.1 })
	c := h.config(h.yaml("", ""))
	if _, err := h.runOnce(c, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.StateDir, "deadletter.ndjson")
	whole, err := os.ReadFile(path)
	if err != nil || len(whole) == 0 {
		t.Fatalf("no dead letter to damage: %v", err)
	}
	for _, tc := range []struct {
		name   string
		damage func()
	}{
		{"cut", func() { os.Truncate(path, int64(len(whole)/2)) }},
		{"deleted", func() { os.Remove(path) }},
		{"emptied", func() { os.WriteFile(path, nil, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.damage()
			p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now})
			if err == nil {
				p.Close()
				t.Fatal("started on a damaged dead letter")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "shorter than") {
				t.Fatalf("unclear error: %v", err)
			}
			os.WriteFile(path, whole, 0o600) // restored from a backup
			if _, err := h.runOnce(c, nil); err != nil {
				t.Fatalf("after the restore: %v", err)
			}
			if got, _ := os.ReadFile(path); string(got) != string(whole) {
				t.Fatal("the restored dead letter changed")
			}
		})
	}
}
