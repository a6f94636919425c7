package detect

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// correlator holds the state of one correlation rule: per group (the
// group-by values), the matches not yet used by an alert, in event-time
// order.
type correlator struct {
	rule       *Rule
	c          *Correlation
	span       int64
	groupBy    []int
	field      int // value_count's field, else -1
	groups     map[string]*group
	standalone bool
	subs       []sub
}

type group struct {
	Entries []entry `json:"e"`

	// The distinct values (value_count) or rules (temporal) of the tail
	// window: entries tail.. up to the newest, all within the timespan of
	// it. Kept while events arrive in time order, so that the common
	// arrival costs O(1); rebuilt after anything else. Not saved.
	tail     int
	counts   map[string]int
	tailDone bool
}

// entry is one match fed to a correlation: an event, or the alert of a
// correlation it is chained to.
type entry struct {
	T      int64    `json:"t"`           // event time, unix ns
	Pos    int      `json:"p,omitempty"` // which of the correlation's rules matched
	Value  string   `json:"v,omitempty"` // value_count: the field's value
	Hashes []string `json:"h"`
	Users  []string `json:"u,omitempty"`
	IPs    []string `json:"i,omitempty"`
}

func newCorrelator(r *Rule, fs *fieldSet) *correlator {
	c := &correlator{rule: r, c: r.Correlation, span: int64(r.Correlation.Timespan), field: -1, groups: map[string]*group{}}
	for _, g := range r.Correlation.GroupBy {
		c.groupBy = append(c.groupBy, fs.add(g))
	}
	if r.Correlation.Field != "" {
		c.field = fs.add(r.Correlation.Field)
	}
	return c
}

// retention is how far behind the watermark a match is still kept.
func (c *correlator) horizon(e *Engine) int64 {
	return e.watermark - c.span - int64(e.opts.MaxLateness)
}

// groupKey is the group-by values of the current event, joined by 0x1f.
func (c *correlator) groupKey(e *Engine) (string, []GroupValue, bool) {
	var b strings.Builder
	gv := make([]GroupValue, 0, len(c.groupBy))
	for i, fi := range c.groupBy {
		v, ok := e.sc.fields[fi].key()
		if !ok {
			return "", nil, false
		}
		if i > 0 {
			b.WriteByte(0x1f)
		}
		b.WriteString(v)
		gv = append(gv, GroupValue{Field: c.c.GroupBy[i], Value: strings.Clone(v)})
	}
	return b.String(), gv, true
}

// add records a match of the rule at pos and returns the alert it
// completes, if any. See the package doc for the window semantics.
func (c *correlator) add(e *Engine, pos int, en entry) (Alert, bool) {
	if en.T < c.horizon(e) {
		e.stats.TooLate++
		return Alert{}, false
	}
	key, gv, ok := c.groupKey(e)
	if !ok {
		e.stats.Ungrouped++
		return Alert{}, false
	}
	en.Pos = pos
	if c.field >= 0 {
		v, ok := e.sc.fields[c.field].key()
		if !ok {
			e.stats.Ungrouped++
			return Alert{}, false
		}
		en.Value = strings.Clone(v)
	}
	g := c.groups[key]
	if g == nil {
		g = &group{}
		c.groups[key] = g
	}
	g.prune(c.horizon(e))
	// Insert after every entry of the same time: arrival order breaks ties.
	i, _ := slices.BinarySearchFunc(g.Entries, en.T+1, func(x entry, t int64) int {
		switch {
		case x.T < t:
			return -1
		case x.T > t:
			return 1
		}
		return 0
	})
	g.Entries = slices.Insert(g.Entries, i, en)

	var used []int
	if (c.c.Type == "value_count" || c.c.Type == "temporal") && i == len(g.Entries)-1 && !generalOnly {
		used = c.fireTail(g)
	} else {
		g.tailDone = false
		used = c.fire(g.Entries, i)
	}
	if used == nil {
		return Alert{}, false
	}
	g.tailDone = false
	set := make([]entry, len(used))
	for k, u := range used {
		set[k] = g.Entries[u]
	}
	g.Entries = removeAt(g.Entries, used)
	if len(g.Entries) == 0 {
		delete(c.groups, key)
	}
	return c.alert(e, key, gv, set), true
}

