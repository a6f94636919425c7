package kafka

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

// Defaults of the keys left empty (zero) in Config.
const (
	DefaultKey             = "event.hash"
	DefaultCompression     = "none"
	DefaultRequiredAcks    = "all"
	DefaultMaxMessageBytes = 1000000
	DefaultClientID        = "auditfwd"
	DefaultTimeout         = 10 * time.Second
	DefaultBatchTimeout    = time.Millisecond
	DefaultBatchSize       = 1000
)

// Config is the Kafka output's own keys. A zero value means the default.
type Config struct {
	// Brokers to bootstrap from, host:port. The rest of the cluster is
	// discovered from their metadata.
	Brokers []string `yaml:"brokers"`
	// Topic, or a template resolved per event from its ECS document:
	// "wss-audit-%{labels.source}". An event missing a referenced field is
	// refused for good (dead letter), never sent to a guessed topic.
	Topic string `yaml:"topic"`
	// Key of each message: a field of the event ("event.hash", "user.name")
	// or a template ("%{labels.source}/%{event.id}"). The default, the
	// record hash, keeps every copy of one record on one partition, so a
	// consumer can drop repeats.
	Key string `yaml:"key"`
	// Compression: none (default) | gzip | snappy | lz4 | zstd.
	Compression string `yaml:"compression"`
	// RequiredAcks: all (default) | one | none. Anything but all lets a
	// broker failure lose events that auditfwd counts as delivered.
	RequiredAcks string `yaml:"required_acks"`
	// MaxMessageBytes bounds one message (key, value, headers and record
	// overhead) and one produce request per partition. A bigger event is
	// refused for good: dead letter, counted. Keep it at or under the
	// topic's max.message.bytes.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// TLS is off unless enabled: true, or any other tls key is set.
	TLS outputs.TLS `yaml:"tls"`
	// SASL authentication; off when mechanism is empty.
	SASL SASL `yaml:"sasl"`
	// Headers adds auditfwd-source, auditfwd-dataset and auditfwd-hash to
	// every message (default true).
	Headers *bool `yaml:"headers"`
	// ClientID the brokers see in their logs and quotas (default auditfwd).
	ClientID string `yaml:"client_id"`
	// Timeout is how long one Write waits for the acknowledgements before
	// the batch is retried (default 10s); it also bounds connecting.
	Timeout time.Duration `yaml:"timeout"`
	// BatchTimeout is how long the producer waits for more messages for a
	// partition before sending them (default 1ms). Every Write pays it once,
	// and waiting longer gains nothing: kafka-go puts all of one Write's
	// messages for a partition into one request whatever the timer (they
	// are assigned under one lock), and Writes do not overlap.
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// BatchSize is the most messages in one produce request to one
	// partition (default 1000).
	BatchSize int `yaml:"batch_size"`
	// AutoCreateTopics asks the brokers to create a missing topic (they
	// also need auto.create.topics.enable). Off by default: a missing topic
	// is then an error that is retried until someone creates it.
	AutoCreateTopics bool `yaml:"auto_create_topics"`
}

// SASL is the authentication of the Kafka output.
type SASL struct {
	// Mechanism: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512. PLAIN sends the
	// password as is: use it only with tls.
	Mechanism    string         `yaml:"mechanism"`
	Username     string         `yaml:"username"`
	Password     outputs.Secret `yaml:"password"`
	PasswordFile string         `yaml:"password_file"`
}

var (
	compressions  = []string{"none", "gzip", "snappy", "lz4", "zstd"}
	requiredAcks  = []string{"all", "one", "none"}
	saslMechanism = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
)

