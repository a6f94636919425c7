package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"

	"github.com/auditfwd/auditfwd/outputs"
)

func TestClassify(t *testing.T) {
	wrapped := func(e kafka.Error) error { return fmt.Errorf("%w: broker message", e) } // as kafka-go reports produce errors
	cases := []struct {
		err  error
		want class
	}{
		{wrapped(kafka.MessageSizeTooLarge), classSplit},
		{kafka.RecordListTooLarge, classSplit},
		{wrapped(kafka.InvalidTopic), classPermanent},
		{wrapped(kafka.InvalidRecord), classPermanent},
		{kafka.InvalidTimestamp, classPermanent},
		// The cluster or its operator can fix these: retried.
		{wrapped(kafka.NotLeaderForPartition), classRetry},
		{kafka.LeaderNotAvailable, classRetry},
		{kafka.RequestTimedOut, classRetry},
		{kafka.NotEnoughReplicas, classRetry},
		{kafka.NotEnoughReplicasAfterAppend, classRetry},
		{kafka.KafkaStorageError, classRetry},
		{kafka.InvalidMessage, classRetry}, // a CRC error on the way
		{kafka.UnknownTopicOrPartition, classRetry},
		{kafka.TopicAuthorizationFailed, classRetry},
		{kafka.ClusterAuthorizationFailed, classRetry},
		{kafka.SASLAuthenticationFailed, classRetry},
		{kafka.UnsupportedCompressionType, classRetry},
		{kafka.ThrottlingQuotaExceeded, classRetry},
		{kafka.Unknown, classRetry},
		{syscall.ECONNREFUSED, classRetry},
		{io.ErrUnexpectedEOF, classRetry},
		{context.DeadlineExceeded, classRetry},
		{errors.New("something new"), classRetry},
	}
	for _, tc := range cases {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%v: class %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	o, err := New("k", Config{Brokers: []string{"h:9092"}, Topic: "t",
		SASL: SASL{Mechanism: "SCRAM-SHA-512", Username: "svc", Password: "hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		err  error
		want string
	}{
		{kafka.UnknownTopicOrPartition, "topic t does not exist: create it, or set auto_create_topics: true"},
		{kafka.TopicAuthorizationFailed, "not authorized to write (grant WRITE"},
		{context.DeadlineExceeded, "no acknowledgement within timeout 10s"},
		{&netErr{}, "brokers [h:9092] unreachable"},
		// Apache Kafka answers a bad password with SASL_AUTHENTICATION_FAILED.
		{fmt.Errorf("%w: Authentication failed", kafka.SASLAuthenticationFailed), `SASL SCRAM-SHA-512 authentication as "svc" failed`},
	}
	for _, tc := range cases {
		got := o.describe("t", tc.err, 0)
		if !strings.Contains(got.Error(), tc.want) || !errors.Is(got, tc.err) || strings.Contains(got.Error(), "hunter2") {
			t.Errorf("%v: %q, want it to say %q and wrap the error", tc.err, got, tc.want)
		}
	}
}

type netErr struct{}

func (*netErr) Error() string   { return "dial tcp: connection refused" }
func (*netErr) Timeout() bool   { return false }
func (*netErr) Temporary() bool { return true }

// messageSize is exactly kafka-go's measure: a writer whose BatchBytes is
// one byte under it refuses the message before any network I/O, and one
// whose BatchBytes equals it lets the message through.
func TestMessageSizeMatchesKafkaGo(t *testing.T) {
	o, err := New("k", Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for i, ev := range append(makeEvents(t, 3, "tenant-a", 5), bloated(t, "a", 300), bloated(t, "b", 70000)) {
		m, err := o.message(&ev)
		if err != nil {
			t.Fatal(err)
		}
		n := messageSize(&m)
		under := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), BatchBytes: int64(n - 1)}
		if err := under.WriteMessages(cancelled, m); !errors.As(err, new(kafka.MessageTooLargeError)) {
			t.Errorf("event %d: BatchBytes %d (one under our size): %v, want MessageTooLargeError", i, n-1, err)
		}
		exact := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), BatchBytes: int64(n)}
		if err := exact.WriteMessages(cancelled, m); errors.As(err, new(kafka.MessageTooLargeError)) {
			t.Errorf("event %d: BatchBytes %d (our size) refused the message", i, n)
		}
	}
}

// An unreachable broker: New does no I/O, Write fails within its timeout
// with a retryable error for the whole batch, a nil batch is a no-op, and
// Write after Close is an error.
func TestWriteWithoutBroker(t *testing.T) {
	port := freePorts(t, 1)[0]
	o, err := New("k", Config{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, Topic: "t", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Write(context.Background(), nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	batch := makeEvents(t, 5, "tenant-a", 6)
	start := time.Now()
	err = o.Write(context.Background(), batch)
	var be *outputs.BatchError
	if err == nil || outputs.IsPermanent(err) || errors.As(err, &be) {
		t.Fatalf("Write: %v, want a plain retryable error", err)
	}
	if !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Write took %s", took)
	}
	o.Close()
	if err := o.Write(context.Background(), batch); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// A cancelled context ends a Write at once, as a retry.
func TestWriteCancelled(t *testing.T) {
	port := freePorts(t, 1)[0]
	o := mustNew(t, Config{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, Topic: "t"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := o.Write(ctx, makeEvents(t, 2, "a", 7))
	if err == nil || outputs.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context: %v", err)
	}
}
