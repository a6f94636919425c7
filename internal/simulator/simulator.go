// Package simulator serves the WSS audit-log download API as this project
// assumes it (see shared/wss-audit-api.md), with deterministic records,
// late arrivals, duplicates, malformed and hostile entries, and injectable
// faults. It backs `auditfwd demo`, `auditfwd simulate`, the end-to-end tests
// and the benchmarks, so responses are streamed and every record is generated
// on demand from (Seed, index): memory does not grow with Records.
//
// Config.Scenarios serves instead a scenario tenant with ground truth
// (scenario.go): weeks of benign admin work with labelled attacks planted,
// on which the rule pack is proven (internal/detect/scenario_test.go).
package simulator

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Config describes the simulated tenant and how badly its API behaves.
type Config struct {
	Username, Password string // Basic auth expected; both empty disables auth
	Path               string // default "/api/rest/audit/download"
	StartParam         string // default "startDate"
	EndParam           string // default "endDate"

	Seed       int64
	Start, End time.Time // record timestamps are spread over [Start, End)
	Records    int       // number of unique valid records over that span

	// Now is the simulation clock (default time.Now). A record is visible
	// only once Now() >= its timestamp + its lateness.
	Now         func() time.Time
	MaxLateness time.Duration // each record's lateness is uniform in [0, MaxLateness]

	DuplicateRate float64 // fraction of records served twice in the same response
	MalformedRate float64 // malformed entries per valid record; each follows its record (and its filters)
	HostileRate   float64 // fraction of records carrying hostile strings

	// Shuffle serves each response's records in a fresh order, a function
	// of (Seed, request number): the same window fetched twice comes back in
	// two orders (duplicates and malformed entries still follow their record).
	Shuffle bool

	// Scenarios replaces the generated records with the scenario tenant
	// (scenario.go): weeks of benign admin work with attacks planted in
	// its last week, each labelled with the rules it must fire (Labels).
	// Records must then be 0 and HostileRate 0 (a hostile string would
	// overwrite a planted name); End must leave room for ScenarioDays.
	Scenarios bool

	Shape      string // "array" (default), "data", "records", "auditLogs", "items", "results"
	Schema     string // "default", "alt", "mixed"
	DateFormat string // "auto" (default), "date", "epoch_ms", "rfc3339"
}

// Defaults for Config fields left empty.
const (
	DefaultPath       = "/api/rest/audit/download"
	DefaultStartParam = "startDate"
	DefaultEndParam   = "endDate"
)

var (
	shapes      = []string{"array", "data", "records", "auditLogs", "items", "results"}
	schemas     = []string{"default", "alt", "mixed"}
	dateFormats = []string{"auto", "date", "epoch_ms", "rfc3339"}
)

// Simulator is an http.Handler serving the simulated API. It is safe for
// concurrent use.
type Simulator struct {
	cfg Config

	startMs, spanMs int64
	msPerRecord     float64 // spanMs / Records: record i sits near Start + i*msPerRecord
	maxLateMs       uint64

	keys   [numSalts]uint64 // per-purpose hash keys derived from Seed
	idKeys [4]uint64        // Feistel round keys for ids

	admins  []string // admin e-mail addresses
	homeIPs []string // each admin's usual source address
	users   []string // end users, objects of User operations
	tenant  string

	mu       sync.Mutex
	faults   []Fault
	requests []Request
	reqSeq   uint64

	malOnce  sync.Once
	malCount int

	// Scenario tenant (Config.Scenarios): the records in time order and
	// their ground truth. nil otherwise.
	table  []rec
	labels []Label
}

// New validates cfg, fills defaults and returns a ready simulator. It does no
// I/O and costs O(1) in Records.
func New(cfg Config) (*Simulator, error) {
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.StartParam == "" {
		cfg.StartParam = DefaultStartParam
	}
	if cfg.EndParam == "" {
		cfg.EndParam = DefaultEndParam
	}
	if cfg.Shape == "" {
		cfg.Shape = "array"
	}
	if cfg.Schema == "" {
		cfg.Schema = "default"
	}
	if cfg.DateFormat == "" {
		cfg.DateFormat = "auto"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Simulator{
		cfg:       cfg,
		startMs:   cfg.Start.UnixMilli(),
		spanMs:    cfg.End.UnixMilli() - cfg.Start.UnixMilli(),
		maxLateMs: uint64(cfg.MaxLateness.Milliseconds()),
	}
	if cfg.Records > 0 {
		s.msPerRecord = float64(s.spanMs) / float64(cfg.Records)
	}
	base := mix64(uint64(cfg.Seed) ^ 0x5eed5eed5eed5eed)
	for k := range s.keys {
		s.keys[k] = mix64(base + uint64(k+1)*golden)
	}
	for k := range s.idKeys {
		s.idKeys[k] = mix64(base ^ uint64(k+101)*golden)
	}
	s.buildPeople()
	if cfg.Scenarios {
		s.table, s.labels = buildScenarios(cfg.Seed, cfg.Start)
		s.cfg.Records = len(s.table)
		s.labelIDs()
	}
	return s, nil
}

func (c *Config) validate() error {
	var errs []error
	if c.Start.IsZero() || c.End.IsZero() {
		errs = append(errs, errors.New("simulator: Start and End are required"))
	} else if c.End.UnixMilli() <= c.Start.UnixMilli() {
		errs = append(errs, errors.New("simulator: End must be after Start"))
	}
	if c.Records < 0 {
		errs = append(errs, errors.New("simulator: Records must be >= 0"))
	}
	if c.Scenarios {
		errs = append(errs, c.validateScenarios()...)
	}
	if c.MaxLateness < 0 {
		errs = append(errs, errors.New("simulator: MaxLateness must be >= 0"))
	}
	for name, r := range map[string]float64{"DuplicateRate": c.DuplicateRate, "MalformedRate": c.MalformedRate, "HostileRate": c.HostileRate} {
		if r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("simulator: %s must be in [0, 1], got %v", name, r))
		}
	}
	if !oneOf(c.Shape, shapes) {
		errs = append(errs, fmt.Errorf("simulator: Shape %q is not one of %v", c.Shape, shapes))
	}
	if !oneOf(c.Schema, schemas) {
		errs = append(errs, fmt.Errorf("simulator: Schema %q is not one of %v", c.Schema, schemas))
	}
	if !oneOf(c.DateFormat, dateFormats) {
		errs = append(errs, fmt.Errorf("simulator: DateFormat %q is not one of %v", c.DateFormat, dateFormats))
	}
	if c.Path[0] != '/' {
		errs = append(errs, fmt.Errorf("simulator: Path %q must start with /", c.Path))
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// Config returns the effective configuration, defaults filled in.
func (s *Simulator) Config() Config { return s.cfg }

// DemoConfig is the tenant `auditfwd demo` talks to: three UTC days ending
// tomorrow at midnight, so two days of history are there at once and today's
// records keep arriving (late by up to 15 minutes) while the demo runs.
func DemoConfig(now time.Time) Config {
	day := now.UTC().Truncate(24 * time.Hour)
	return Config{
		Username:      "demo",
		Password:      "demo",
		Seed:          20261124,
		Start:         day.Add(-48 * time.Hour),
		End:           day.Add(24 * time.Hour),
		Records:       300,
		MaxLateness:   15 * time.Minute,
		DuplicateRate: 0.02,
		MalformedRate: 0.02,
		HostileRate:   0.03,
		Shape:         "data",
		Schema:        "mixed",
		DateFormat:    "auto",
	}
}
