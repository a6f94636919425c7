package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

// readDeadLetter returns the source dead letter's lines.
func readDeadLetter(t *testing.T, dir string) []deadRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "state", "deadletter.ndjson"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []deadRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var d deadRecord
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead letter line: %v: %.300s", err, sc.Text())
		}
		out = append(out, d)
	}
	return out
}

// One record too large or too deep among good ones: the window goes on,
// every good record is delivered once, and the bad one is in the dead
// letter once, though every response of every window and re-poll holds it
// (issue 14.5: before, the window was retried forever, 0 delivered).
func TestOversizedRecordGoesToDeadLetterOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  simulator.Fault
		raw    func() []byte
		reason string
	}{
		{"huge", simulator.Fault{HugeRecord: 3 << 20, At: 7, Times: 1000},
			func() []byte { b, _ := io.ReadAll(simulator.HugeRecordJSON(3 << 20)); return b },
			"is 3145728 bytes, over max_record_bytes 1048576"},
		{"deep", simulator.Fault{DeepRecord: 100_000, At: 3, Times: 1000},
			func() []byte { return simulator.DeepRecordJSON(100_000) },
			"is nested deeper than max_record_depth 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *simulator.Config) { c.Records = 60; c.MalformedRate = 0 })
			h.sim.InjectFault(tc.fault)
			extra := "    max_record_bytes: 1MiB\n"
			p, err := h.runOnce(h.config(h.yaml(extra, "")), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			if got := p.SourceStats("t1").DeadLettered.Load(); got != 1 {
				t.Errorf("dead_lettered = %d, want 1", got)
			}
			raw := tc.raw()
			sum := sha256.Sum256(raw)
			check := func() {
				t.Helper()
				dl := readDeadLetter(t, h.dir)
				if len(dl) != 1 {
					t.Fatalf("%d dead letter lines, want 1", len(dl))
				}
				d := dl[0]
				if d.Source != "t1" || d.Window == "" || !strings.Contains(d.Reason, tc.reason) ||
					d.Hash != hex.EncodeToString(sum[:]) || d.Size != int64(len(raw)) ||
					d.Excerpt != string(raw[:wss.MaxSkippedExcerpt]) || d.Raw != "" {
					t.Fatalf("dead letter line: %+v", d)
				}
			}
			check()
			// Re-polled an hour later, the bad record comes back: no second line.
			h.clock.Add(time.Hour)
			if _, err := h.runOnce(h.config(h.yaml(extra, "")), nil); err != nil {
				t.Fatal(err)
			}
			check()
			checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			if n := len(h.sim.Requests()); n < 4 {
				t.Fatalf("only %d requests: the bad record was not served again", n)
			}
		})
	}
}

// An endless body fails its window at max_window_records with an error
// naming the setting; --once stops at once (retrying the same request is
// no use) and the cursor does not move.
func TestEndlessBodyFailsAtRecordCap(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 60 })
	h.sim.InjectFault(simulator.Fault{Endless: true, Times: 1000})
	_, err := h.runOnce(h.config(h.yaml("    max_window_records: 2000\n", "")), nil)
	var le *wss.LimitError
	if !errors.As(err, &le) || le.Setting != "max_window_records" || !strings.Contains(err.Error(), "narrow the source's window") {
		t.Fatalf("err = %v", err)
	}
	// The run is over; the endless handler logs its request once it sees
	// the client gone.
	for deadline := time.Now().Add(time.Minute); len(h.sim.Requests()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the endless response was never logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(h.sim.Requests()); n != 1 {
		t.Errorf("%d requests: a LimitError must not be retried soon", n)
	}
}

// A server sending a byte at a time fails its window at window_timeout,
// and the wait is visible: progress lines while it dribbles.
func TestSlowBodyFailsAtWindowTimeout(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 60 })
	h.sim.InjectFault(simulator.Fault{SlowBody: 2 * time.Millisecond, Times: 1000})
	c := h.config(h.yaml("    window_timeout: 1s\n", ""))
	log, hook := logtest.NewNullLogger()
	p, err := New(c, buildOuts(t, c, nil), log, Options{Once: true, Now: h.clock.Now, OnceMaxAttempts: 20, ProgressEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = p.Run(ctx)
	_ = p.Close()
	var le *wss.LimitError
	if !errors.As(err, &le) || le.Setting != "window_timeout" || !strings.Contains(err.Error(), "narrow the source's window") {
		t.Fatalf("err = %v", err)
	}
	progress := 0
	for _, e := range hook.AllEntries() {
		if e.Message == "window response still being read" && e.Level == logrus.InfoLevel {
			if e.Data["bytes"].(int64) <= 0 || e.Data["window"] == nil || e.Data["elapsed"] == nil {
				t.Errorf("progress line %v", e.Data)
			}
			progress++
		}
	}
	if progress == 0 {
		t.Error("no progress line while the body dribbled")
	}
}
