package simulator

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// The access-log Sync API (docs/wss-sync-api.md), simulated: one tenant
// whose proxy writes LinesPerHour ELFF lines every hour from Start on. Line
// number pos (counted from Start) is a pure function of (Seed, pos), so any
// volume costs no memory, and every line ever served for a time range can
// be listed again (SyncLineHashes) for exactly-once checks.
//
// A request's dates select the lines [posAt(startDate), posAt(endDate or
// now)) that are visible at Now (their time has passed). The token is a
// position in that range: an answer holds at most PageLines lines from it,
// then says more (and a token for where it stopped) or done. With nothing
// new, done comes with the very token that was sent. Tokens carry their
// dates and issue time: other dates, or an age past TokenMaxAge, is 410.

// SyncPath is where the Sync API answers.
const SyncPath = "/reportpod/logs/sync"

// Defaults of SyncConfig fields left zero.
const (
	DefaultSyncLinesPerHour = 3600
	DefaultSyncPageLines    = 50_000
	DefaultSyncFileLines    = 5_000
	DefaultSyncRetention    = 100 * 24 * time.Hour
)

// SyncConfig describes the simulated access-log tenant.
type SyncConfig struct {
	Username, Password string // X-APIUsername / X-APIPassword; both empty disables the check
	Seed               int64
	Start              time.Time // the first hour with lines (cut to its hour)
	LinesPerHour       int       // default 3600; millions are fine
	Now                func() time.Time
	PageLines          int           // most lines in one answer (default 50,000)
	FileLines          int           // most lines in one gzip file of the ZIP (default 5,000)
	TokenMaxAge        time.Duration // a token issued longer ago is answered 410; 0: never
	Retention          time.Duration // a startDate older is answered 400 (default 100 days)
	HostileRate        float64       // fraction of lines with hostile values
	// FieldsChange serves every other half hour with another #Fields order
	// (and two more columns), as a tenant whose log format was edited.
	FieldsChange bool
}

// SyncFault makes the next request fail; faults are used in order, one per
// request.
type SyncFault struct {
	Status     int    // answer this status (423, 429, 503, 410, 500...) with Body
	RetryAfter string // the Retry-After header of that answer
	Body       string
	RedirectTo string // answer 302 to this URL (the query is kept)
	Abort      bool   // serve the page with its last file cut and status abort
	Partial    bool   // serve only the first 203 bytes of the page's ZIP, then the trailer
	NoTrailer  bool   // serve the page's ZIP without a trailer
}

// SyncRequest is one request as the simulator saw it.
type SyncRequest struct {
	Time        time.Time
	Query       url.Values
	Username    string
	HasPassword bool
	Status      int
	SyncStatus  string // the trailer's status, "" when there is none
	Token       string // the trailer's token
	Begin, End  int64  // the positions served
	Fault       string
}

// SyncSimulator is an http.Handler for SyncPath. Safe for concurrent use.
type SyncSimulator struct {
	cfg    SyncConfig
	key    uint64
	tenant string

	mu       sync.Mutex
	faults   []SyncFault
	requests []SyncRequest
}

