package kafka

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auditfwd/auditfwd/outputs"
)

func TestValidate(t *testing.T) {
	yes, no := true, false
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Config{Brokers: []string{"kafka-1:9092", "10.0.0.2:9093"}, Topic: "wss-audit"}
	with := func(f func(c *Config)) Config {
		c := ok
		f(&c)
		return c
	}
	cases := []struct {
		name string
		cfg  Config
		want []string // each error, by its start; none means valid
	}{
		{"minimal", ok, nil},
		{"everything", with(func(c *Config) {
			c.Topic = "wss-%{event.dataset}-%{labels.source}"
			c.Key = "%{labels.source}/%{event.id}"
			c.Compression = "zstd"
			c.RequiredAcks = "all"
			c.MaxMessageBytes = 2 << 20
			c.TLS = outputs.TLS{Enabled: &yes, ServerName: "kafka"}
			c.SASL = SASL{Mechanism: "SCRAM-SHA-512", Username: "u", PasswordFile: pwFile}
			c.Headers = &no
			c.ClientID = "x"
			c.Timeout = 30 * time.Second
			c.BatchTimeout = 10 * time.Millisecond
			c.BatchSize = 500
			c.AutoCreateTopics = true
		}), nil},
		{"key as a field path", with(func(c *Config) { c.Key = "user.name" }), nil},
		{"lower-case mechanism", with(func(c *Config) { c.SASL = SASL{Mechanism: "plain", Username: "u", Password: "p"} }), nil},
		{"empty", Config{}, []string{"brokers: at least one is required", "topic: required"}},
		{"bad brokers", with(func(c *Config) { c.Brokers = []string{"kafka-1", ":9092", "h:0", "h:x"} }), []string{
			`brokers[0]: "kafka-1" is not host:port`, `brokers[1]: ":9092" has no host`, `brokers[2]: "h:0": port`, `brokers[3]: "h:x": port`}},
		{"illegal topic name", with(func(c *Config) { c.Topic = "wss audit" }), []string{"topic: topic name \"wss audit\""}},
		{"long topic name", with(func(c *Config) { c.Topic = strings.Repeat("t", 250) }), []string{"topic: topic name"}},
		{"unclosed reference", with(func(c *Config) { c.Topic = "wss-%{event.dataset" }), []string{"topic: \"wss-%{event.dataset\": %{ without a closing }"}},
		{"empty reference", with(func(c *Config) { c.Topic = "wss-%{}" }), []string{"topic: \"wss-%{}\": empty field reference"}},
		{"empty segment", with(func(c *Config) { c.Topic = "wss-%{event..dataset}" }), []string{"topic: \"wss-%{event..dataset}\": field \"event..dataset\" has an empty segment"}},
		{"illegal literal in a template", with(func(c *Config) { c.Topic = "wss/%{labels.source}" }), []string{"topic: \"wss/%{labels.source}\": '/' is not allowed"}},
		{"constant key", with(func(c *Config) { c.Key = "x-%{" }), []string{"key: \"x-%{\": %{ without a closing }"}},
		{"bad key path", with(func(c *Config) { c.Key = "user..name" }), []string{"key: field \"user..name\" has an empty segment"}},
		{"bad compression", with(func(c *Config) { c.Compression = "brotli" }), []string{"compression: \"brotli\" is not one of none, gzip, snappy, lz4, zstd"}},
		{"bad acks", with(func(c *Config) { c.RequiredAcks = "-1" }), []string{"required_acks: \"-1\" is not one of all, one, none"}},
		{"negative sizes and times", with(func(c *Config) {
			c.MaxMessageBytes, c.Timeout, c.BatchTimeout, c.BatchSize = -1, -time.Second, -time.Second, -1
		}), []string{"max_message_bytes: must be positive", "timeout: must be positive", "batch_timeout: must be positive", "batch_size: must be positive"}},
		{"tiny max_message_bytes", with(func(c *Config) { c.MaxMessageBytes = 100 }), []string{"max_message_bytes: 100 is too small"}},
		{"batch_timeout over timeout", with(func(c *Config) { c.BatchTimeout = time.Minute }), []string{"batch_timeout: 1m0s must be shorter than timeout (10s)"}},
		{"half a client certificate", with(func(c *Config) { c.TLS.CertFile = "c.pem" }), []string{"tls: cert_file and key_file go together"}},
		{"tls keys with tls off", with(func(c *Config) { c.TLS = outputs.TLS{Enabled: &no, CAFile: "ca.pem"} }), []string{"tls: keys are set but tls.enabled is false"}},
		{"sasl without mechanism", with(func(c *Config) { c.SASL = SASL{Username: "u", Password: "p"} }), []string{"sasl.mechanism: required"}},
		{"sasl bad mechanism", with(func(c *Config) { c.SASL = SASL{Mechanism: "GSSAPI", Username: "u", Password: "p"} }), []string{"sasl.mechanism: \"GSSAPI\" is not one of"}},
		{"sasl without user or password", with(func(c *Config) { c.SASL = SASL{Mechanism: "PLAIN"} }), []string{"sasl.username: required", "sasl.password: required"}},
		{"sasl two passwords", with(func(c *Config) { c.SASL = SASL{Mechanism: "PLAIN", Username: "u", Password: "p", PasswordFile: pwFile} }), []string{"sasl: set password or password_file, not both"}},
		{"sasl missing password file", with(func(c *Config) {
			c.SASL = SASL{Mechanism: "PLAIN", Username: "u", PasswordFile: filepath.Join(t.TempDir(), "nope")}
		}), []string{"sasl.password_file: stat"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.cfg.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors %v, want %d %q", len(errs), errs, len(tc.want), tc.want)
			}
			for i, err := range errs {
				if !strings.HasPrefix(err.Error(), tc.want[i]) {
					t.Errorf("error %d: %q, want it to start with %q", i, err, tc.want[i])
				}
			}
			_, err := New("k", tc.cfg)
			if (err == nil) != (len(tc.want) == 0) {
				t.Errorf("New: %v", err)
			}
		})
	}
}