// fire looks for a set of entries that meets the threshold within the
// timespan and includes entry i (the newest arrival: before it arrived no
// set met the threshold, since every earlier set that did was used). It
// returns the indexes of the earliest such set, or nil.
func (c *correlator) fire(es []entry, i int) []int {
	need := c.c.Threshold
	switch c.c.Type {
	case "event_count":
		for j := max(0, i-need+1); j <= i; j++ {
			if k := j + need - 1; k < len(es) && es[k].T-es[j].T <= c.span {
				return span(j, k)
			}
		}
	case "value_count", "temporal":
		// Two pointers over the windows [j, end(j)] that can hold i, with
		// one count of the values in the current window.
		counts := map[string]int{}
		end := -1
		for j := 0; j <= i; j++ {
			if j > 0 && end >= j-1 {
				if v := c.distinct(es[j-1]); counts[v] == 1 {
					delete(counts, v)
				} else {
					counts[v]--
				}
			}
			if es[i].T-es[j].T > c.span {
				continue
			}
			if end < j-1 {
				end = j - 1
			}
			for end+1 < len(es) && es[end+1].T-es[j].T <= c.span {
				end++
				counts[c.distinct(es[end])]++
				if len(counts) >= need {
					return span(j, end)
				}
			}
			if len(counts) >= need {
				return span(j, end)
			}
		}
	case "temporal_ordered":
		for j := 0; j <= i; j++ {
			if es[i].T-es[j].T > c.span || es[j].Pos != 0 {
				continue
			}
			// Greedy: the earliest match of each step in turn.
			var used []int
			for k := j; k < len(es) && es[k].T-es[j].T <= c.span; k++ {
				if es[k].Pos == len(used) {
					used = append(used, k)
					if len(used) == need {
						if slices.Contains(used, i) {
							return used
						}
						break
					}
				}
			}
		}
	}
	return nil
}

// generalOnly turns the tail fast path off, for the test that holds the
// two to the same results.
var generalOnly = false

// distinct is what value_count and temporal count distinct of.
func (c *correlator) distinct(en entry) string {
	if c.c.Type == "temporal" {
		if en.Pos < len(posKeys) {
			return posKeys[en.Pos]
		}
		return strconv.Itoa(en.Pos)
	}
	return en.Value
}

var posKeys = func() []string {
	k := make([]string, 64)
	for i := range k {
		k[i] = strconv.Itoa(i)
	}
	return k
}()

// fireTail is fire for value_count and temporal when the new entry is the
// newest: the windows holding it all end with it, the widest (the tail
// window) has the most distinct values, so only its count matters.
func (c *correlator) fireTail(g *group) []int {
	es := g.Entries
	i := len(es) - 1
	if !g.tailDone {
		g.counts, g.tail = map[string]int{}, i
		for g.tail > 0 && es[i].T-es[g.tail-1].T <= c.span {
			g.tail--
		}
		for k := g.tail; k < i; k++ {
			g.counts[c.distinct(es[k])]++
		}
		g.tailDone = true
	}
	g.counts[c.distinct(es[i])]++
	for es[i].T-es[g.tail].T > c.span {
		v := c.distinct(es[g.tail])
		if g.counts[v] == 1 {
			delete(g.counts, v)
		} else {
			g.counts[v]--
		}
		g.tail++
	}
	if len(g.counts) >= c.c.Threshold {
		return span(g.tail, i)
	}
	return nil
}

func span(j, k int) []int {
	out := make([]int, 0, k-j+1)
	for x := j; x <= k; x++ {
		out = append(out, x)
	}
	return out
}

// removeAt removes the entries at the (ascending) indexes.
func removeAt(es []entry, idx []int) []entry {
	out := es[:0]
	next := 0
	for i := range es {
		if next < len(idx) && idx[next] == i {
			next++
			continue
		}
		out = append(out, es[i])
	}
	clear(es[len(out):])
	return out
}

func (g *group) prune(horizon int64) {
	n := 0
	for n < len(g.Entries) && g.Entries[n].T < horizon {
		n++
	}
	if n > 0 {
		g.Entries = slices.Delete(g.Entries, 0, n)
		if g.tail >= n {
			g.tail -= n // pruned entries were all before the tail window
		} else {
			g.tailDone = false
		}
	}
}

func (c *correlator) sweep(e *Engine) {
	h := c.horizon(e)
	for k, g := range c.groups {
		g.prune(h)
		if len(g.Entries) == 0 {
			delete(c.groups, k)
		}
	}
}

func (c *correlator) alert(e *Engine, key string, gv []GroupValue, set []entry) Alert {
	a := baseAlert(c.rule, e.opts.Ruleset)
	a.Type = c.c.Type
	a.Group = gv
	a.Start = time.Unix(0, set[0].T).UTC()
	a.Time = time.Unix(0, set[len(set)-1].T).UTC()
	for _, s := range set {
		a.Hashes = union(a.Hashes, s.Hashes)
		a.Users = union(a.Users, s.Users)
		a.IPs = union(a.IPs, s.IPs)
	}
	a.Count = len(a.Hashes)
	a.Hash = alertHash(c.rule.ID, key, a.Start)
	return a
}
