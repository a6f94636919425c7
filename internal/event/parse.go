package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Parsed is one raw record as received.
type Parsed struct {
	Raw  []byte         // bytes as received, surrounding whitespace trimmed (aliases Parse's argument)
	Obj  map[string]any // decoded with json.Decoder.UseNumber(); nil when the record is not an object
	Hash [32]byte       // SHA-256 of the canonical form (see AppendCanonical)

	// raw is Raw as a string, the one copy that Obj's strings share; Map
	// writes it as event.original without another copy. It is "" in a
	// Parsed built by hand, and Map then converts Raw.
	raw string
}

// Parse decodes one record (one JSON value taken from the response array).
//
// Hash is always set, also on error, so that even a broken record can be
// deduplicated in the dead letter: it is the SHA-256 of the canonical form
// when raw is valid JSON of any type, else the SHA-256 of the trimmed bytes.
// (Invalid bytes can never equal a canonical form, so the two cannot collide.)
//
// The error, a *RecordError, says why the record is unusable: raw is not
// valid JSON, or is valid JSON but not an object.
//
// Raw aliases raw: the caller must not reuse raw's buffer while the Parsed is
// alive. Copying every record would cost an allocation for a buffer that
// callers (json.RawMessage from a decoder) already own exclusively.
func Parse(raw []byte) (Parsed, error) {
	return ParseHashed(raw, Hash(raw))
}

// ParseHashed is Parse for a record whose hash, Hash(raw), is known
// already: the caller looked it up in the seen-set first.
func ParseHashed(raw []byte, hash [32]byte) (Parsed, error) {
	raw = bytes.TrimSpace(raw)
	p := Parsed{Raw: raw, Hash: hash}
	if len(raw) == 0 {
		return p, recordErr("invalid JSON: empty record")
	}
	str := string(raw)
	v, err := decodeRecord(str)
	if err != nil {
		return p, recordErr("invalid JSON: " + describeJSONError(err))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return p, recordErr("record is " + jsonKind(v) + ", not an object")
	}
	p.Obj = obj
	p.raw = str
	return p, nil
}

// decodeUseNumber decodes exactly one JSON value from b with encoding/json.
// Unlike a bare Decoder.Decode it rejects trailing bytes, so "{} {}" is not a
// record. Parse uses the faster decodeRecord; this is the reference it is
// tested against, and AppendCanonical's path for foreign types.
func decodeUseNumber(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Only JSON's own whitespace may follow; bytes.TrimSpace would also
	// allow \v, \f and Unicode spaces.
	for _, c := range b[dec.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return fmt.Errorf("trailing data after the JSON value at byte %d", dec.InputOffset())
		}
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, errTruncated), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated (unexpected end of input)"
	case errors.As(err, &syn):
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	return err.Error()
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "JSON null"
	case string:
		return "a JSON string"
	case json.Number:
		return "a JSON number"
	case bool:
		return "a JSON boolean"
	case []any:
		return "a JSON array"
	case map[string]any:
		return "a JSON object"
	}
	return fmt.Sprintf("a %T", v)
}
