package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/dedup"
	"github.com/auditfwd/auditfwd/internal/queue"
	"github.com/auditfwd/auditfwd/internal/state"
)

// Finding is one invariant of a state_dir that `state verify` checks.
// Repair, when set, says what `state repair` would do about it and what
// that costs; fix does it.
type Finding struct {
	What   string
	OK     bool
	Detail string
	Repair string
	fix    func() error
}

// Checkup is a state_dir opened for verify and repair: the agent must be
// stopped (the state is locked while it runs).
type Checkup struct {
	cfg      *config.Config
	st       *state.Store
	Findings []Finding
}

// Close releases the state.
func (c *Checkup) Close() error {
	if c.st == nil {
		return nil
	}
	return c.st.Close()
}

// Verify checks every invariant the start relies on, without changing
// anything: the state file's structure and stamp, what a fresh state
// beside leftovers means, the dead letter's committed length, each
// queue's marks against its segment files, each seen-set's runs.
func Verify(cfg *config.Config) (*Checkup, error) {
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "state.db")); errors.Is(err, os.ErrNotExist) {
		if found := Leftovers(cfg.StateDir); len(found) == 0 {
			// Nothing to check, and nothing made to check it.
			c := &Checkup{cfg: cfg}
			c.add(Finding{What: "state.db", OK: true, Detail: "none yet in " + cfg.StateDir + ": the next start begins anew"})
			return c, nil
		}
	}
	st, err := state.OpenUnchecked(cfg.StateDir)
	if errors.Is(err, state.ErrDamaged) {
		// bbolt cannot read it: nothing in it can be saved here.
		c := &Checkup{cfg: cfg}
		c.unreadable(err)
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	c := &Checkup{cfg: cfg, st: st}
	c.structure()
	// A bad stamp: the keys may read as anything. The checks below say
	// what they read as; repair accepts them only with the operator.
	c.stamp()
	fresh, err := st.Fresh()
	if err != nil {
		st.Close()
		return nil, err
	}
	if fresh {
		if c.leftovers() {
			return c, nil // the rest was made by a state that is gone
		}
	}
	// Read only: verify changes nothing (CheckInstance would write a
	// missing id, which re-stamps a state whose stamp failed).
	if err := st.InstanceMismatch(); errors.Is(err, state.ErrForeign) {
		aside := filepath.Join(cfg.StateDir, "aside-"+time.Now().UTC().Format("20060102T150405Z"))
		c.add(Finding{What: "state.db instance", Detail: err.Error(),
			Repair: "move the foreign state.db, queues/, seen/ and the dead letters to " + aside + " (nothing is deleted) and start over: every source starts again at its configured start and resends what was delivered (Elasticsearch drops the repeats by _id; other SIEMs get them with the same event.hash)",
			fix: func() error {
				c.st.Close()
				c.st = nil
				if err := moveAside(cfg.StateDir, aside, true); err != nil {
					return err
				}
				return os.Remove(filepath.Join(cfg.StateDir, state.InstanceFile))
			}})
		return c, nil // its marks describe other files: nothing else to check
	}
	c.deadLetter()
	c.queues()
	c.seenSets()
	return c, nil
}

// OK reports whether every finding is.
func (c *Checkup) OK() bool {
	for _, f := range c.Findings {
		if !f.OK {
			return false
		}
	}
	return true
}

// Repair applies every finding's repair, in order, then stamps the state
// as it now reads. It returns what it did.
func (c *Checkup) Repair() ([]string, error) {
	var done []string
	for _, f := range c.Findings {
		if f.OK || f.fix == nil {
			continue
		}
		if err := f.fix(); err != nil {
			return done, fmt.Errorf("%s: %w", f.What, err)
		}
		done = append(done, f.What+": "+f.Repair)
	}
	if c.st == nil {
		return done, nil // the next start makes a new state
	}
	if err := c.st.Restamp(); err != nil {
		return done, err
	}
	return done, nil
}

func (c *Checkup) add(f Finding) { c.Findings = append(c.Findings, f) }

// structure reports the structural check that opening the store already
// ran (a damaged file does not open: see unreadable).
func (c *Checkup) structure() {
	c.add(Finding{What: "state.db structure", OK: true, Detail: "its pages passed the structural check and bbolt's consistency check"})
}

// saveTails copies what the next start would cut (queue bytes past their
// commit marks, dead-letter bytes past the committed length, queues the
// state has no marks for) into aside, so a repair that accepts marks it
// cannot trust loses nothing for good.
func (c *Checkup) saveTails(aside string) error {
	qs, err := c.st.Queues()
	if err != nil {
		return err
	}
	marks := map[string]int64{}
	for _, q := range qs {
		marks[q.Key] = q.Commit
	}
	dirs, _ := filepath.Glob(filepath.Join(c.cfg.StateDir, "queues", "*", "*"))
	for _, d := range dirs {
		key := filepath.Base(filepath.Dir(d)) + "/" + filepath.Base(d)
		if err := queue.CopyRange(d, marks[key], filepath.Join(aside, "queues", key+".tail")); err != nil {
			return err
		}
	}
	dl := filepath.Join(c.cfg.StateDir, "deadletter.ndjson")
	return copyFrom(dl, c.st.DeadLetterLen(), filepath.Join(aside, "deadletter.ndjson.tail"))
}

