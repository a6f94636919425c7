package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"sort"
	"time"
)

// The scenario tenant (Config.Scenarios) is the proof that the rule pack
// works: weeks of benign admin work (scenario_background.go) with attacks
// planted in its last week (scenario_attacks.go), each with its ground
// truth: the records it planted and the rules that must fire on them. A
// rule firing on anything else is a false positive; a labelled rule that
// does not fire is a false negative (internal/detect/scenario_test.go).

// ScenarioDays is how many UTC days the scenario tenant spans, from the
// first midnight at or after Config.Start.
const ScenarioDays = 24

// ScenarioLearnDays: no attack is planted in the first ScenarioLearnDays
// days, so a rule that learns each admin's usual values (the new source IP
// rule learns for 14 days) has seen every admin's usual addresses first,
// and has stopped learning, however it counts the 14 days: from the first
// event, or from each admin's first sign-in (at most a weekend and a
// working day after day 0).
const ScenarioLearnDays = 17

// ScenarioHours are the business hours the background keeps to (its work
// lies within 08:30-17:00 UTC, Monday to Friday); the engine's
// detections.business_hours must say this for the outside-business-hours
// scenario to be the only one that fires that rule.
var ScenarioHours = BusinessHours{TimeZone: "UTC", Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, From: "08:00", To: "18:00"}

// BusinessHours describes working hours: days (time.Weekday, 0 is Sunday,
// numbers in the JSON ground truth), and [From, To) in TimeZone.
type BusinessHours struct {
	TimeZone string         `json:"time_zone"`
	Days     []time.Weekday `json:"days"`
	From     string         `json:"from"` // "08:00"
	To       string         `json:"to"`   // "18:00"
}

// Rule ids of the shipped pack (rules/wss_audit), as the labels name them
// (internal/detect's scenario test checks each against the pack).
const (
	RuleSigninFailedBurst       = "69ab150c-ee4f-4ac8-b639-d396b66f896d"
	RuleSigninSuccessAfterBurst = "1e6ed9b8-954c-4294-84c5-d81e7e3b860f"
	RuleSigninManySourceIPs     = "3ae50c26-3af5-4fd5-9979-fa25b1b18fe2"
	RuleSigninSprayOneIP        = "8057e4f1-0202-4c30-85af-f0f194042fdd"
	RuleMassDeletion            = "63ec6e69-c5c9-45dd-bf03-89dac7136f91"
	RuleOutsideBusinessHours    = "d660f274-69fe-4014-b36a-784e30ebb02f"
	RuleAdminOrRoleGranted      = "1ea9df82-b1d0-45bf-92a5-98e7be7c06ad"
	RuleSigninFromNewIP         = "b0578f65-3685-415f-bbe7-7b9e5dd1fb17"
	RuleAgentDisabled           = "66adc911-f544-4597-aa26-07375ff9aea5"
	RuleAPICredentialCreated    = "94eb29e5-22c4-4cf6-8ee4-e38e46395d1b"
	RuleAPICredentialNoExpiry   = "342ed506-29dd-4654-b536-4c60975d76fe"
	RuleAuditCredentialChanged  = "cc9186ac-6208-4d2b-8568-63d8957b1248"
	RuleAuthSettingsChanged     = "f4020255-9532-4a7c-b526-7209310f0b53"
	RuleLoggingSettingsChanged  = "3a3c1408-e032-43d2-ae4c-563eacb88c7a"
	RulePolicyRuleDeleted       = "8d64292d-4121-443a-be72-e1ef42aa9af7"
	RuleReportExported          = "651c9939-a74e-48cd-9950-54a35a43e56a"
	RuleTLSBypassChanged        = "ba55292c-6d10-46ba-a12f-fdb22fff4dc5"
)

// Label is the ground truth of one planted scenario.
type Label struct {
	Scenario    string    `json:"scenario"`
	Description string    `json:"description"`
	Rules       []string  `json:"rules"`      // ids of the rules that must fire on its records
	RecordIDs   []string  `json:"record_ids"` // the records it planted, in time order
	Hashes      []string  `json:"hashes,omitempty"`
	Start       time.Time `json:"start"` // its first record
	End         time.Time `json:"end"`   // its last record

	idx []int // indexes of the planted records
}

