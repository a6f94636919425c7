// Package config loads auditfwd's YAML configuration: ${VAR} expansion,
// *_file secrets, unknown keys as errors, defaults, and Validate, which
// reports every problem at once, each with its key path.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/source/wssaccess"
	"github.com/auditfwd/auditfwd/outputs/elasticsearch"
	"github.com/auditfwd/auditfwd/outputs/file"
	"github.com/auditfwd/auditfwd/outputs/kafka"
	"github.com/auditfwd/auditfwd/outputs/splunkhec"
	"github.com/auditfwd/auditfwd/outputs/stdout"
	"github.com/auditfwd/auditfwd/outputs/syslog"
)

// Config is the whole file.
type Config struct {
	StateDir        string   `yaml:"state_dir"`
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	Log             Log      `yaml:"log"`
	Metrics         Metrics  `yaml:"metrics"`
	Sources         []Source `yaml:"sources"`
	Outputs         []Output `yaml:"outputs"`
	// Detections is nil when the file has no detections section.
	Detections *Detections `yaml:"detections"`
}

// Log configures logrus.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Metrics configures the Prometheus listener.
type Metrics struct {
	// Listen is host:port for /metrics and /healthz; default
	// 127.0.0.1:9464 (loopback only); "" disables it.
	Listen *string `yaml:"listen"`
}

// Source is one WSS tenant.
type Source struct {
	Name           string       `yaml:"name"`
	Type           string       `yaml:"type"`
	BaseURL        string       `yaml:"base_url"`
	Path           string       `yaml:"path"`
	Username       string       `yaml:"username"`
	UsernameFile   string       `yaml:"username_file"`
	Password       Secret       `yaml:"password"`
	PasswordFile   string       `yaml:"password_file"`
	DateFormat     string       `yaml:"date_format"`
	Start          string       `yaml:"start"`
	PollInterval   Duration     `yaml:"poll_interval"`
	Window         Duration     `yaml:"window"`
	Overlap        Duration     `yaml:"overlap"`
	MaxLateness    Duration     `yaml:"max_lateness"`
	DedupHorizon   Duration     `yaml:"dedup_horizon"`
	Timeout        Duration     `yaml:"timeout"`
	Format         string       `yaml:"format"`
	Params         Params       `yaml:"params"`
	FilterStyle    string       `yaml:"filter_style"`
	ObjectTypes    []string     `yaml:"object_types"`
	OperationTypes []string     `yaml:"operation_types"`
	RecordsPath    string       `yaml:"records_path"`
	EndDayInclude  *bool        `yaml:"end_date_inclusive"`
	Checkpoint     int          `yaml:"checkpoint_records"`
	TLS            TLS          `yaml:"tls"`
	Retry          SourceRetry  `yaml:"retry"`
	Fields         event.Fields `yaml:"fields"`

	// Bounds on what one server answer may cost: a record over the first
	// two goes to the dead letter, a window past the last two fails.
	MaxRecordBytes   ByteSize `yaml:"max_record_bytes"`
	MaxRecordDepth   int      `yaml:"max_record_depth"`
	WindowTimeout    Duration `yaml:"window_timeout"`
	MaxWindowRecords int      `yaml:"max_window_records"`

	// StartTime is Start resolved against the load time.
	StartTime time.Time `yaml:"-"`

	// Access holds a wss_access source's own keys (nil for wss_audit):
	// the access-log Sync API shares only name, type and
	// checkpoint_records with the audit API's keys above.
	Access *wssaccess.Config `yaml:"-"`
}

// TypeAccess is the type of the access-log (Sync API) source.
const TypeAccess = "wss_access"

// accessSource is the keys a wss_access source may have.
type accessSource struct {
	Name             string      `yaml:"name"`
	Type             string      `yaml:"type"`
	Checkpoint       int         `yaml:"checkpoint_records"`
	Retry            SourceRetry `yaml:"retry"`
	wssaccess.Config `yaml:",inline"`
}

// UnmarshalYAML decodes a source by its type: the audit keys, or for
// wss_access the Sync API's own.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	type plain Source
	if mappingType(n) != TypeAccess {
		return n.Decode((*plain)(s))
	}
	var a accessSource
	if err := n.Decode(&a); err != nil {
		return err
	}
	*s = Source{Name: a.Name, Type: a.Type, Checkpoint: a.Checkpoint, Retry: a.Retry, Access: &a.Config}
	return nil
}

