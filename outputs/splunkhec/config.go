package splunkhec

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

// Defaults of the keys left empty.
const (
	DefaultSourcetype      = "symantec:wss:audit"
	DefaultSource          = "auditfwd"
	DefaultTimeout         = 30 * time.Second
	DefaultAckTimeout      = 60 * time.Second
	DefaultAckPollInterval = time.Second
	// DefaultMaxInFlight requests of one batch are sent at once: HEC
	// parses each request on one thread, and their acks are polled
	// together, so a batch costs one acknowledgement delay, not one per
	// request.
	DefaultMaxInFlight = 8
	// DefaultMaxRequestBytes bounds one request's (uncompressed) body: a
	// 413, a busy answer or a lost ack then resends little, and a big
	// batch spreads over several requests in flight.
	DefaultMaxRequestBytes = 1 << 20

	// AckBatchEvents, AckBatchBytes and AckBatchesInFlight are the
	// pipeline's batch defaults (batch.max_events, batch.max_bytes,
	// batch.max_in_flight) for this output with ack: true. A Write
	// returns only once its batch is acknowledged; the pipeline keeps
	// AckBatchesInFlight of them going at once and moves the delivery
	// mark over the acknowledged prefix, in order. 8 batches of 2,500
	// events are 20,000 events in flight (what one batch of 20,000 was
	// before: the same memory), over 10,000 events/s with acks that take
	// 1 s. A lost ack holds one batch for ack_timeout while the other
	// seven go on, where it held the whole output: many small batches
	// lose less to it than a few big ones (BenchmarkHECAckedDrain in
	// package pipeline: 4 x 5,000 kept 9,400 events/s with two acks
	// lost, 8 x 2,500 11,800). 4 MiB lets 2,500 events of 1.6 KB fill a
	// batch.
	AckBatchEvents     = 2500
	AckBatchBytes      = 4 << 20
	AckBatchesInFlight = 8
)

// Config is the splunk_hec output's own keys.
type Config struct {
	// URL of the HTTP Event Collector, https://host:8088 (a path prefix is
	// kept: the output appends /services/collector/...).
	URL string `yaml:"url"`
	// Token is the HEC token; token_file reads it from a file instead
	// (trailing newline ignored).
	Token     outputs.Secret `yaml:"token"`
	TokenFile string         `yaml:"token_file"`

	Index      string `yaml:"index"`      // empty: the token's default index
	Sourcetype string `yaml:"sourcetype"` // default symantec:wss:audit
	Source     string `yaml:"source"`     // default auditfwd
	Host       string `yaml:"host"`       // default os.Hostname()

	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool        `yaml:"gzip"`
	TLS  outputs.TLS `yaml:"tls"`

	// Ack turns on indexer acknowledgement: a batch counts as delivered
	// only once Splunk says it is indexed.
	Ack             bool     `yaml:"ack"`
	AckTimeout      Duration `yaml:"ack_timeout"`       // default 60s
	AckPollInterval Duration `yaml:"ack_poll_interval"` // default 1s
	// Channel is the X-Splunk-Request-Channel GUID. Empty with ack on: New
	// generates a random one (the caller should persist it: Channel()).
	Channel string `yaml:"channel"`

	// Timeout of one HTTP request.
	Timeout Duration `yaml:"timeout"` // default 30s

	// MaxInFlight is how many requests of one batch are sent at once
	// (default 8); MaxRequestBytes bounds one request's uncompressed body
	// (default 1 MiB; one event larger than that goes alone).
	MaxInFlight     int `yaml:"max_in_flight"`
	MaxRequestBytes int `yaml:"max_request_bytes"`

	// Fields sends indexed fields event.hash, event.action, event.outcome
	// and labels.source with every event (default true).
	Fields *bool `yaml:"fields"`
}

// Duration is a time.Duration written as "30s" or "2m".
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 2m", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes it back as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// maxInFlight bounds max_in_flight: each request in flight holds its body
// in memory and a connection to HEC.
const maxInFlight = 64

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// withDefaults is c with every empty key at its default.
func (c Config) withDefaults() Config {
	if c.Sourcetype == "" {
		c.Sourcetype = DefaultSourcetype
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	if c.Host == "" {
		if h, err := os.Hostname(); err == nil {
			c.Host = h
		}
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = Duration(DefaultAckTimeout)
	}
	if c.AckPollInterval == 0 {
		c.AckPollInterval = Duration(DefaultAckPollInterval)
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.Fields == nil {
		yes := true
		c.Fields = &yes
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return c
}

// Validate returns every problem with the keys, each message starting
// with its key.
func (c *Config) Validate() []error {
	d := c.withDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	var scheme string
	if d.URL == "" {
		add("url", "required (https://host:8088)")
	} else if u, err := url.Parse(d.URL); err != nil {
		// Never the raw value in a message: its userinfo or query may be
		// a credential (outputs.ShowURL prints scheme, host and path).
		add("url", "is not a valid URL (%s)", outputs.URLProblem(err))
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			add("url", "%s: must start with http:// or https://", outputs.ShowURL(u))
		case u.Host == "":
			add("url", "%s has no host", outputs.ShowURL(u))
		case u.User != nil:
			add("url", "credentials in the URL would be logged: use token")
		case u.RawQuery != "" || u.Fragment != "":
			add("url", "%s: no query or fragment (not shown)", outputs.ShowURL(u))
		case strings.Contains(u.Path, "/services/collector"):
			add("url", "%s: give the base URL (https://host:8088); the output adds /services/collector/event", outputs.ShowURL(u))
		default:
			scheme = u.Scheme
		}
	}
	switch {
	case d.Token != "" && d.TokenFile != "":
		add("token_file", "give token or token_file, not both")
	case d.Token == "" && d.TokenFile == "":
		add("token", "required (or token_file)")
	case d.TokenFile != "":
		if _, err := os.Stat(d.TokenFile); err != nil {
			add("token_file", "%v", err)
		}
	}
	if d.TLS.Enabled != nil {
		switch {
		case *d.TLS.Enabled && scheme == "http":
			add("tls.enabled", "true, but url is http://")
		case !*d.TLS.Enabled && scheme == "https":
			add("tls.enabled", "false, but url is https://")
		}
	}
	errs = append(errs, d.TLS.Validate()...)
	if d.Channel != "" && !guidRE.MatchString(d.Channel) {
		add("channel", "%q is not a GUID like 0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba", d.Channel)
	}
	if time.Duration(d.Timeout) < 0 {
		add("timeout", "must not be negative")
	}
	if time.Duration(d.AckTimeout) < 0 {
		add("ack_timeout", "must not be negative")
	}
	if time.Duration(d.AckPollInterval) < 0 {
		add("ack_poll_interval", "must not be negative")
	} else if d.AckPollInterval > d.AckTimeout && d.AckTimeout > 0 {
		add("ack_poll_interval", "%s is longer than ack_timeout %s", time.Duration(d.AckPollInterval), time.Duration(d.AckTimeout))
	}
	if d.MaxInFlight < 0 || d.MaxInFlight > maxInFlight {
		add("max_in_flight", "%d: must be between 1 and %d", d.MaxInFlight, maxInFlight)
	}
	if d.MaxRequestBytes < 0 {
		add("max_request_bytes", "must not be negative")
	}
	for _, f := range []struct{ key, v string }{{"index", d.Index}, {"sourcetype", d.Sourcetype}, {"source", d.Source}, {"host", d.Host}} {
		if strings.ContainsAny(f.v, "\r\n") {
			add(f.key, "must be one line")
		}
	}
	return errs
}
