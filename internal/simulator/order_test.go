package simulator

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestOrderIsAPermutation(t *testing.T) {
	s, err := New(Config{Start: day0, End: day3, Records: 10, Shuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 16, 17, 100, 1000, 4097} {
		var first []int
		for seq := uint64(1); seq <= 3; seq++ {
			o := s.orderFor(n, seq)
			got := make([]int, n)
			hit := make([]bool, n)
			for k := range got {
				got[k] = o.at(k)
				if got[k] < 0 || got[k] >= n || hit[got[k]] {
					t.Fatalf("n=%d seq=%d: position %d out of range or repeated", n, seq, got[k])
				}
				hit[got[k]] = true
			}
			if seq == 1 {
				first = got
			} else if n >= 5 && slices.Equal(got, first) {
				t.Errorf("n=%d: requests 1 and %d walk the window in the same order", n, seq)
			}
		}
	}
}

// The same window, fetched again, holds the same entries in another order;
// a duplicate still follows its record, and so does a malformed entry.
func TestShuffleServesSameWindowInNewOrder(t *testing.T) {
	cfg := baseConfig()
	cfg.DuplicateRate, cfg.MalformedRate = 0.05, 0.05
	plain, plainSrv := startSim(t, cfg)
	cfg.Shuffle = true
	s, srv := startSim(t, cfg)
	window := days(day1, day1)

	_, want := get(t, plainSrv, window)
	wantEntries := raws(entries(t, "array", want))
	var orders [][]string
	for range 3 {
		_, body := get(t, srv, window)
		got := raws(entries(t, "array", body))
		if !sameMultiset(got, wantEntries) {
			t.Fatalf("a shuffled response holds other entries than the time-ordered one (%d vs %d)", len(got), len(wantEntries))
		}
		orders = append(orders, got)
		for k, e := range got {
			d := decodeEntry(json.RawMessage(e))
			f, ok := plain.Fact(d.id)
			if !d.ok || !ok {
				// A malformed entry: the one before it is its record, or
				// that record's duplicate.
				if k == 0 {
					t.Fatal("a malformed entry opens the response")
				}
				prev := decodeEntry(json.RawMessage(got[k-1]))
				if pf, ok := s.Fact(prev.id); !prev.ok || !ok || !pf.Malformed {
					t.Fatalf("malformed entry %d does not follow its record", k)
				}
				continue
			}
			if f.Duplicated && (k+1 == len(got) || got[k+1] != e) && (k == 0 || got[k-1] != e) {
				t.Fatalf("record %s is served twice, but not back to back", f.ID)
			}
		}
	}
	if slices.Equal(orders[0], orders[1]) || slices.Equal(orders[1], orders[2]) {
		t.Fatal("the same window came back in the same order")
	}
	if slices.Equal(orders[0], wantEntries) {
		t.Fatal("a shuffled response is in time order")
	}
	// Without Shuffle the order is the time order, every time.
	if _, again := get(t, plainSrv, window); string(again) != string(want) {
		t.Fatal("an unshuffled window changed between two requests")
	}

	// A truncated shuffled response still cuts mid-record, half way.
	s.InjectFault(Fault{Truncate: true})
	_, body := get(t, srv, window)
	if json.Valid(body) {
		t.Fatal("a truncated shuffled response is valid JSON")
	}
	if log := s.Requests(); !log[len(log)-1].Truncated {
		t.Fatalf("log = %+v", log[len(log)-1])
	}
}

func raws(in []json.RawMessage) []string {
	out := make([]string, len(in))
	for i, r := range in {
		out[i] = string(r)
	}
	return out
}

func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