// Labels returns the ground truth of every planted scenario, in time
// order; nil unless Config.Scenarios.
func (s *Simulator) Labels() []Label {
	out := make([]Label, len(s.labels))
	for k, l := range s.labels {
		l.Rules = append([]string(nil), l.Rules...)
		l.RecordIDs = append([]string(nil), l.RecordIDs...)
		l.idx = nil
		out[k] = l
	}
	return out
}

// ScenarioConfig is a scenario tenant: ScenarioDays days from the first
// UTC midnight at or after start, every record visible at once, no faults.
func ScenarioConfig(seed int64, start time.Time) Config {
	day0 := scenarioDay0(start)
	return Config{
		Seed:      seed,
		Start:     day0,
		End:       day0.Add(ScenarioDays * 24 * time.Hour),
		Scenarios: true,
		Now:       func() time.Time { return day0.Add((ScenarioDays + 1) * 24 * time.Hour) },
	}
}

func scenarioDay0(start time.Time) time.Time {
	start = start.UTC()
	day0 := start.Truncate(24 * time.Hour)
	if day0.Before(start) {
		day0 = day0.Add(24 * time.Hour)
	}
	return day0
}

func (c *Config) validateScenarios() []error {
	var errs []error
	if c.Records != 0 {
		errs = append(errs, errors.New("simulator: Records must be 0 with Scenarios (the scenario tenant has its own records)"))
	}
	if c.HostileRate != 0 {
		errs = append(errs, errors.New("simulator: HostileRate must be 0 with Scenarios (a hostile string would overwrite a planted name)"))
	}
	if !c.Start.IsZero() && !c.End.IsZero() {
		if need := scenarioDay0(c.Start).Add(ScenarioDays * 24 * time.Hour); c.End.Before(need) {
			errs = append(errs, errors.New("simulator: End must be at least "+need.Format(time.RFC3339)+" with Scenarios ("+
				"the scenario tenant spans 24 days from the first midnight at or after Start)"))
		}
	}
	return errs
}

// groundTruth is the JSON form of a scenario tenant's labels.
type groundTruth struct {
	Seed          int64         `json:"seed"`
	Start         time.Time     `json:"start"`
	End           time.Time     `json:"end"`
	Records       int           `json:"records"`
	BusinessHours BusinessHours `json:"business_hours"`
	Scenarios     []Label       `json:"scenarios"`
}

