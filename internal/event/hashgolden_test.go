package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// hashGoldenEntry is one class of testdata/hash-golden.json: every record
// of it (records as text, records_hex as bytes, for the ones that are not
// valid UTF-8) hashes to sha256, the SHA-256 of canonical; canonical is null
// for a record that is not valid JSON, which is hashed as its trimmed bytes.
type hashGoldenEntry struct {
	Name       string   `json:"name"`
	Records    []string `json:"records"`
	RecordsHex []string `json:"records_hex"`
	Canonical  *string  `json:"canonical"`
	SHA256     string   `json:"sha256"`
}

// TestHashGolden pins record hash v1 (docs/hash.md): the hash is the dedup
// key in every seen-set and the event.hash every SIEM holds, so a digest
// that changes resends every record after an upgrade. There is no -update
// for this file on purpose: a failure here means the canonical form changed,
// which needs a new hash version and a migration, not a new golden file.
// A new entry is added with an empty sha256 and canonical; the failure
// prints the values to fill in.
func TestHashGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/hash-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []hashGoldenEntry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		t.Fatalf("hash-golden.json: %v", err)
	}
	if len(entries) < 50 {
		t.Fatalf("%d entries: the golden file lost its classes", len(entries))
	}
	byDigest := map[string]string{}
	for _, e := range entries {
		recs := append([]string(nil), e.Records...)
		for _, h := range e.RecordsHex {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("%s: records_hex %q: %v", e.Name, h, err)
			}
			recs = append(recs, string(b))
		}
		if len(recs) == 0 {
			t.Fatalf("%s: no record", e.Name)
		}
		// Distinct classes must stay distinct: two spellings the contract
		// says differ (1 and 1.0) must not start hashing alike either.
		if other, dup := byDigest[e.SHA256]; dup {
			t.Errorf("%q and %q have the same digest: one class, or a collision", other, e.Name)
		}
		byDigest[e.SHA256] = e.Name
		for i, r := range recs {
			checkHashGolden(t, e, i, []byte(r))
		}
	}
}

func checkHashGolden(t *testing.T, e hashGoldenEntry, i int, rec []byte) {
	t.Helper()
	want := e.SHA256
	// The one-pass text hash (what the poller uses), Parse's hash and the
	// decode-then-AppendCanonical reference must all give the pinned digest.
	h := Hash(rec)
	p, _ := Parse(rec)
	ref := referenceHash(rec)
	for _, got := range []struct {
		path string
		h    [32]byte
	}{{"Hash", h}, {"Parse", p.Hash}, {"reference", ref}} {
		if hex.EncodeToString(got.h[:]) != want {
			t.Errorf("%s, record %d %q: %s gives %x, pinned %s", e.Name, i, rec, got.path, got.h, want)
		}
	}

	trimmed := bytes.TrimSpace(rec)
	w := canonWriters.Get().(*canonWriter)
	defer w.release()
	var canon *string
	if w.canonicalize(string(trimmed)) {
		c := string(w.out)
		canon = &c
		v, err := decodeRecord(string(trimmed))
		if err != nil || !bytes.Equal(AppendCanonical(nil, v), w.out) {
			t.Errorf("%s, record %d: the one-pass canonical form differs from AppendCanonical's (%v)", e.Name, i, err)
		}
	}
	switch {
	case (canon == nil) != (e.Canonical == nil) || (canon != nil && *canon != *e.Canonical):
		t.Errorf("%s, record %d %q: canonical form %s, pinned %s", e.Name, i, rec, show(canon), show(e.Canonical))
	case canon != nil:
		if sum := sha256.Sum256([]byte(*canon)); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: the pinned digest is not SHA-256 of the pinned canonical form", e.Name)
		}
	default:
		if sum := sha256.Sum256(trimmed); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: invalid JSON must hash as its trimmed bytes", e.Name)
		}
	}
}

func show(s *string) string {
	if s == nil {
		return "null (not valid JSON: hashed as its trimmed bytes)"
	}
	b, _ := json.Marshal(*s)
	return string(b)
}