// mappingType is the value of a mapping's type key ("" without one).
func mappingType(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// Params are the query parameter names of the audit API.
type Params struct {
	Start         string `yaml:"start"`
	End           string `yaml:"end"`
	Format        string `yaml:"format"`
	ObjectType    string `yaml:"object_type"`
	OperationType string `yaml:"operation_type"`
}

// TLS is client TLS. Verification is on unless insecure_skip_verify.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SourceRetry bounds the source's waits.
type SourceRetry struct {
	InitialInterval   Duration `yaml:"initial_interval"`    // first back-off after a failed window
	MaxInterval       Duration `yaml:"max_interval"`        // back-off cap
	MaxRetryAfter     Duration `yaml:"max_retry_after"`     // cap on a 429's Retry-After
	AuthRetryInterval Duration `yaml:"auth_retry_interval"` // wait after 401/403 (daemon mode)
}

// Output is one output: the keys every output has, plus its type's own.
type Output struct {
	OutputCommon  `yaml:",inline"`
	File          *file.Config          `yaml:"-"`
	Stdout        *stdout.Config        `yaml:"-"`
	Elasticsearch *elasticsearch.Config `yaml:"-"`
	Kafka         *kafka.Config         `yaml:"-"`
	Syslog        *syslog.Config        `yaml:"-"`
	SplunkHEC     *splunkhec.Config     `yaml:"-"`
}

// OutputCommon are the keys shared by every output.
type OutputCommon struct {
	Name  string `yaml:"name"`
	Type  string `yaml:"type"`
	Batch Batch  `yaml:"batch"`
	Queue Queue  `yaml:"queue"`
	Retry Retry  `yaml:"retry"`
}

// MaxBatchesInFlight bounds batch.max_in_flight: each batch in flight holds
// its events in memory.
const MaxBatchesInFlight = 64

// Batch sizes the batches an output drains from its queue.
type Batch struct {
	MaxEvents     int      `yaml:"max_events"`
	MaxBytes      ByteSize `yaml:"max_bytes"`
	FlushInterval Duration `yaml:"flush_interval"`
	// MaxInFlight is how many batches the output may have written and not
	// yet delivered at once (default 1; splunk_hec with ack: true
	// splunkhec.AckBatchesInFlight). The delivery mark still moves in
	// queue order, over the delivered prefix. Above 1 only for outputs
	// whose Write allows it (outputs.Concurrent): splunk_hec.
	MaxInFlight int `yaml:"max_in_flight"`
}

// Queue bounds an output's on-disk queue.
type Queue struct {
	MaxBytes     ByteSize `yaml:"max_bytes"`
	Policy       string   `yaml:"policy"` // block | drop_oldest
	SegmentBytes ByteSize `yaml:"segment_bytes"`
}

// Retry is an output's back-off.
type Retry struct {
	InitialInterval Duration `yaml:"initial_interval"`
	MaxInterval     Duration `yaml:"max_interval"`
}

// outputKinds gives, per output type, the struct whose keys are allowed.
var outputKinds = map[string]reflect.Type{
	"file": reflect.TypeOf(struct {
		OutputCommon `yaml:",inline"`
		file.Config  `yaml:",inline"`
	}{}),
	"stdout": reflect.TypeOf(struct {
		OutputCommon  `yaml:",inline"`
		stdout.Config `yaml:",inline"`
	}{}),
	"elasticsearch": reflect.TypeOf(struct {
		OutputCommon         `yaml:",inline"`
		elasticsearch.Config `yaml:",inline"`
	}{}),
	"kafka": reflect.TypeOf(struct {
		OutputCommon `yaml:",inline"`
		kafka.Config `yaml:",inline"`
	}{}),
	"syslog": reflect.TypeOf(struct {
		OutputCommon  `yaml:",inline"`
		syslog.Config `yaml:",inline"`
	}{}),
	"splunk_hec": reflect.TypeOf(struct {
		OutputCommon     `yaml:",inline"`
		splunkhec.Config `yaml:",inline"`
	}{}),
}

// outputKindNames lists the output types, sorted, for messages.
func outputKindNames() []string {
	names := make([]string, 0, len(outputKinds))
	for k := range outputKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// UnmarshalYAML decodes the common keys, then the type's own keys from the
// same mapping.
func (o *Output) UnmarshalYAML(n *yaml.Node) error {
	if err := n.Decode(&o.OutputCommon); err != nil {
		return err
	}
	switch o.Type {
	case "file":
		o.File = &file.Config{}
		return n.Decode(o.File)
	case "stdout":
		o.Stdout = &stdout.Config{}
	case "elasticsearch":
		o.Elasticsearch = &elasticsearch.Config{}
		return n.Decode(o.Elasticsearch)
	case "kafka":
		o.Kafka = &kafka.Config{}
		return n.Decode(o.Kafka)
	case "syslog":
		o.Syslog = &syslog.Config{}
		return n.Decode(o.Syslog)
	case "splunk_hec":
		o.SplunkHEC = &splunkhec.Config{}
		return n.Decode(o.SplunkHEC)
	}
	return nil
}

// kindConfig is the type's own config, nil for an unknown type.
func (o *Output) kindConfig() interface{ Validate() []error } {
	switch {
	case o.File != nil:
		return o.File
	case o.Stdout != nil:
		return o.Stdout
	case o.Elasticsearch != nil:
		return o.Elasticsearch
	case o.Kafka != nil:
		return o.Kafka
	case o.Syslog != nil:
		return o.Syslog
	case o.SplunkHEC != nil:
		return o.SplunkHEC
	}
	return nil
}

// Errors is every problem found in a configuration.
type Errors []error

func (e Errors) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Load reads, expands, decodes, defaults and validates a file. On a bad
// configuration the error is an Errors holding every problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return ParseIn(data, time.Now(), filepath.Dir(abs))
}

// Parse is Load without the file; now resolves relative start times.
// Relative paths stay relative (to the working directory).
func Parse(data []byte, now time.Time) (*Config, error) {
	return ParseIn(data, now, "")
}

// ParseIn is Parse with relative paths resolved against dir (the config
// file's directory), unless dir is empty.
func ParseIn(data []byte, now time.Time, dir string) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{errors.New("the configuration is empty")}
		}
		return nil, Errors{yamlSyntaxError(data, err)}
	}
	var errs Errors
	expandEnv(&root, "", (*[]error)(&errs))
	if dir != "" {
		resolvePaths(&root, dir)
	}
	w := &walker{errs: (*[]error)(&errs), bad: map[string]bool{}}
	w.walk(&root, reflect.TypeOf(Config{}), "")
	var c Config
	decoded := true
	if err := root.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, errors.New(m))
			}
		} else {
			errs = append(errs, err)
			decoded = false // c is partial: its checks would only confuse
		}
	}
	if decoded {
		// Bad values and unknown keys in one report: the checks run on
		// what could be decoded, minus what is already reported.
		c.readSecretFiles(&errs)
		c.SetDefaults()
		if dir != "" {
			c.StateDir = absPath(c.StateDir, dir) // the default ./state too
			if c.Detections != nil {
				for i, r := range c.Detections.Rules {
					if r != Builtin {
						c.Detections.Rules[i] = absPath(r, dir)
					}
				}
			}
		}
		for _, e := range c.Validate(now) {
			if !w.reported(e) {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &c, nil
}

// reported tells whether e is about a key the walker already reported (or
// one inside it).
func (w *walker) reported(e error) bool {
	msg := e.Error()
	for p := range w.bad {
		if rest, ok := strings.CutPrefix(msg, p); ok && (strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "[")) {
			return true
		}
	}
	return false
}

func (c *Config) readSecretFiles(errs *Errors) {
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		if s.Access != nil {
			for _, e := range s.Access.ReadSecretFiles() {
				*errs = append(*errs, fmt.Errorf("%s.%v", p, e)) // e starts with its key
			}
			continue
		}
		if s.UsernameFile != "" {
			if s.Username != "" {
				*errs = append(*errs, fmt.Errorf("%s: set username or username_file, not both", p))
			} else if v, err := readSecret(s.UsernameFile); err != nil {
				*errs = append(*errs, fmt.Errorf("%s.username_file: %v", p, err))
			} else {
				s.Username = v
			}
		}
		if s.PasswordFile != "" {
			if s.Password != "" {
				*errs = append(*errs, fmt.Errorf("%s: set password or password_file, not both", p))
			} else if v, err := readSecret(s.PasswordFile); err != nil {
				*errs = append(*errs, fmt.Errorf("%s.password_file: %v", p, err))
			} else {
				s.Password = Secret(v)
			}
		}
	}
}

// readSecret reads a secret file, without the trailing newline editors add.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
