// Package detect is auditfwd's in-agent detection engine: it evaluates
// Sigma rules (detections and correlations) on every new ECS event and
// turns what fires into alerts that are ECS documents themselves.
//
// # Loading
//
// ParseFile and LoadFS read rule files (YAML, several documents per file
// allowed); New compiles them into an Engine. A rule that uses a feature
// this engine does not implement is refused with its file and line (a
// *LoadError), never evaluated differently than written; New returns every
// refusal at once. Each rule needs an id (alert hashes and the correlation
// state key on it). Attributes outside the specification are kept in
// Rule.Extra, the `custom:` map in Rule.Custom; the engine acts on
// neither, except on custom.auditfwd (see Engine options), where every
// key is checked at load. A detection's logsource must be one of
// Options.Logsources (default: product broadcom_wss, service audit, which
// is event.dataset wss.audit; category proxy, alone or of product
// broadcom_wss, and product broadcom_wss service access, which are
// event.dataset wss.access), or the rule is refused.
//
// # Detection semantics
//
// Fields are dotted paths into the event's JSON document (event.action,
// wss.audit.object_type); a key that itself holds dots is read the same
// way. A field that is an array matches when any element does. A search
// identifier is a map (AND of its fields), a list of maps (OR), or a list
// of plain values (keywords, OR): keywords are searched as substrings of
// message and event.original (the record as received), the fields that
// together hold every value of an event.
//
// Values: plain strings match the whole field value, case-insensitively
// (strings.ToLower folding) unless |cased; `*` and `?` (one character)
// are wildcards; a backslash escapes `*`, `?` and itself, any other
// backslash is literal (so C:\Windows is as written). A list of values is
// their OR, with |all their AND. A number in the rule equals a numeric
// field value numerically (4624 equals 4624.0), else compares as text;
// booleans compare as true/false. null matches a field that is absent or
// null; ” matches an empty string only.
//
// Modifiers: contains, startswith, endswith, all, cased, exists (present,
// even when null), re (Go RE2 syntax, case-sensitive, with the i, m and s
// sub-modifiers; PCRE look-around or back-references are refused at load),
// cidr (IPv4 and IPv6; an IPv4-mapped IPv6 address matches IPv4 ranges),
// lt/lte/gt/gte (the field as a number, numeric strings included), base64
// and base64offset (the encoded forms compare case-sensitively, since
// base64 is). Refused: windash, utf16/utf16le/utf16be/wide, expand,
// fieldref, neq, the time modifiers (minute ... year).
//
// Conditions: and, or, not, parentheses, `1 of pattern`, `all of
// pattern` (`*` wildcards over identifier names), `1 of them`, `all of
// them` (them leaves out identifiers starting with `_`); a list of
// conditions is their OR. Precedence from loosest: or, and, not, x of,
// parentheses; keywords are case-insensitive. Unknown identifiers,
// patterns matching nothing, `N of` with N other than 1, Sigma v1
// aggregations (`| count()`, timeframe) and `near` are refused.
//
// # Correlation semantics
//
// event_count (count of matches), value_count (distinct values of
// field), temporal (distinct referenced rules; all of them unless the
// condition asks fewer) and temporal_ordered (the referenced rules in
// their listed order) are supported, with group-by and timespan; the
// condition is a lower bound (gte or gt). Upper bounds (lt, lte, eq) are
// refused: the engine alerts when a threshold is reached, and an upper
// bound can only be judged once a window has closed. aliases and the
// value_sum/avg/percentile/median types are refused. A correlation may
// refer to another (the specification's chained example); cycles are
// refused.
//
// Time is event time (the eventTime given to Evaluate), never the wall
// clock. Per (rule, group) the engine keeps the matches not yet used by an
// alert, ordered by event time, whatever order they arrive in. A
// correlation fires when a set of them within one timespan (newest minus
// oldest <= timespan: a sliding window, not fixed buckets) meets the
// threshold; the earliest such set is used. Its matches are then consumed:
// a burst that goes on fires again only after a new full threshold of
// matches. So an alert fires once per (rule, group, window), and its Hash
// (SHA-256 of rule id, group key, window start = its first match's time)
// is the same however often the same events are replayed.
//
// Late events: an event correlates fully if it is at most
// Options.MaxLateness (default 15m) behind the newest event time seen
// (the watermark). Matches are kept for timespan + MaxLateness behind the
// watermark; older matches, and groups left empty, are dropped at sweeps
// every minute of event time, so memory is bounded by the event rate over
// that retention. A match that arrives already older than that is not
// correlated and is counted (Stats.TooLate). A match lacking a group-by
// field (or value_count's field) joins no group and is counted
// (Stats.Ungrouped), as a SIEM's "stats by" leaves it out. The watermark
// never moves more than five minutes past the wall clock, so one
// future-dated event cannot expire every group.
//
// Which rules alert: a rule alerts on its own unless a correlation refers
// to it; then only if one such correlation says `generate: true` (the
// specification's default: only the correlation alerts).
//
// # Engine options
//
// Two things plain Sigma cannot say are rule options under
// custom.auditfwd (a detection rule's; a correlation's are refused, and
// so is any unknown key, with its file and line: a typo must not turn
// the rule into a plain one that fires on every match).
//
// new_value: {field, group-by, learn, history} fires when the rule
// matches and the (group-by values, field value) pair has not been seen,
// like Elastic's "new terms" rule type over field and group-by together.
// For learn (event time) from the first event the rule judged, pairs are
// only learned. After it every new pair alerts, a group never seen
// included (a new admin signing in is worth an alert). A pair seen
// before, at any event time, does not alert again: an older event
// arriving late after its value alerted stays quiet, and a new value
// arriving late alerts with its own time. A pair not seen for history
// (default 90d) behind the watermark is forgotten; an event already older
// than that is not judged (Stats.TooLate), one lacking a field joins no
// group (Stats.Ungrouped). At most Options.NewValueLimit pairs (default
// 100,000) are kept per rule: past it the least recently seen is
// forgotten (Stats.Evicted) and alerts as new if seen again. The alert's
// Type is new_value, its Group the group-by fields and the field, its
// Hash SHA-256 of rule id, pair and event time.
//
// outside_business_hours: true fires only when the event time lies
// outside Options.BusinessHours (time zone, days, hours; a period may
// cross midnight, it then belongs to the day it starts on). Without
// configured hours the engine uses StandardBusinessHours (Monday to
// Friday, 08:00-18:00 UTC) rather than refuse the rule, so the demo runs;
// Engine.DefaultBusinessHours reports it for the caller to warn. A rule
// with both options learns and judges only the events outside business
// hours.
//
// # Overrides
//
// Options.Disabled and Options.Levels turn rules off and change their
// level, keyed by rule id or rule file name without .yml (RuleKeys). A
// disabled rule is not compiled nor evaluated. A key naming no rule, and a
// level that is not a Sigma level, are errors: a typo must not silently
// keep a noisy rule on. A correlation left referring to a disabled rule is
// refused (with its file and line) rather than disabled along: taking a
// correlation away must be said, not be a side effect.
//
// # Durable state
//
// State returns every pending match, what new_value rules learned and the
// watermark as deterministic JSON; Restore takes it back (after a restart, from the same state
// transaction as the checkpoint). Replaying the events after the
// checkpoint then rebuilds the same alerts with the same hashes: a crash
// neither loses a half-built burst nor, given the outputs' deduplication
// by event.hash, delivers an alert twice. Matches and values of rules no
// longer loaded, and the values of a new_value rule whose field or
// group-by changed, are reported by Restore (RestoreReport), not silently
// lost. State writes version 2; Restore reads 1 (before new_values) too.
//
// # Alerts
//
// Alert.ECS renders an alert as one line of ECS JSON: event.kind alert,
// @timestamp the last triggering event's time, rule.* from the rule,
// event.severity and event.risk_score from the level (informational 1/1,
// low 2/21, medium 3/47, high 4/73, critical 5/99; no level is medium; the
// risk scores are Elastic's), threat.* from the attack.* tags (tactics by
// name, techniques and sub-techniques by id), related.hash the event.hash
// of every triggering event, related.user and related.ip, event.hash the
// alert's Hash. The document depends on the alert alone, no clock.
//
// # Cost
//
// The rules' field set is collected at load; Evaluate reads the document
// in one pass, decoding only those fields (and skipping the strings it
// does not read at memchr speed, without checking their insides: the
// documents are the normalizer's own, always valid JSON). A document that
// is not a JSON object is not evaluated and is counted (Stats.Malformed).
// BenchmarkEvaluate measures a 23-rule pack (both engine options
// included) over the golden documents. The options cost nothing for an
// event their rule does not match; for one it does, a time-zone
// conversion, or one map lookup by a key built in a reused buffer.
package detect
