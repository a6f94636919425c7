// Package elasticsearch delivers events to Elasticsearch (8.x; 7.x with the
// product header) with the bulk API, idempotently.
//
// # Delivery
//
// Every document is sent with its own action line:
//
//	{"create":{"_index":"logs-wss.audit-default","_id":"<event.hash>"}}
//	{...the ECS document...}
//
// The default target is the data stream logs-wss.audit-default, which
// Elastic Security's default logs-* index patterns, its authentication views
// and its ML jobs read (docs/ecs.md). _id is the event's record hash, and
// op_type create refuses a second document with that _id (409). A dated
// index (wss-audit-%{+yyyy.MM.dd}) is computed from the event's own
// @timestamp, never from the clock, so a redelivered event goes to the same
// index and meets its first copy. Redelivery after a crash between a bulk
// reply and the queue's delivery mark is therefore harmless: the cluster
// holds each record once. (With op_type index a repeat overwrites the same
// _id instead: still once, but a version bump.)
//
// The request goes to /_bulk, with no index in the path: every action line
// names its index. Write returns nil only when every document's result is
// 200/201, or 409 for create, which the pipeline may treat as durable: a
// bulk item's success means the translog has it (index.translog.durability
// defaults to request).
//
// # What each reply means
//
// Per item (a 200 reply is read item by item whatever its "errors" says):
//   - 200, 201: in. 409 with create: already in, from an earlier delivery.
//   - 429, 5xx: that item is retried (BatchError.Retry).
//   - any other 4xx (mapping errors, a missing pipeline's 400, ...): refused
//     for good (BatchError.Permanent) with Elasticsearch's type and reason;
//     it goes to the output's dead letter.
//   - anything else (status 0, an item with no action): retried, never
//     taken as success.
//
// A reply whose item count differs from the request's is not trusted: the
// whole request is retried. For the whole request:
//   - 413: the request is halved and each half sent, recursively; a single
//     document still too large is refused for good. Halves already in
//     stay in; a half that fails later is retried item by item.
//   - 429, 503 with Retry-After: RetryAfterError; without it, a plain error.
//   - 401, 403: an error wrapping ErrAuth that names the credential problem
//     (never the credential). The batch stays queued.
//   - connection refused, timeout, any other status: a plain error; the
//     pipeline retries the whole batch with back-off. A refused connect is
//     tried at once on the next address first (nothing was sent).
//
// The client's own retries are off: retries, back-off and Retry-After are
// the pipeline's.
//
// # Why not esutil.BulkIndexer
//
// The issue asked for esutil.BulkIndexer. Read (v8.19.7), it does not fit
// a per-batch durable acknowledgement:
//   - on a whole-request failure it reports fmt.Errorf("flush: %s",
//     res.String()) to every item: the status code and the Retry-After
//     header are gone, so 413 (split), 429+Retry-After and 401 cannot be
//     told apart without parsing the message;
//   - it ranges over the reply's items: items missing from a short reply
//     get neither OnSuccess nor OnFailure (the silent drop of Vector issues
//     140 and 25799), and a longer reply indexes past its slice;
//   - it flushes from worker goroutines on size and timer, so one batch
//     may become several requests in flight, and Write would have to wait
//     for callbacks from all of them; the pipeline already sizes batches.
//
// So Write builds the NDJSON body itself (one pooled buffer, no JSON
// re-encoding of the documents) and sends it with the client's Bulk API
// (esapi.BulkRequest), which keeps the client's node pool, auth, gzip and
// the Elasticsearch product check.
//
// # Setup and Check
//
// With setup.template, the first Write installs the ingest pipeline
// <template_name>-ingested, which sets event.ingested from the ingest
// timestamp (the mapper writes only event.created, the read time), and then
// a composable index template (a data stream template when the index is a
// data stream) holding the ECS mappings of mappings.json, with the pipeline
// as index.final_pipeline; unless a template of that name exists
// (setup.overwrite replaces it). Check (auditfwd check) reads the cluster info, who the
// credentials are, whether they hold create_doc on the index, and the
// index's write blocks, and writes nothing.
//
// # Elasticsearch-compatible targets
//
// headers and query_params reach targets that speak the bulk API with
// extra parameters. VictoriaLogs, the real peer of the integration test,
// needs _msg_field=message and _time_field=@timestamp; it ignores _index and
// _id, so it keeps repeats (it answers 201 to everything).
//
// # Tests: which peer is real
//
// integration_test.go indexes 5,000 events through this output into a real
// VictoriaLogs (built by scripts/peers/victorialogs.sh from its own module,
// tools/victorialogs) and reads back the exact count and fields; it also
// measures throughput (BenchmarkIntoVictoriaLogs). VictoriaLogs answers 201
// to every item, so the error paths (409, 429 and 503 items, 400 mapping
// errors, whole-request 413/429/401/403, short replies, security and
// privilege checks) run against fakees_test.go, an httptest stand-in that
// answers with Elasticsearch 8's status codes, headers and JSON bodies.
package elasticsearch
