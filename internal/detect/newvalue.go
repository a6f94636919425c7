package detect

import (
	"container/heap"
	"strings"
)

// DefaultNewValueLimit is how many (group, value) pairs a new_value rule
// remembers at most, unless Options.NewValueLimit says otherwise.
const DefaultNewValueLimit = 100_000

// newValuer is the state of one new_value rule: the (group, value) pairs
// seen, each with the newest event time it was seen at, and a heap of
// them by that time, oldest first, for forgetting and eviction.
type newValuer struct {
	opt      *NewValue
	field    int
	groupBy  []int
	learn    int64
	history  int64
	limit    int
	started  bool
	start    int64 // event time of the first match judged: learning runs from it
	seen     map[string]*pair
	lru      pairHeap
	keyBuf   []byte
	fieldsID string // field and group-by, to notice an edited rule at Restore
}

type pair struct {
	key  string // group-by values and the value, 0x1f between
	last int64  // newest event time seen (unix ns)
	idx  int    // in the heap
}

func newNewValuer(nv *NewValue, fs *fieldSet, limit int) *newValuer {
	n := &newValuer{opt: nv, field: fs.add(nv.Field), learn: int64(nv.Learn), history: int64(nv.History), limit: limit, seen: map[string]*pair{}}
	for _, g := range nv.GroupBy {
		n.groupBy = append(n.groupBy, fs.add(g))
	}
	n.fieldsID = strings.Join(append([]string{nv.Field}, nv.GroupBy...), "\x1f")
	return n
}

// judge learns the current event's pair (at event time t) and reports
// whether it is new and past learning, with its key. A pair seen before
// (at any event time, earlier or later) never alerts again while it is
// remembered.
func (n *newValuer) judge(e *Engine, t int64) (key string, fire bool) {
	horizon := e.watermark - n.history
	for len(n.lru) > 0 && n.lru[0].last < horizon {
		p := heap.Pop(&n.lru).(*pair)
		delete(n.seen, p.key)
	}
	if t < horizon {
		// Older than the history: whether its value was seen before it
		// is forgotten already, so it can be judged neither way.
		e.stats.TooLate++
		return "", false
	}
	b := n.keyBuf[:0]
	for _, fi := range n.groupBy {
		v, ok := e.sc.fields[fi].key()
		if !ok {
			e.stats.Ungrouped++
			return "", false
		}
		b = append(append(b, v...), 0x1f)
	}
	v, ok := e.sc.fields[n.field].key()
	if !ok {
		e.stats.Ungrouped++
		return "", false
	}
	b = append(b, v...)
	n.keyBuf = b
	if !n.started {
		n.started, n.start = true, t
	}
	if p := n.seen[string(b)]; p != nil {
		if t > p.last {
			p.last = t
			heap.Fix(&n.lru, p.idx)
		}
		return "", false
	}
	if len(n.seen) >= n.limit {
		p := heap.Pop(&n.lru).(*pair)
		delete(n.seen, p.key)
		e.stats.Evicted++
	}
	p := &pair{key: string(b), last: t}
	n.seen[p.key] = p
	heap.Push(&n.lru, p)
	return p.key, t-n.start >= n.learn
}

// groupValues are the current event's group-by values and value, for
// its alert.
func (n *newValuer) groupValues(e *Engine) []GroupValue {
	gv := make([]GroupValue, 0, len(n.groupBy)+1)
	for i, fi := range n.groupBy {
		v, _ := e.sc.fields[fi].key()
		gv = append(gv, GroupValue{Field: n.opt.GroupBy[i], Value: strings.Clone(v)})
	}
	v, _ := e.sc.fields[n.field].key()
	return append(gv, GroupValue{Field: n.opt.Field, Value: strings.Clone(v)})
}

// pairHeap orders pairs by last seen, then key: a total order, so that
// eviction is the same after a Restore rebuilt the heap differently.
type pairHeap []*pair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].last != h[j].last {
		return h[i].last < h[j].last
	}
	return h[i].key < h[j].key
}
func (h pairHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *pairHeap) Push(x any) {
	p := x.(*pair)
	p.idx = len(*h)
	*h = append(*h, p)
}
func (h *pairHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}
