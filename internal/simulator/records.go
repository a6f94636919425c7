package simulator

import (
	"iter"
	"sort"
	"strconv"
	"time"
)

// Every per-record property is a pure function of (Seed, index). Properties
// needed to select records (time, lateness, flags) each have their own hash
// so a window can be located and filtered without building the record.

const golden = 0x9e3779b97f4a7c15

func mix64(x uint64) uint64 { // splitmix64 finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const (
	saltTime = iota
	saltTimeFormat
	saltLate
	saltDup
	saltMalformed
	saltHostile
	saltContent
	numSalts
)

func (s *Simulator) hash(i int, salt int) uint64 {
	return mix64(s.keys[salt] + uint64(i)*golden)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func (s *Simulator) chance(i, salt int, rate float64) bool {
	return rate > 0 && unit(s.hash(i, salt)) < rate
}

// rawMs is record i's true time. Record i sits at a random point of the i-th
// of Records equal slots, so rawMs is non-decreasing in i and a time window
// maps to an index range by binary search.
func (s *Simulator) rawMs(i int) int64 {
	if s.table != nil {
		return s.table[i].ms
	}
	off := int64((float64(i) + unit(s.hash(i, saltTime))) * s.msPerRecord)
	if off >= s.spanMs {
		off = s.spanMs - 1
	}
	return s.startMs + off
}

// Time formats a record may be served with.
const (
	fmtRFC3339Milli = iota // "2026-11-24T10:15:02.123Z"
	fmtSpaceSeconds        // "2026-11-24 10:15:02" (UTC, no fraction)
	fmtEpochMilli          // 1763979302123
)

// timeOf returns the time record i is served with (its canonical time) and the
// format. A seconds-only format drops the milliseconds, so it is only used by
// the first record of its second: served times then stay non-decreasing.
func (s *Simulator) timeOf(i int) (ms int64, format uint8) {
	ms = s.rawMs(i)
	switch s.cfg.Schema {
	case "alt":
		return ms, fmtEpochMilli
	case "mixed":
		if s.table != nil {
			// Planted records keep their milliseconds: a seconds-only
			// format could move a burst's events onto one instant.
			if s.hash(i, saltTimeFormat)%2 == 0 {
				return ms, fmtEpochMilli
			}
			return ms, fmtRFC3339Milli
		}
		format = uint8(s.hash(i, saltTimeFormat) % 3)
		if format == fmtSpaceSeconds {
			sec := floorDiv(ms, 1000)
			if i > 0 && floorDiv(s.rawMs(i-1), 1000) >= sec {
				return ms, fmtRFC3339Milli
			}
			return sec * 1000, fmtSpaceSeconds
		}
		return ms, format
	}
	return ms, fmtRFC3339Milli
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

func (s *Simulator) lateMs(i int) int64 {
	if s.maxLateMs == 0 {
		return 0
	}
	return int64(s.hash(i, saltLate) % (s.maxLateMs + 1))
}

// searchMs returns the first index whose served time is >= ms.
func (s *Simulator) searchMs(ms int64) int {
	return sort.Search(s.cfg.Records, func(i int) bool {
		t, _ := s.timeOf(i)
		return t >= ms
	})
}

// ids: a 4-round Feistel permutation of the index, so ids are unique, look
// random, and map back to their index without a table.

func (s *Simulator) feistel(x uint32, k int) uint32 {
	return uint32(mix64(uint64(x) ^ s.idKeys[k]))
}

func (s *Simulator) idOf(i int) uint64 {
	l, r := uint32(uint64(i)>>32), uint32(i)
	for k := 0; k < len(s.idKeys); k++ {
		l, r = r, l^s.feistel(r, k)
	}
	return uint64(l)<<32 | uint64(r)
}

func (s *Simulator) indexOf(id uint64) uint64 {
	l, r := uint32(id>>32), uint32(id)
	for k := len(s.idKeys) - 1; k >= 0; k-- {
		l, r = r^s.feistel(l, k), l
	}
	return uint64(l)<<32 | uint64(r)
}

func appendID(b []byte, id uint64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[(id>>uint(shift))&0xf])
	}
	return b
}

// lookup parses an id as served and returns its index.
func (s *Simulator) lookup(id string) (int, bool) {
	if len(id) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(id, 16, 64)
	if err != nil || string(appendID(nil, v)) != id {
		return 0, false
	}
	i := s.indexOf(v)
	if i >= uint64(s.cfg.Records) {
		return 0, false
	}
	return int(i), true
}

// ValidIDs returns the ids of all valid records, in time order. It costs
// O(Records); it is meant for tests.
func (s *Simulator) ValidIDs() []string {
	ids := make([]string, s.cfg.Records)
	var b []byte
	for i := range ids {
		b = appendID(b[:0], s.idOf(i))
		ids[i] = string(b)
	}
	return ids
}

// MalformedCount is the number of distinct malformed entries the server can
// ever return (each follows one valid record and is served with it).
func (s *Simulator) MalformedCount() int {
	s.malOnce.Do(func() {
		for i := 0; i < s.cfg.Records; i++ {
			if s.chance(i, saltMalformed, s.cfg.MalformedRate) {
				s.malCount++
			}
		}
	})
	return s.malCount
}

// Fact is the canonical content of one valid record, as a client should
// decode it whatever key names and time format it was served with.
type Fact struct {
	Index         int
	ID            string
	Time          time.Time // served time, UTC (whole second for "2006-01-02 15:04:05" records)
	VisibleAt     time.Time // Time + lateness: first sim-clock instant it is served
	UserName      string
	SourceIP      string
	ObjectType    string
	ObjectName    string
	OperationType string
	Status        string
	Description   string
	Duplicated    bool // served twice in every response that contains it
	Malformed     bool // followed by a malformed entry in every response that contains it
	Hostile       bool
}

// Fact returns the canonical content of the record with the given id.
func (s *Simulator) Fact(id string) (Fact, bool) {
	i, ok := s.lookup(id)
	if !ok {
		return Fact{}, false
	}
	var r rec
	s.fill(&r, i)
	return r.fact(), true
}

// Facts iterates over every valid record in time order.
func (s *Simulator) Facts() iter.Seq[Fact] {
	return func(yield func(Fact) bool) {
		var r rec
		for i := 0; i < s.cfg.Records; i++ {
			s.fill(&r, i)
			if !yield(r.fact()) {
				return
			}
		}
	}
}

// RecordJSON returns the exact bytes the record with the given id is served
// as (in the JSON formats; records are byte-identical across responses).
func (s *Simulator) RecordJSON(id string) ([]byte, bool) {
	i, ok := s.lookup(id)
	if !ok {
		return nil, false
	}
	var r rec
	s.fill(&r, i)
	return s.appendRecord(nil, &r), true
}

func (r *rec) fact() Fact {
	return Fact{
		Index:         r.i,
		ID:            string(appendID(nil, r.id)),
		Time:          time.UnixMilli(r.ms).UTC(),
		VisibleAt:     time.UnixMilli(r.ms + r.lateMs).UTC(),
		UserName:      r.user,
		SourceIP:      string(r.ip),
		ObjectType:    r.objType,
		ObjectName:    r.objName,
		OperationType: r.op,
		Status:        r.status,
		Description:   string(r.desc),
		Duplicated:    r.dup,
		Malformed:     r.malformed,
		Hostile:       r.hostile,
	}
}
