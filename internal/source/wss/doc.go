// Package wss is the client for the Broadcom WSS (Cloud SWG) audit-log REST API.
//
// A Client performs exactly one attempt for one time window: one GET, and a
// streaming decode of the body that hands every record to a callback as raw
// JSON. Retries, backoff, rollback and commit belong to the caller, which
// decides with Retryable and the typed errors (AuthError, RateLimitError,
// StatusError, BodyError, LimitError) what to do next.
//
// A hostile or broken server costs bounded memory and time: a record over
// max_record_bytes or max_record_depth is read past in constant memory and
// reported as a SkippedRecord (FetchTo), and one response is bounded by
// window_timeout and max_window_records.
//
// The API is only partly documented (see the project's WSS API notes);
// every assumption about it (path, parameter names, date format,
// where the records sit in the body) is a Config field.
package wss

import "time"

// Retention is how far back the WSS API keeps audit records (one year, KB
// 169161): nothing older can be fetched, so a start before it is clamped.
const Retention = 365 * 24 * time.Hour