// The sample configuration decodes into Config with the same YAML library
// the config loader uses, and is valid: it cannot rot.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Outputs []struct {
			Name   string `yaml:"name"`
			Type   string `yaml:"type"`
			Config `yaml:",inline"`
		} `yaml:"outputs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Outputs) != 1 || doc.Outputs[0].Type != "kafka" {
		t.Fatalf("outputs: %+v", doc.Outputs)
	}
	c := doc.Outputs[0].Config
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("example is not valid: %v", errs)
	}
	// The example shows every default; spot-check that they are the
	// defaults the code applies.
	if c.Timeout != DefaultTimeout || c.BatchTimeout != DefaultBatchTimeout || c.MaxMessageBytes != DefaultMaxMessageBytes ||
		c.BatchSize != DefaultBatchSize || c.Key != DefaultKey || c.Compression != DefaultCompression ||
		c.RequiredAcks != DefaultRequiredAcks || c.ClientID != DefaultClientID || c.Headers == nil || !*c.Headers {
		t.Errorf("example defaults differ from the code's: %+v", c)
	}
	if c.SASL.Password.Value() != "" || c.SASL.Mechanism != "" {
		t.Errorf("the example should leave SASL off: %+v", c.SASL)
	}
}

// A password never reaches a formatted Config.
func TestSecretRedacted(t *testing.T) {
	c := Config{SASL: SASL{Mechanism: "PLAIN", Username: "u", Password: "hunter2"}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, c); strings.Contains(s, "hunter2") {
			t.Errorf("%s prints the password: %s", format, s)
		}
	}
	o, err := New("k", Config{Brokers: []string{"h:1"}, Topic: "t", SASL: SASL{Mechanism: "SCRAM-SHA-256", Username: "u", Password: "hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := o.cfg.SASL.authError(os.ErrClosed); strings.Contains(e.Error(), "hunter2") {
		t.Errorf("password in error: %v", e)
	}
}
