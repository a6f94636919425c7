// Package event turns one raw WSS audit record into one ECS event, and gives
// every record the hash that deduplication and the dead letter key on.
//
// # Parse: bytes to record
//
// Parse decodes a record as json.Decoder with UseNumber would (numbers keep
// their text) and hashes it: Hash is the SHA-256 of the record's canonical
// JSON (AppendCanonical: keys sorted by bytes, no whitespace, minimal string
// escapes, numbers as written). The same record re-sent with other key
// order, whitespace or escaping therefore hashes the same, which is what
// lets overlapping poll windows be deduplicated. A record that is not valid
// JSON still gets a hash, of its trimmed bytes, so the dead letter can
// deduplicate it too.
//
// # Map: record to ECS document
//
// Each fact (time, id, actor, source IP, object type and name, operation,
// outcome, message) is looked up under a list of candidate keys (Fields,
// defaults from DefaultFields). The first candidate holding a usable value
// wins: exact spellings first, then case-insensitive ones; a candidate may
// be a dotted path into nested objects. Usable means a non-blank string, a
// number or a bool (time: anything ParseTime accepts); objects, arrays and
// null fall through to the next candidate and are kept as unknown keys.
//
// The document follows ECS 8.11 (see ECSVersion) and the table in
// shared/ecs-mapping.md as refined by issue 18; classify.go says where and
// why it departs from the table, docs/ecs.md lists where each fact lands,
// and ecs_conformance_test.go checks simulated documents against the ECS
// field list in testdata/ecs-8.11-fields.tsv. Its keys come in a fixed order and it is always one line of valid
// JSON, whatever the record holds.
//
// Every record key that did not become an ECS field is kept under
// wss.audit with its own name and value. Collision rule: a key equal to one
// of the names this package writes there (object_type, object_name,
// operation_type, status, source_ip, raw), or starting with one of them and
// a dot, goes to wss.audit.raw.<key> instead. event.original always holds the
// record exactly as received.
//
// # Time
//
// ParseTime accepts RFC 3339 and its looser ISO 8601 cousins, date-only
// values, HTTP dates, and epoch numbers whose unit follows from magnitude:
// below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds,
// else nanoseconds. Times before 1990 or more than a year in the future
// (relative to now; for Map, relative to the read time) are rejected.
package event
