// Package splunkhec is the splunk_hec output: it sends batches of ECS
// events to a Splunk HTTP Event Collector, optionally waits for indexer
// acknowledgement, and tells the pipeline what became of each event.
//
// # Request
//
// One Write is one POST {url}/services/collector/event (more when a batch
// is split, below) with "Authorization: Splunk <token>" and a body of
// newline-separated event objects:
//
//	{"time":1732442400.123,"host":"fwd-1","source":"auditfwd","sourcetype":"symantec:wss:audit",
//	 "index":"wss","event":{...the ECS document as it is...},
//	 "fields":{"event.hash":"…","event.action":"…","event.outcome":"…","labels.source":"…"}}
//
// time is the event's @timestamp in epoch seconds with milliseconds; index
// is left out when not configured (the token's default index); fields
// (indexed fields, fields: false leaves them out) carry the dedup hash, so
// `event.hash::<hex>` finds an event in Splunk without a search-time
// extraction. With gzip the body is sent with Content-Encoding: gzip.
//
// # Answers
//
// HEC answers {"text":"...","code":N}. Write classifies:
//
//	200 (code 0)                          delivered (with ack: once acknowledged)
//	400 codes 5,6,12,13,15 and others     the events are bad: the batch is halved until
//	                                      the bad events are alone; those are Permanent,
//	                                      the rest delivered (BatchError; one event: Permanent)
//	400 code 7 (incorrect index),         the request is wrong, not the events: whole batch
//	    10/11 (channel), 16               retried (a config error; no dead letters)
//	400 code 14 (ACK is disabled)         ErrAckDisabled, whole batch retried
//	401 (codes 2,3), 403 (codes 1,4)      ErrToken, whole batch retried: the queue is kept
//	                                      until the token is fixed; the token is never in
//	                                      an error
//	413                                   halved until it fits; one event too large: Permanent
//	429, 503 (code 9 busy, 18/19)         RetryAfterError with Retry-After, else plain retry
//	other 5xx, other statuses, no answer  whole batch retried
//
// Splunk accepts or refuses a request as a whole, so a split only resends
// items that were not indexed. Once a split request meets a retryable
// failure nothing more is sent: the items not yet delivered go in
// BatchError.Retry, with the server's Retry-After.
//
// # Indexer acknowledgement (ack: true)
//
// Every request carries X-Splunk-Request-Channel: <channel>. The reply's
// ackId is polled with POST /services/collector/ack {"acks":[ids]} every
// ack_poll_interval until Splunk answers true for each; only then does
// Write return nil, so the pipeline dequeues only indexed events. A 200
// without an ackId (the token has acknowledgement off) is ErrAckDisabled.
//
// Duplicate window: when no ack comes within ack_timeout (counted from the
// end of the sending), or the acks are lost (Splunk restarted and forgot
// the channel, so /ack answers false until the timeout, or 400 code 10/11),
// Write returns a retryable error (ErrAckTimeout for the timeout) and the
// pipeline resends the batch. If the
// indexer had in fact indexed it (slow, or the ack was lost) the events
// are indexed twice; their indexed event.hash field makes them easy to
// dedup at search time (`| dedup event.hash`). Acknowledgement makes
// delivery at-least-once, never exactly-once.
//
// The channel should be stable per output: Splunk keeps ack state per
// channel. When none is configured New generates a random v4 GUID; the
// caller should save Channel() in the output's state and give it back with
// SetChannel after a restart.
//
// # Check
//
// Check (auditfwd check) writes nothing: GET /services/collector/health
// (200 code 17 healthy, 503 codes 18/19 not); then an empty POST to
// /services/collector/event, which Splunk answers 400 "No data" (code 5)
// when the token is valid and 401/403 when it is not (a target that checks
// no token, like VictoriaLogs, answers 200); with ack, POST
// /services/collector/ack {"acks":[0]} on the channel, which answers 400
// code 14 when the token has acknowledgement off.
//
// # Peers
//
// VictoriaLogs implements the event and health endpoints for real (no
// token check, no /ack) and is the integration test's peer; everything
// else is tested against a stand-in answering as Splunk documents.
package splunkhec
