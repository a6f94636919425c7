// Package splunkhec is the splunk_hec output: it sends batches of ECS
// events to a Splunk HTTP Event Collector, optionally waits for indexer
// acknowledgement, and tells the pipeline what became of each event.
//
// # Request
//
// A Write sends its batch as POST {url}/services/collector/event requests
// of at most max_request_bytes (default 1 MiB, uncompressed; an event
// larger than that goes alone), up to max_in_flight (default 8) of them at
// once, each with "Authorization: Splunk <token>" and a body of
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
// items that were not indexed. Once a request meets a retryable failure
// nothing more is sent: the requests already in flight are answered and
// classified (their items delivered, refused or retried), the items not
// delivered go in BatchError.Retry, with the largest Retry-After.
//
// # Indexer acknowledgement (ack: true)
//
// Every request carries X-Splunk-Request-Channel: <channel>. The ackIds of
// all the batch's requests are polled together, one POST
// /services/collector/ack {"acks":[ids]} per ack_poll_interval (the first
// one ack_poll_interval after the last request is answered), until Splunk
// answers true for each, in whatever order; only then does Write return,
// so the pipeline moves the delivery mark only over indexed events. A 200
// without an ackId (the token has acknowledgement off) is ErrAckDisabled.
//
// Throughput: a batch costs about the acknowledgement delay plus one poll
// interval, however many requests it took. Write is safe for concurrent
// use (outputs.Concurrent), and with ack: true the pipeline keeps
// batch.max_in_flight 8 batches of batch.max_events 2500 (batch.max_bytes
// 4MiB) going at once (1, 500 and 5MiB otherwise), moving the delivery
// mark over the acknowledged prefix, in order: against acks that take 1 s
// that is about 15,000 events/s, and a lost ack holds only its own batch
// (pipeline BenchmarkHECAckedDrain). Memory: the batches in flight, and up
// to max_in_flight request bodies for each.
//
// Duplicate window: when no ack comes within ack_timeout (counted from the
// end of the sending), or the acks are lost (Splunk restarted and forgot
// the channel, so /ack answers false until the timeout), the items of the
// requests still unacknowledged are retried (BatchError.Retry;
// ErrAckTimeout) and the others count as delivered; a 400 code 10/11 on
// /ack (the channel is gone, with all its acks) retries the whole batch.
// If the indexer had in fact indexed them (slow, or the ack was lost) the
// events are indexed twice; their indexed event.hash field makes them
// easy to dedup at search time (`| dedup event.hash`). Acknowledgement
// makes delivery at-least-once, never exactly-once. A lost ack holds its
// batch for ack_timeout (default 60s); the other batches in flight go on,
// and the delivery mark waits for it.
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