// copyFrom copies path's bytes from off on to dst (nothing when there are none).
func copyFrom(path string, off int64, dst string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() <= off {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.NewSectionReader(f, off, fi.Size()-off)); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// unreadable: the file's structure is damaged, so bbolt cannot open it.
func (c *Checkup) unreadable(err error) {
	aside := filepath.Join(c.cfg.StateDir, "aside-"+time.Now().UTC().Format("20060102T150405Z"))
	c.add(Finding{What: "state.db structure", Detail: err.Error(),
		Repair: "move state.db, queues/, seen/ and the dead letters to " + aside + " (nothing is deleted) and start over: every source starts again at its configured start and resends what was delivered (Elasticsearch drops the repeats by _id; other SIEMs get them with the same event.hash)",
		fix:    func() error { return moveAside(c.cfg.StateDir, aside, true) }})
}

// moveRunsAside moves every run file of dir that is not in kept to aside.
func moveRunsAside(dir, aside string, kept []uint64) error {
	keep := map[string]bool{}
	for _, seq := range kept {
		keep[fmt.Sprintf("%016x.run", seq)] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.run"))
	for _, f := range files {
		if keep[filepath.Base(f)] {
			continue
		}
		if err := os.MkdirAll(aside, 0o700); err != nil {
			return err
		}
		if err := os.Rename(f, filepath.Join(aside, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

// moveAside moves what a state accounts for into aside.
func moveAside(stateDir, aside string, withDB bool) error {
	if err := os.MkdirAll(aside, 0o700); err != nil {
		return err
	}
	names := []string{"queues", "seen"}
	if withDB {
		names = append(names, "state.db")
	}
	dls, _ := filepath.Glob(filepath.Join(stateDir, "deadletter*.ndjson"))
	for _, d := range dls {
		names = append(names, filepath.Base(d))
	}
	for _, n := range names {
		err := os.Rename(filepath.Join(stateDir, n), filepath.Join(aside, n))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (c *Checkup) stamp() bool {
	if err := c.st.CheckStamp(); err != nil {
		aside := filepath.Join(c.cfg.StateDir, "aside-"+time.Now().UTC().Format("20060102T150405Z"))
		c.add(Finding{What: "state.db integrity stamp", Detail: err.Error(),
			Repair: "accept the keys as they read now (the other findings say what they read as; a changed mark can resend or skip events); first copy every queue's bytes past its commit mark and the dead letter's past its committed length to " + aside + ", since the next start cuts them and a damaged mark would make that a loss",
			fix:    func() error { return c.saveTails(aside) },
		})
		return false
	}
	c.add(Finding{What: "state.db integrity stamp", OK: true, Detail: "the critical keys match their stamp"})
	return true
}

// leftovers reports whether a fresh state has company.
func (c *Checkup) leftovers() bool {
	found := Leftovers(c.cfg.StateDir)
	if len(found) == 0 {
		c.add(Finding{What: "state progress", OK: true, Detail: "a new state, and nothing left from earlier runs"})
		return false
	}
	aside := filepath.Join(c.cfg.StateDir, "aside-"+time.Now().UTC().Format("20060102T150405Z"))
	c.add(Finding{What: "state progress", Detail: "the state holds no progress, but state_dir holds " + strings.Join(found, ", ") + ": state.db was deleted, emptied or replaced",
		Repair: "move queues/, seen/ and the dead letters to " + aside + " (nothing is deleted) and start over: every source starts again at its configured start and resends what was delivered (Elasticsearch drops the repeats by _id; other SIEMs get them with the same event.hash); queued, undelivered events stay in " + aside + "/queues",
		fix:    func() error { return moveAside(c.cfg.StateDir, aside, false) }})
	return true
}

func (c *Checkup) deadLetter() {
	path := filepath.Join(c.cfg.StateDir, "deadletter.ndjson")
	committed := c.st.DeadLetterLen()
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	switch {
	case size < committed:
		c.add(Finding{What: "dead letter " + path, Detail: fmt.Sprintf("%d bytes on disk, %d committed: %d bytes of dead-lettered records are gone", size, committed, committed-size),
			Repair: fmt.Sprintf("take the file as it is (commit %d bytes); the missing records are lost from it (their hashes stay seen, so they are not fetched again)", size),
			fix:    func() error { return c.st.SetDeadLetterLen(size) }})
	case size > committed:
		c.add(Finding{What: "dead letter " + path, OK: true, Detail: fmt.Sprintf("%d bytes committed, %d bytes of an uncommitted tail that the next start cuts (a window that did not finish)", committed, size-committed)})
	default:
		c.add(Finding{What: "dead letter " + path, OK: true, Detail: fmt.Sprintf("%d bytes, as committed", committed)})
	}
}

func (c *Checkup) queues() {
	qs, err := c.st.Queues()
	if err != nil {
		c.add(Finding{What: "queues", Detail: err.Error()})
		return
	}
	for _, q := range qs {
		q := q
		dir := filepath.Join(c.cfg.StateDir, "queues", filepath.FromSlash(q.Key))
		what := "queue " + q.Key
		x, err := queue.Scan(dir, q.Delivered)
		if err != nil {
			c.add(Finding{What: what, Detail: err.Error()})
			continue
		}
		pending := q.Commit - q.Delivered
		tailPath := filepath.Join(c.cfg.StateDir, "aside-"+time.Now().UTC().Format("20060102T150405Z"), "queues", q.Key+".tail")
		switch {
		case q.Delivered > q.Commit:
			c.add(Finding{What: what, Detail: fmt.Sprintf("delivery mark %d is past the commit mark %d", q.Delivered, q.Commit),
				Repair: "set the delivery mark to the commit mark (nothing pending)",
				fix:    func() error { return c.st.SetQueueMarks(q.Key, q.Commit, q.Commit) }})
		case pending > 0 && (x.Segments == 0 || x.First > q.Delivered || x.WholeEnd < q.Commit):
			have := max(0, min(x.WholeEnd, q.Commit)-max(x.First, q.Delivered))
			if x.Segments == 0 {
				have = 0
			}
			from, to := max(q.Delivered, x.First), min(x.WholeEnd, q.Commit)
			switch {
			case x.Segments == 0:
				from, to = q.Commit, q.Commit // Open takes no files at delivered == commit
			case to < from:
				// Everything on disk ends below the delivery mark: marks at
				// its end, or Open would find the files short of the mark.
				from, to = x.WholeEnd, x.WholeEnd
			}
			c.add(Finding{What: what, Detail: fmt.Sprintf("%d bytes of events are committed and not delivered, but only %d of them are on disk (segments from %d to %d, whole frames to %d)", pending, have, x.First, x.End, x.WholeEnd),
				Repair: fmt.Sprintf("keep what is on disk: marks %d..%d; the %d bytes of events that are gone are lost for this output (their records stay seen); the queue's bytes from %d on are first copied to %s", from, to, pending-(to-from), max(q.Delivered, x.First), tailPath),
				fix: func() error {
					if err := queue.CopyRange(dir, max(q.Delivered, x.First), tailPath); err != nil {
						return err
					}
					return c.st.SetQueueMarks(q.Key, to, from)
				}})
		default:
			detail := fmt.Sprintf("%d bytes pending, on disk", pending)
			if x.End > q.Commit {
				detail += fmt.Sprintf("; %d bytes past the commit mark, which the next start cuts (an unfinished window, or a damaged mark)", x.End-q.Commit)
			}
			c.add(Finding{What: what, OK: true, Detail: detail})
		}
	}
}

func (c *Checkup) seenSets() {
	srcs, err := c.st.Sources()
	if err != nil {
		c.add(Finding{What: "seen-sets", Detail: err.Error()})
		return
	}
	for _, src := range srcs {
		src := src
		what := "seen-set " + src
		raw := c.st.SourceValue(src, state.KeySeenRuns)
		live, err := dedup.DecodeList(raw)
		if err != nil {
			c.add(Finding{What: what, Detail: err.Error(), Repair: "forget the run list: records seen before are new again (duplicates)",
				fix: func() error { return c.st.SetSourceValue(src, state.KeySeenRuns, nil) }})
			continue
		}
		var kept []uint64
		var missing, damaged []string
		for _, seq := range live {
			p := filepath.Join(SeenDir(c.cfg.StateDir, src), fmt.Sprintf("%016x.run", seq))
			if _, err := os.Stat(p); err != nil {
				missing = append(missing, filepath.Base(p))
				continue
			}
			if err := dedup.CheckRun(p); err != nil {
				damaged = append(damaged, err.Error())
				continue
			}
			kept = append(kept, seq)
		}
		if len(missing)+len(damaged) == 0 {
			c.add(Finding{What: what, OK: true, Detail: fmt.Sprintf("%d run file(s), all present and intact", len(live))})
			continue
		}
		var detail []string
		if len(missing) > 0 {
			detail = append(detail, fmt.Sprintf("%d of %d run files named by the state are missing: %s", len(missing), len(live), strings.Join(missing, ", ")))
		}
		if len(damaged) > 0 {
			detail = append(detail, fmt.Sprintf("%d are damaged: %s", len(damaged), strings.Join(damaged, "; ")))
		}
		aside := filepath.Join(c.cfg.StateDir, "aside-"+time.Now().UTC().Format("20060102T150405Z"), "seen", src)
		c.add(Finding{What: what, Detail: strings.Join(detail, "; "),
			Repair: "forget the missing and damaged runs (damaged files are moved to " + aside + "): records they held are new again if fetched (duplicates in the SIEM, with the same event.hash)",
			fix: func() error {
				if err := c.st.SetSourceValue(src, state.KeySeenRuns, dedup.EncodeList(kept)); err != nil {
					return err
				}
				// The next start deletes run files the state does not
				// name: keep the damaged ones as evidence.
				return moveRunsAside(SeenDir(c.cfg.StateDir, src), aside, kept)
			}})
	}
}