// WriteGroundTruth writes the labels as one JSON document. hash, when not
// nil, gives each planted record's event hash from its served bytes (the
// simulator does not import the normalizer; the caller does).
func (s *Simulator) WriteGroundTruth(w io.Writer, hash func(record []byte) string) error {
	if s.table == nil {
		return errors.New("simulator: no scenarios (Config.Scenarios is off)")
	}
	gt := groundTruth{Seed: s.cfg.Seed, Start: s.cfg.Start, End: s.cfg.End, Records: len(s.table), BusinessHours: ScenarioHours, Scenarios: s.Labels()}
	if hash != nil {
		for k := range gt.Scenarios {
			l := &gt.Scenarios[k]
			for _, id := range l.RecordIDs {
				raw, _ := s.RecordJSON(id)
				l.Hashes = append(l.Hashes, hash(raw))
			}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(gt)
}

// planter builds the scenario tenant's records: the background and the
// attacks append to it, then sorted puts them in time order.
type planter struct {
	g      rng
	day0   time.Time
	recs   []rec
	owner  []int // per record: index in labels, or -1 for background
	labels []Label
	cur    int // label being planted, -1 when none

	admins []scenarioAdmin
	users  []string
}

type scenarioAdmin struct {
	name, office, home string
	wfh                time.Weekday // the weekday worked from home, when home != ""
	role               int
	ua                 string
}

// add appends one record; it belongs to the scenario being planted, if any.
func (p *planter) add(t time.Time, user, ip, op, objType, objName, status, desc string) {
	r := rec{
		ms:      t.UnixMilli(),
		user:    user,
		ip:      []byte(ip),
		op:      op,
		objType: objType,
		objName: objName,
		status:  status,
		desc:    []byte(desc),
		ua:      p.uaOf(user),
		session: p.g.next(),
	}
	r.changeFrom, r.changeTo = "Allow", "Block"
	p.recs = append(p.recs, r)
	p.owner = append(p.owner, p.cur)
}

// changed records a PolicyRule action change, so the "details" extra key
// (when the schema adds it) says the same as the description.
func (p *planter) changed(from, to string) {
	r := &p.recs[len(p.recs)-1]
	r.changeFrom, r.changeTo = from, to
}

func (p *planter) uaOf(user string) string {
	for _, a := range p.admins {
		if a.name == user {
			return a.ua
		}
	}
	return userAgents[0]
}

func (p *planter) begin(name, desc string, rules ...string) {
	p.labels = append(p.labels, Label{Scenario: name, Description: desc, Rules: rules})
	p.cur = len(p.labels) - 1
}

func (p *planter) end() { p.cur = -1 }

// day returns midnight of scenario day d.
func (p *planter) day(d int) time.Time { return p.day0.Add(time.Duration(d) * 24 * time.Hour) }

// at is day d at hh:mm:ss.
func (p *planter) at(d, hh, mm, ss int) time.Time {
	return p.day(d).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second)
}

func isWorkday(t time.Time) bool { wd := t.Weekday(); return wd != time.Saturday && wd != time.Sunday }

// ipFor is the address admin a works from on day d.
func (p *planter) ipFor(a scenarioAdmin, d int) string {
	if a.home != "" && p.day(d).Weekday() == a.wfh {
		return a.home
	}
	return a.office
}

// buildScenarios returns the scenario tenant's records in time order and
// its labels (their idx set; RecordIDs are filled by New once ids exist).
func buildScenarios(seed int64, start time.Time) ([]rec, []Label) {
	p := &planter{g: rng{state: mix64(uint64(seed) ^ 0x5ce4a7105ce4a710)}, day0: scenarioDay0(start), cur: -1}
	p.people()
	p.background()
	p.attacks()

	order := make([]int, len(p.recs))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return p.recs[order[a]].ms < p.recs[order[b]].ms })
	table := make([]rec, len(order))
	for i, k := range order {
		table[i] = p.recs[k]
		table[i].i = i
		if l := p.owner[k]; l >= 0 {
			p.labels[l].idx = append(p.labels[l].idx, i)
		}
	}
	for k := range p.labels {
		l := &p.labels[k]
		sort.Ints(l.idx)
		l.Start = time.UnixMilli(table[l.idx[0]].ms).UTC()
		l.End = time.UnixMilli(table[l.idx[len(l.idx)-1]].ms).UTC()
	}
	sort.SliceStable(p.labels, func(a, b int) bool { return p.labels[a].Start.Before(p.labels[b].Start) })
	return table, p.labels
}

// fillPlanted is fill for a scenario tenant's record i.
func (s *Simulator) fillPlanted(r *rec, i int) {
	t := &s.table[i]
	r.i = i
	r.ms, r.timeFmt = s.timeOf(i)
	r.lateMs = s.lateMs(i)
	r.id = s.idOf(i)
	r.dup = s.chance(i, saltDup, s.cfg.DuplicateRate)
	r.malformed = s.chance(i, saltMalformed, s.cfg.MalformedRate)
	r.hostile = false
	r.user, r.objType, r.objName, r.op, r.status, r.ua = t.user, t.objType, t.objName, t.op, t.status, t.ua
	r.ip = append(r.ip[:0], t.ip...)
	r.desc = append(r.desc[:0], t.desc...)
	r.session = t.session
	r.changeFrom, r.changeTo = t.changeFrom, t.changeTo
	r.extras = 0
	r.asciiOnly = false
	g := rng{state: s.hash(i, saltContent)}
	s.style(r, &g)
	r.malKind = uint8(g.intn(numMalKinds))
	r.malSeed = g.next()
}

// labelIDs fills each label's RecordIDs from its indexes.
func (s *Simulator) labelIDs() {
	for k := range s.labels {
		l := &s.labels[k]
		l.RecordIDs = l.RecordIDs[:0]
		for _, i := range l.idx {
			l.RecordIDs = append(l.RecordIDs, string(appendID(nil, s.idOf(i))))
		}
	}
}
