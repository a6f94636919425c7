// Package kafka produces events to Apache Kafka, one message per event,
// with segmentio/kafka-go's Writer.
//
// # Delivery
//
// Write returns nil only when the brokers acknowledged every message of the
// batch with acks=all (required_acks: all, the default): every in-sync
// replica has it. The writer is synchronous (never Async, which drops
// errors); the pipeline moves the queue's delivery mark only after that.
// The output is at-least-once: a crash between the acknowledgement and the
// mark, a Write that timed out after the brokers appended, or a retry of
// items whose first attempt did land, all send an event again. Each message
// carries the record hash as its key (by default) and in the auditfwd-hash
// header, so a consumer can drop repeats; the key also keeps every copy of a
// record on one partition.
//
// A message is: value = the ECS document, key = the key setting, time =
// the event's @timestamp, headers auditfwd-source (labels.source),
// auditfwd-dataset (event.dataset) and auditfwd-hash.
//
// Each Write waits at most timeout. The producer connects lazily on the
// first Write; after a failed Write it is dropped, so the next Write starts
// with fresh connections and fresh metadata (kafka-go otherwise keeps
// routing to a dead leader from its metadata cache for up to 6 s).
//
// # Failures
//
// The rule: an event is refused for good (dead letter, counted) only for a
// reason that belongs to the event; whatever the cluster or its operator
// can fix is retried, the events staying in the output's queue, so nothing
// has to be replayed from a dead letter once it is fixed.
//
//	what                                                how Write reports it
//	--------------------------------------------------  ------------------------------------------
//	every message acknowledged                          nil
//	event over max_message_bytes (measured as kafka-go  BatchError.Permanent[i]
//	  does: key, value, headers, record overhead)
//	topic/key field missing, empty, or not a string,    BatchError.Permanent[i]
//	  number or bool; rendered topic name illegal
//	broker: MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE    sent again alone; still refused alone:
//	                                                      Permanent[i]
//	broker: INVALID_TOPIC_EXCEPTION, INVALID_RECORD,    BatchError.Permanent[i]
//	  INVALID_TIMESTAMP (per partition)
//	broker, per partition: NOT_LEADER, LEADER_NOT_      BatchError.Retry (that partition's events)
//	  AVAILABLE, REQUEST_TIMED_OUT, NOT_ENOUGH_
//	  REPLICAS*, KAFKA_STORAGE_ERROR, CORRUPT_MESSAGE,
//	  any other or unknown code
//	topic missing (auto-creation off or refused),       retry (the topic's events), the error
//	  TOPIC_AUTHORIZATION_FAILED, SASL failure,           saying what to create, grant or check
//	  UNSUPPORTED_COMPRESSION_TYPE
//	broker unreachable, connection reset, no answer     retry
//	  within timeout, context cancelled
//
// When every event is to be retried the error is a plain one (the pipeline
// retries the whole batch); when some are delivered or refused it is an
// *outputs.BatchError naming each. kafka-go reports per-message errors in
// kafka.WriteErrors, aligned with the messages of one WriteMessages call;
// the output makes one call per topic (a call fails as a whole when its
// topic's metadata is bad, and one missing topic must not hold back the
// others) and maps the results back to batch indexes.
//
// A missing topic is retried rather than refused because creating it is
// the fix, and events refused meanwhile would all need replaying; the
// error says so on every retry (and Check reports it before the first).
//
// # Tests
//
// The tests run against kfake (github.com/twmb/franz-go/pkg/kfake), an
// in-process implementation of Kafka's wire protocol on 127.0.0.1: a
// protocol-level stand-in, not Apache Kafka. Differences that matter here:
// a rejected SASL password makes kfake close the connection (Apache Kafka
// answers SASL_AUTHENTICATION_FAILED first), which is why the output tracks
// its SASL exchanges to report either as an authentication failure.
package kafka
