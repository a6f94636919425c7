package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	kafka "github.com/segmentio/kafka-go"
)

// class is what the pipeline should do with one event after a failure.
type class int

const (
	classRetry     class = iota // retry it later, with back-off
	classPermanent              // dead letter: retrying cannot change the answer
	classSplit                  // the produce request was too big: send it alone
)

// classify decides per Kafka error code. The rule: an error is permanent
// only when it is about the event itself (its size, its record, its
// timestamp, the topic name its fields produced). Whatever the cluster or
// its operator can fix (a broker down, a leader moving, a missing topic, a
// missing ACL, a bad password, an unsupported codec) is retried: the
// events wait in the output's queue, the error is logged on every retry,
// and nothing needs replaying from a dead letter once it is fixed.
func classify(err error) class {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return classRetry // network, timeout, cancelled: all retried
	}
	switch ke {
	case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge:
		return classSplit
	case kafka.InvalidTopic, kafka.InvalidRecord, kafka.InvalidTimestamp:
		return classPermanent
	}
	return classRetry
}

// describe says what an error means for this output and what to check. The
// kafka-go error stays wrapped for errors.Is.
func (o *Output) describe(topic string, err error, gen uint64) error {
	var ke kafka.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("topic %s: no acknowledgement within timeout %s: %w", topic, o.cfg.timeout(), err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("topic %s: %w", topic, err)
	case errors.As(err, &ke):
		switch ke {
		case kafka.UnknownTopicOrPartition:
			if o.cfg.AutoCreateTopics {
				return fmt.Errorf("topic %s does not exist and the brokers did not create it (auto.create.topics.enable is off?): %w", topic, err)
			}
			return fmt.Errorf("topic %s does not exist: create it, or set auto_create_topics: true if the brokers allow it: %w", topic, err)
		case kafka.TopicAuthorizationFailed:
			return fmt.Errorf("topic %s: not authorized to write (grant WRITE and DESCRIBE on the topic to this principal): %w", topic, err)
		case kafka.ClusterAuthorizationFailed:
			return fmt.Errorf("topic %s: not authorized on the cluster: %w", topic, err)
		case kafka.SASLAuthenticationFailed, kafka.IllegalSASLState, kafka.UnsupportedSASLMechanism:
			return o.cfg.SASL.authError(err)
		case kafka.UnsupportedCompressionType:
			return fmt.Errorf("topic %s: the brokers do not support compression %s: %w", topic, o.cfg.Compression, err)
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge:
			return fmt.Errorf("topic %s: the broker refused the message as too large (its max.message.bytes is below this event): %w", topic, err)
		}
		return fmt.Errorf("topic %s: %w", topic, err)
	case o.closedDuringAuth(err, gen):
		return o.cfg.SASL.authError(fmt.Errorf("the broker closed the connection during authentication: %w", err))
	case isNetError(err):
		return fmt.Errorf("topic %s: brokers %v unreachable: %w", topic, o.cfg.Brokers, err)
	}
	return fmt.Errorf("topic %s: %w", topic, err)
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// closedDuringAuth: the connection ended while a SASL exchange begun since
// gen was still open.
func (o *Output) closedDuringAuth(err error, gen uint64) bool {
	if o.mech == nil {
		return false
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		return false
	}
	return o.auth.failedSince(gen)
}
