package kafka

import (
	"context"
	"errors"
	"fmt"

	kafka "github.com/segmentio/kafka-go"
	metadata "github.com/segmentio/kafka-go/protocol/metadata"
)

// Check asks the brokers for metadata, without producing anything: it
// fails when no broker answers, authentication fails, or the topic is
// missing (or cannot be written) and will not be created.
//
// With auto_create_topics: true, the metadata request asks the brokers to
// create a missing topic, exactly as the first Write would: the only way
// Kafka's protocol has to tell whether auto-creation is allowed. A topic
// with field references can only be checked when events name it, so for
// it Check tests the brokers and the credentials alone.
func (o *Output) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.timeout())
	defer cancel()
	tr := o.newTransport() // its own: the answer must be fresh, not cached
	defer tr.CloseIdleConnections()
	gen := o.auth.begin()

	req := &metadata.Request{}
	if o.static != "" {
		req.TopicNames = []string{o.static}
		req.AllowAutoTopicCreation = o.cfg.AutoCreateTopics
	}
	r, err := tr.RoundTrip(ctx, kafka.TCP(o.cfg.Brokers...), req)
	if err != nil {
		return o.checkError(err, gen)
	}
	res, ok := r.(*metadata.Response)
	if !ok {
		return fmt.Errorf("kafka: unexpected metadata answer %T", r)
	}
	if len(res.Brokers) == 0 {
		return fmt.Errorf("kafka: brokers %v answered with no broker in the cluster", o.cfg.Brokers)
	}
	if o.static == "" {
		return nil
	}
	for _, t := range res.Topics {
		if t.Name != o.static {
			continue
		}
		code := kafka.Error(t.ErrorCode)
		switch {
		case t.ErrorCode == 0 && len(t.Partitions) > 0:
			return nil
		case t.ErrorCode == 0:
			return fmt.Errorf("kafka: topic %s has no partitions", o.static)
		case code == kafka.LeaderNotAvailable && o.cfg.AutoCreateTopics:
			return nil // just created; its leaders are being elected
		}
		return fmt.Errorf("kafka: %w", o.describe(o.static, code, gen))
	}
	return fmt.Errorf("kafka: %w", o.describe(o.static, kafka.UnknownTopicOrPartition, gen))
}

func (o *Output) checkError(err error, gen uint64) error {
	if o.closedDuringAuth(err, gen) {
		return fmt.Errorf("kafka: %w", o.cfg.SASL.authError(fmt.Errorf("the broker closed the connection during authentication: %w", err)))
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		return fmt.Errorf("kafka: %w", o.describe(o.cfg.Topic, err, gen))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("kafka: no broker of %v answered within timeout %s: %w", o.cfg.Brokers, o.cfg.timeout(), err)
	}
	return fmt.Errorf("kafka: brokers %v unreachable: %w", o.cfg.Brokers, err)
}