// NewSync checks cfg, fills its defaults and returns the simulator.
func NewSync(cfg SyncConfig) (*SyncSimulator, error) {
	if cfg.LinesPerHour == 0 {
		cfg.LinesPerHour = DefaultSyncLinesPerHour
	}
	if cfg.PageLines == 0 {
		cfg.PageLines = DefaultSyncPageLines
	}
	if cfg.FileLines == 0 {
		cfg.FileLines = DefaultSyncFileLines
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultSyncRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var errs []error
	if cfg.Start.IsZero() {
		errs = append(errs, errors.New("simulator: sync Start is required"))
	}
	if cfg.LinesPerHour < 1 || cfg.LinesPerHour > 3_600_000 {
		errs = append(errs, fmt.Errorf("simulator: sync LinesPerHour must be in [1, 3600000], got %d", cfg.LinesPerHour))
	}
	if cfg.PageLines < 1 || cfg.FileLines < 1 {
		errs = append(errs, errors.New("simulator: sync PageLines and FileLines must be positive"))
	}
	if cfg.HostileRate < 0 || cfg.HostileRate > 1 {
		errs = append(errs, fmt.Errorf("simulator: sync HostileRate must be in [0, 1], got %v", cfg.HostileRate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.Start = cfg.Start.UTC().Truncate(time.Hour)
	s := &SyncSimulator{cfg: cfg, key: mix64(uint64(cfg.Seed) ^ 0x5c0a11c0ffee)}
	s.tenant = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(s.key), uint16(s.key>>32), uint16(s.key>>44)&0xfff, uint16(s.key>>52)&0xfff, mix64(s.key)&0xffffffffffff)
	return s, nil
}

// SyncConfig is the effective configuration.
func (s *SyncSimulator) Config() SyncConfig { return s.cfg }

// InjectFault queues f for a coming request.
func (s *SyncSimulator) InjectFault(f SyncFault) {
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// Requests returns the requests seen so far.
func (s *SyncSimulator) Requests() []SyncRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SyncRequest(nil), s.requests...)
}

func (s *SyncSimulator) takeFault() (SyncFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return SyncFault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *SyncSimulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e := SyncRequest{Time: s.cfg.Now(), Query: q, Username: r.Header.Get("X-APIUsername"), HasPassword: r.Header.Get("X-APIPassword") != ""}
	defer func() {
		s.mu.Lock()
		if len(s.requests) < maxLoggedRequests {
			s.requests = append(s.requests, e)
		}
		s.mu.Unlock()
	}()
	if r.URL.Path != SyncPath {
		e.Status = syncError(w, http.StatusNotFound, "no such endpoint")
		return
	}
	if s.cfg.Username != "" || s.cfg.Password != "" {
		u, p := []byte(r.Header.Get("X-APIUsername")), []byte(r.Header.Get("X-APIPassword"))
		if subtle.ConstantTimeCompare(u, []byte(s.cfg.Username))&subtle.ConstantTimeCompare(p, []byte(s.cfg.Password)) != 1 {
			e.Status = syncError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
	}
	f, faulted := s.takeFault()
	if faulted {
		switch {
		case f.RedirectTo != "":
			e.Fault = "redirect"
			target := f.RedirectTo
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusFound)
			e.Status = http.StatusFound
			return
		case f.Status != 0:
			e.Fault = strconv.Itoa(f.Status)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			body := f.Body
			if body == "" {
				body = http.StatusText(f.Status)
			}
			e.Status = syncError(w, f.Status, body)
			return
		}
	}
	pg, status, msg := s.plan(q)
	if status != http.StatusOK {
		e.Status = syncError(w, status, msg)
		return
	}
	e.Status, e.Begin, e.End, e.SyncStatus, e.Token = http.StatusOK, pg.begin, pg.end, pg.status, pg.token
	switch {
	case f.Abort:
		e.Fault, e.SyncStatus, pg.status, pg.token = "abort", "abort", "abort", pg.reqToken
	case f.Partial:
		e.Fault, e.SyncStatus, pg.token = "partial", "more", pg.reqToken
		pg.status = "more"
	case f.NoTrailer:
		e.Fault, e.SyncStatus, e.Token = "no-trailer", "", ""
	}
	s.write(w, pg, f)
}

func syncError(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
	return status
}

// page is what one answer serves.
type page struct {
	begin, end int64 // positions [begin, end)
	status     string
	token      string // the trailer's token
	reqToken   string // the token of the request ("none" if none)
}

// plan checks the query and chooses the page, or the error to answer.
func (s *SyncSimulator) plan(q url.Values) (page, int, string) {
	now := s.cfg.Now().UTC()
	for _, k := range []string{"startDate", "endDate", "token"} {
		if _, ok := q[k]; !ok {
			return page{}, http.StatusBadRequest, "missing parameter " + k
		}
	}
	startMs, err1 := strconv.ParseInt(q.Get("startDate"), 10, 64)
	endMs, err2 := strconv.ParseInt(q.Get("endDate"), 10, 64)
	switch {
	case err1 != nil || err2 != nil:
		return page{}, http.StatusBadRequest, "startDate and endDate must be epoch milliseconds"
	case startMs%3_600_000 != 0:
		return page{}, http.StatusBadRequest, "startDate must be a whole hour"
	case startMs < now.Add(-s.cfg.Retention).UnixMilli():
		return page{}, http.StatusBadRequest, "startDate is older than the retention"
	case endMs > now.UnixMilli():
		return page{}, http.StatusBadRequest, "endDate is in the future"
	case endMs != 0 && endMs <= startMs:
		return page{}, http.StatusBadRequest, "endDate must be after startDate"
	}
	limit := now.UnixMilli() + 1 // visible: time <= now
	if endMs != 0 {
		limit = endMs
	}
	from, to := s.posAt(startMs), s.posAt(limit)
	to = max(to, from)
	pg := page{begin: from, reqToken: q.Get("token")}
	if tok := q.Get("token"); tok != "none" {
		t, ok := s.decodeToken(tok)
		switch {
		case !ok:
			return page{}, http.StatusBadRequest, "invalid token"
		case t.startMs != startMs || t.pos < from || t.pos > to:
			return page{}, http.StatusGone, "token outside the dates"
		case s.cfg.TokenMaxAge > 0 && now.Sub(time.UnixMilli(t.issuedMs)) > s.cfg.TokenMaxAge:
			return page{}, http.StatusGone, "token expired"
		}
		pg.begin = t.pos
	}
	pg.end = min(pg.begin+int64(s.cfg.PageLines), to)
	pg.status = "done"
	if pg.end < to {
		pg.status = "more"
	}
	if pg.end == pg.begin && pg.reqToken != "none" {
		pg.token = pg.reqToken // no new data: the same token
	} else {
		pg.token = s.encodeToken(syncToken{startMs: startMs, pos: pg.end, issuedMs: now.UnixMilli()})
	}
	return pg, http.StatusOK, ""
}

// posAt is the first position whose time is at or after ms.
func (s *SyncSimulator) posAt(ms int64) int64 {
	d := ms - s.cfg.Start.UnixMilli()
	if d <= 0 {
		return 0
	}
	L := int64(s.cfg.LinesPerHour)
	h := d / 3_600_000
	in := d % 3_600_000
	j := (in*L + 3_600_000 - 1) / 3_600_000 // ceil(in*L/H)
	return h*L + j                          // j == L is the next hour's first
}

// timeOf is the time of position pos, in ms.
func (s *SyncSimulator) timeOf(pos int64) int64 {
	L := int64(s.cfg.LinesPerHour)
	return s.cfg.Start.UnixMilli() + (pos/L)*3_600_000 + (pos%L)*3_600_000/L
}

type syncToken struct {
	startMs, pos, issuedMs int64
}

func (s *SyncSimulator) tokenSig(t syncToken) uint64 {
	return mix64(s.key ^ mix64(uint64(t.startMs)^mix64(uint64(t.pos)+golden)^mix64(uint64(t.issuedMs)*golden)))
}

func (s *SyncSimulator) encodeToken(t syncToken) string {
	return fmt.Sprintf("s%x.p%x.t%x.%016x", t.startMs, t.pos, t.issuedMs, s.tokenSig(t))
}

func (s *SyncSimulator) decodeToken(v string) (syncToken, bool) {
	var t syncToken
	var sig uint64
	if n, err := fmt.Sscanf(v, "s%x.p%x.t%x.%016x", &t.startMs, &t.pos, &t.issuedMs, &sig); err != nil || n != 4 {
		return t, false
	}
	return t, s.encodeToken(t) == v && sig == s.tokenSig(t)
}

// Mux serves the audit API simulator and the Sync API on one listener.
func Mux(audit http.Handler, syncAPI *SyncSimulator) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(SyncPath, syncAPI)
	mux.Handle("/", audit)
	return mux
}

// DemoSyncConfig is the access-log tenant `auditfwd simulate` serves: two
// days of lines up to now, with the demo's credential.
func DemoSyncConfig(now time.Time) SyncConfig {
	return SyncConfig{
		Username: "demo", Password: "demo", Seed: 20261124,
		Start:        now.UTC().Add(-48 * time.Hour).Truncate(time.Hour),
		LinesPerHour: DefaultSyncLinesPerHour,
		TokenMaxAge:  24 * time.Hour,
		HostileRate:  0.01,
		FieldsChange: true,
	}
}