// Validate returns every problem with the keys, each naming its key.
func (c *Config) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(c.Brokers) == 0 {
		add("brokers: at least one is required")
	}
	for i, b := range c.Brokers {
		if err := checkHostPort(b); err != nil {
			add("brokers[%d]: %v", i, err)
		}
	}
	if c.Topic == "" {
		add("topic: required")
	} else if err := checkTopicTemplate(c.Topic); err != nil {
		add("topic: %v", err)
	}
	if c.Key != "" {
		if _, err := parseKey(c.Key); err != nil {
			add("key: %v", err)
		}
	}
	if c.Compression != "" && !oneOf(c.Compression, compressions) {
		add("compression: %q is not one of %s", c.Compression, strings.Join(compressions, ", "))
	}
	if c.RequiredAcks != "" && !oneOf(c.RequiredAcks, requiredAcks) {
		add("required_acks: %q is not one of %s", c.RequiredAcks, strings.Join(requiredAcks, ", "))
	}
	if c.MaxMessageBytes < 0 {
		add("max_message_bytes: must be positive (default %d)", DefaultMaxMessageBytes)
	} else if c.MaxMessageBytes > 0 && c.MaxMessageBytes < minMessageBytes {
		add("max_message_bytes: %d is too small for one event (at least %d)", c.MaxMessageBytes, minMessageBytes)
	}
	if c.Timeout < 0 {
		add("timeout: must be positive (default %s)", DefaultTimeout)
	}
	if c.BatchTimeout < 0 {
		add("batch_timeout: must be positive (default %s)", DefaultBatchTimeout)
	} else if c.BatchTimeout > 0 && c.BatchTimeout >= c.timeout() {
		add("batch_timeout: %s must be shorter than timeout (%s)", c.BatchTimeout, c.timeout())
	}
	if c.BatchSize < 0 {
		add("batch_size: must be positive (default %d)", DefaultBatchSize)
	}
	for _, err := range c.TLS.Validate() {
		errs = append(errs, err)
	}
	if c.TLS.Enabled != nil && !*c.TLS.Enabled && c.TLS != (outputs.TLS{Enabled: c.TLS.Enabled}) {
		add("tls: keys are set but tls.enabled is false")
	}
	errs = append(errs, c.SASL.validate()...)
	return errs
}

func (s *SASL) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Mechanism == "" {
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			add("sasl.mechanism: required when sasl.username or a password is set (%s)", strings.Join(saslMechanism, ", "))
		}
		return errs
	}
	if !oneOf(strings.ToUpper(s.Mechanism), saslMechanism) {
		add("sasl.mechanism: %q is not one of %s", s.Mechanism, strings.Join(saslMechanism, ", "))
	}
	if s.Username == "" {
		add("sasl.username: required with sasl.mechanism")
	}
	switch {
	case s.Password != "" && s.PasswordFile != "":
		add("sasl: set password or password_file, not both")
	case s.Password == "" && s.PasswordFile == "":
		add("sasl.password: required with sasl.mechanism (or sasl.password_file)")
	case s.PasswordFile != "":
		if _, err := os.Stat(s.PasswordFile); err != nil {
			add("sasl.password_file: %v", err)
		}
	}
	return errs
}

// minMessageBytes leaves room for a small event, its key and its headers.
const minMessageBytes = 1024

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port must be 1-65535", s)
	}
	return nil
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Config) batchTimeout() time.Duration {
	if c.BatchTimeout > 0 {
		return c.BatchTimeout
	}
	return DefaultBatchTimeout
}

func (c *Config) batchSize() int {
	if c.BatchSize > 0 {
		return c.BatchSize
	}
	return DefaultBatchSize
}

func (c *Config) maxMessageBytes() int {
	if c.MaxMessageBytes > 0 {
		return c.MaxMessageBytes
	}
	return DefaultMaxMessageBytes
}

func (c *Config) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return DefaultClientID
}

func (c *Config) headers() bool { return c.Headers == nil || *c.Headers }

// TLSEnabled says whether the output connects with TLS: an explicit
// enabled wins; otherwise any tls key turns it on, because a CA file that
// is silently ignored is worse than an error. Exported for the start-up
// warnings (SASL PLAIN without TLS).
func (c *Config) TLSEnabled() bool {
	if c.TLS.Enabled != nil {
		return *c.TLS.Enabled
	}
	return c.TLS != (outputs.TLS{})
}

// password is the SASL password, from password_file when that is set.
func (s *SASL) password() (string, error) {
	if s.PasswordFile == "" {
		return s.Password.Value(), nil
	}
	p, err := outputs.ReadSecretFile("sasl.password_file", s.PasswordFile)
	return p.Value(), err
}
