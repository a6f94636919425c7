package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// The access benchmark replays archives generated once. The simulator
// writes an answer at ~7.5 µs a line (gzip), more than the agent's whole
// budget, and the agent fetches one answer, then works through it: served
// live, the simulator's time would be half the wall time and take one of
// the machine's two cores while the agent runs. So the answers (ZIP and
// trailer, byte for byte as the simulator sends them) are written to files
// first, and the bench serves those files: a copy from the page cache.

// archiveSet is one generated day: the answers in request order.
type archiveSet struct {
	Dir          string    `json:"-"`
	Day          time.Time `json:"day"`   // the first hour with lines
	Lines        int64     `json:"lines"` // lines in all answers
	LinesPerHour int       `json:"lines_per_hour"`
	PageLines    int       `json:"page_lines"`
	Answers      []answer  `json:"answers"`
}

// answer is one Sync API answer and the token of the request it answers.
type answer struct {
	ReqToken string `json:"req_token"` // "none" for the first
	File     string `json:"file"`
	Status   string `json:"status"` // the trailer's: more or done
	Lines    int64  `json:"lines"`
	Bytes    int64  `json:"bytes"`
}

// benchDay is the simulated day: stable for a week so that the archives
// are generated once for many runs, and well inside the API's retention
// (the agent checks `start` against it with its real clock).
func benchDay(now time.Time) time.Time {
	week := 7 * 24 * time.Hour
	return now.UTC().Truncate(week).Add(-week)
}

// accessSyncConfig is the simulated tenant: lines spread over 24 hours,
// a #Fields order that changes every other half hour, a few hostile values
// (0.1%, as BenchmarkSyncPage), 5,000 lines per gzip file.
func accessSyncConfig(day time.Time, lines int64, pageLines int) simulator.SyncConfig {
	lph := int((lines + 23) / 24)
	end := day.Add(24 * time.Hour)
	return simulator.SyncConfig{
		Username: "bench", Password: "bench", Seed: 17, Start: day,
		LinesPerHour: lph, PageLines: pageLines, HostileRate: 0.001, FieldsChange: true,
		// Fixed: tokens (they carry their issue time) and files are the
		// same on every generation; every line of the day is visible.
		Now: func() time.Time { return end },
	}
}

// loadOrGenerate returns the archives for (day, lines, pageLines) under
// cache, generating them when missing. The index is written last, so an
// interrupted generation is started again.
func loadOrGenerate(cache string, day time.Time, lines int64, pageLines int, progress io.Writer) (*archiveSet, error) {
	dir := filepath.Join(cache, fmt.Sprintf("access-%s-%d-p%d", day.Format("20060102"), lines, pageLines))
	idx := filepath.Join(dir, "index.json")
	if b, err := os.ReadFile(idx); err == nil {
		set := &archiveSet{Dir: dir}
		if err := json.Unmarshal(b, set); err != nil {
			return nil, fmt.Errorf("bench: %s: %w (remove the directory to generate again)", idx, err)
		}
		return set, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	sc := accessSyncConfig(day, lines, pageLines)
	sim, err := simulator.NewSync(sc)
	if err != nil {
		return nil, err
	}
	set := &archiveSet{Dir: dir, Day: day, LinesPerHour: sc.LinesPerHour, PageLines: pageLines}
	if progress != nil {
		fmt.Fprintf(progress, "bench: generating %d lines of access logs into %s (once; ~8 µs a line)...\n", int64(sc.LinesPerHour)*24, dir)
	}
	t0 := time.Now()
	tok := "none"
	for n := 0; ; n++ {
		a := answer{ReqToken: tok, File: fmt.Sprintf("answer-%05d.bin", n)}
		if err := generateAnswer(sim, day, tok, filepath.Join(dir, a.File), &a); err != nil {
			return nil, err
		}
		set.Answers = append(set.Answers, a)
		set.Lines += a.Lines
		if progress != nil && n%20 == 19 {
			fmt.Fprintf(progress, "bench: %d lines generated (%s)\n", set.Lines, time.Since(t0).Round(time.Second))
		}
		if a.Status != "more" {
			break
		}
		if a.Lines == 0 {
			return nil, errors.New("bench: the simulator said more with no lines")
		}
		tok = sim.Requests()[n].Token
	}
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(idx+".tmp", b, 0o640); err != nil {
		return nil, err
	}
	return set, os.Rename(idx+".tmp", idx)
}

// generateAnswer writes the simulator's answer to the request with token
// tok into path.
func generateAnswer(sim *simulator.SyncSimulator, day time.Time, tok, path string, a *answer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := &fileAnswer{h: http.Header{}, w: bw}
	req := httptest.NewRequest(http.MethodGet, simulator.SyncPath+"?startDate="+strconv.FormatInt(day.UnixMilli(), 10)+"&endDate=0&token="+tok, nil)
	req.Header.Set("X-APIUsername", "bench")
	req.Header.Set("X-APIPassword", "bench")
	before := len(sim.Requests())
	sim.ServeHTTP(w, req)
	reqs := sim.Requests()
	if len(reqs) != before+1 {
		return errors.New("bench: the simulator did not log the request")
	}
	r := reqs[before]
	if w.status != http.StatusOK || r.Status != http.StatusOK {
		return fmt.Errorf("bench: the simulator answered %d", r.Status)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	a.Status, a.Lines, a.Bytes = r.SyncStatus, r.End-r.Begin, w.n
	return nil
}

// fileAnswer is an http.ResponseWriter into a file.
type fileAnswer struct {
	h      http.Header
	w      io.Writer
	status int
	n      int64
}

func (f *fileAnswer) Header() http.Header { return f.h }
func (f *fileAnswer) WriteHeader(s int)   { f.status = s }
func (f *fileAnswer) Write(p []byte) (int, error) {
	if f.status == 0 {
		f.status = http.StatusOK
	}
	n, err := f.w.Write(p)
	f.n += int64(n)
	return n, err
}

// replay serves the archives as the Sync API: the answer to a request is
// the one generated for its token; a token it never issued, or other dates,
// is an error the agent would log (and the bench then fails).
type replay struct {
	set     *archiveSet
	byToken map[string]answer
	served  atomic.Int64 // answers sent whole
}

func newReplay(set *archiveSet) *replay {
	r := &replay{set: set, byToken: make(map[string]answer, len(set.Answers))}
	for _, a := range set.Answers {
		r.byToken[a.ReqToken] = a
	}
	return r
}

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	if req.URL.Path != simulator.SyncPath || req.Header.Get("X-APIUsername") != "bench" || req.Header.Get("X-APIPassword") != "bench" {
		http.Error(w, "not the Sync API or not its credential", http.StatusUnauthorized)
		return
	}
	if q.Get("startDate") != strconv.FormatInt(r.set.Day.UnixMilli(), 10) || q.Get("endDate") != "0" {
		http.Error(w, "the bench replays one day: startDate "+strconv.FormatInt(r.set.Day.UnixMilli(), 10)+", endDate 0", http.StatusBadRequest)
		return
	}
	a, ok := r.byToken[q.Get("token")]
	if !ok {
		http.Error(w, "token not issued by this replay", http.StatusGone)
		return
	}
	f, err := os.Open(filepath.Join(r.set.Dir, a.File))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(a.Bytes, 10))
	if _, err := io.Copy(w, f); err == nil {
		r.served.Add(1)
	}
}
