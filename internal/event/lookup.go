package event

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Finding a fact: every candidate is tried with its exact spelling first, in
// order; only when none of them holds a usable value are keys compared
// case-insensitively (a vendor that writes "UserName" or "TIMESTAMP" should
// not lose the fact). The case-insensitive pass indexes the record's keys once
// per record, and when two keys differ only in case the smaller one (byte
// order) wins, so the result never depends on map iteration order.

// foldHit says that a lower-cased key is candidate idx of fact f.
type foldHit struct {
	f   fact
	idx int
}

// foldMatch is a record key that matches candidate idx of fact f, ignoring case.
type foldMatch struct {
	f   fact
	idx int
	key string
}

func buildFoldIndex(facts *[numFacts][]candidate) map[string][]foldHit {
	idx := make(map[string][]foldHit)
	for f := range numFacts {
		for i, c := range facts[f] {
			if c.path == nil {
				k := strings.ToLower(c.key)
				idx[k] = append(idx[k], foldHit{f, i})
			}
		}
	}
	return idx
}

// foldMatches holds a record's case-insensitive key matches, the first few
// without allocating.
type foldMatches struct {
	n    int
	arr  [8]foldMatch
	more []foldMatch
}

func (fs *foldMatches) add(fm foldMatch) {
	if fs.n < len(fs.arr) {
		fs.arr[fs.n] = fm
		fs.n++
		return
	}
	fs.more = append(fs.more, fm)
}

// keysFor appends the record keys matching candidate idx of fact f to dst,
// smallest first.
func (fs *foldMatches) keysFor(dst []string, f fact, idx int) []string {
	for _, part := range [2][]foldMatch{fs.arr[:fs.n], fs.more} {
		for _, fm := range part {
			if fm.f == f && fm.idx == idx {
				dst = append(dst, fm.key)
			}
		}
	}
	slices.Sort(dst)
	return dst
}

// indexFold matches the record's keys against all candidates, once per
// record and only when a fact was not found by exact spelling.
func (r *mapped) indexFold(m *Mapper) {
	if r.foldReady {
		return
	}
	r.foldReady = true
	var buf [64]byte
	for k := range r.obj {
		var hits []foldHit
		if lk, ok := asciiLower(buf[:0], k); ok {
			hits = m.fold[string(lk)]
		} else {
			hits = m.fold[strings.ToLower(k)]
		}
		for _, h := range hits {
			r.fold.add(foldMatch{h.f, h.idx, k})
		}
	}
}

// asciiLower lower-cases an ASCII key into dst; ok is false for non-ASCII or
// long keys, which take the allocating path.
func asciiLower(dst []byte, s string) ([]byte, bool) {
	if len(s) > cap(dst) {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// each calls yield with every value the record holds for fact f, best
// candidate first: exact spellings, then case-insensitive ones. top is the
// top-level key that held the value when it is a whole top-level entry ("" for
// a value from inside a nested object), name the key to cite in errors. yield
// returns true to stop.
func (r *mapped) each(m *Mapper, f fact, yield func(v any, top, name string) bool) {
	cands := m.facts[f]
	for _, c := range cands {
		if v, ok := r.obj[c.key]; ok && yield(v, c.key, c.key) {
			return
		}
		if c.path != nil {
			if v, ok := walk(r.obj, c.path, false); ok && yield(v, "", c.key) {
				return
			}
		}
	}
	r.indexFold(m)
	var buf [4]string
	for i, c := range cands {
		if c.path != nil {
			if v, ok := walk(r.obj, c.path, true); ok && yield(v, "", c.key) {
				return
			}
			continue
		}
		for _, k := range r.fold.keysFor(buf[:0], f, i) {
			if k != c.key && yield(r.obj[k], k, k) {
				return
			}
		}
	}
}

// walk follows a dotted path through nested objects.
func walk(obj map[string]any, path []string, fold bool) (any, bool) {
	cur := obj
	for i, seg := range path {
		v, ok := cur[seg]
		if !ok && fold {
			v, ok = getFold(cur, seg)
		}
		if !ok {
			return nil, false
		}
		if i == len(path)-1 {
			return v, true
		}
		if cur, ok = v.(map[string]any); !ok {
			return nil, false
		}
	}
	return nil, false
}

// getFold finds key in obj ignoring case; among several matches the smallest
// key wins, for determinism.
func getFold(obj map[string]any, key string) (any, bool) {
	best, found := "", false
	for k := range obj {
		if strings.EqualFold(k, key) && (!found || k < best) {
			best, found = k, true
		}
	}
	if !found {
		return nil, false
	}
	return obj[best], true
}

// findScalar returns the first value of fact f that is a usable scalar.
func (r *mapped) findScalar(m *Mapper, f fact) found {
	// The common case, a plain key spelled exactly, needs no closure. A
	// dotted path hands over to each, which keeps the candidates' order.
	for _, c := range m.facts[f] {
		if c.path != nil {
			break
		}
		if s, ok := scalarString(r.obj[c.key]); ok {
			return found{val: s, key: c.key}
		}
	}
	var res found
	r.each(m, f, func(v any, top, _ string) bool {
		if s, ok := scalarString(v); ok {
			res = found{val: s, key: top}
			return true
		}
		return false
	})
	return res
}
