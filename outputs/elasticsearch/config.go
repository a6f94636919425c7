package elasticsearch

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

// Defaults of the keys left empty.
//
// The default target is the data stream logs-wss.audit-default (type logs,
// dataset wss.audit, namespace default): Elastic Security's default index
// patterns (logs-*), its authentication and user views and its ML jobs read
// logs-*, and a data stream rolls over by itself. DatedIndex is the
// alternative of one index per UTC day of @timestamp.
const (
	DefaultIndex        = "logs-wss.audit-default"
	DatedIndex          = "wss-audit-%{+yyyy.MM.dd}"
	DefaultOpType       = "create"
	DefaultTimeout      = 90 * time.Second
	DefaultTemplateName = "wss-audit"
)

// Config is the elasticsearch output's own keys.
type Config struct {
	// Addresses of the nodes, http:// or https://, with a path prefix if the
	// cluster sits behind one. Exactly one of addresses and cloud_id.
	Addresses []string `yaml:"addresses"`
	// CloudID of an Elastic Cloud deployment, instead of addresses.
	CloudID string `yaml:"cloud_id"`

	// HTTP Basic credentials, or an API key (the base64 "encoded" form, or
	// "id:api_key"). The *_file keys read the secret from a file instead
	// (trailing newline ignored).
	Username     string         `yaml:"username"`
	Password     outputs.Secret `yaml:"password"`
	PasswordFile string         `yaml:"password_file"`
	APIKey       outputs.Secret `yaml:"api_key"`
	APIKeyFile   string         `yaml:"api_key_file"`

	TLS outputs.TLS `yaml:"tls"`

	// Index is a data stream (default logs-wss.audit-default), a name, or a
	// name with a date pattern (%{+yyyy.MM.dd}, the event's @timestamp in
	// UTC; DatedIndex).
	Index string `yaml:"index"`
	// Pipeline is an ingest pipeline to run on every document.
	Pipeline string `yaml:"pipeline"`
	// OpType is create (default: a repeat is a harmless 409) or index (a
	// repeat overwrites the document with the same _id).
	OpType string `yaml:"op_type"`
	// Compression gzips request bodies.
	Compression bool `yaml:"compression"`
	// Timeout of one HTTP request, the whole bulk reply included.
	Timeout Duration `yaml:"timeout"`

	// Headers are sent with every request; QueryParams are added to bulk
	// requests only. Both are for Elasticsearch-compatible targets that need
	// them (VictoriaLogs' VL-Msg-Field, _msg_field=message, ...). Not for
	// credentials: they are not redacted.
	Headers     map[string]string `yaml:"headers"`
	QueryParams map[string]string `yaml:"query_params"`

	Setup Setup `yaml:"setup"`
}

// Setup is what the output installs before its first write.
type Setup struct {
	// Template installs an index template with the ECS mappings of the
	// fields auditfwd writes, once, before the first bulk request.
	Template bool `yaml:"template"`
	// TemplateName names it (default wss-audit).
	TemplateName string `yaml:"template_name"`
	// DataStream says index is a data stream: the template is then a data
	// stream template and op_type must be create. Unset, it is true for a
	// plain name of the logs-* scheme (Elasticsearch's own logs-*-* template
	// makes such a name a data stream anyway) and false otherwise.
	DataStream *bool `yaml:"data_stream"`
	// Overwrite replaces a template of that name that is already there; by
	// default an existing template (perhaps tuned by hand) is left alone.
	Overwrite bool `yaml:"overwrite"`
}

// Duration is a time.Duration written as "90s" or "2m".
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 90s or 2m", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes it back as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// withDefaults is c with every empty key at its default.
func (c Config) withDefaults() Config {
	if c.Index == "" {
		c.Index = DefaultIndex
	}
	if c.OpType == "" {
		c.OpType = DefaultOpType
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.Setup.TemplateName == "" {
		c.Setup.TemplateName = DefaultTemplateName
	}
	if c.Setup.DataStream == nil {
		ds := strings.HasPrefix(c.Index, "logs-") && !strings.Contains(c.Index, "%{")
		c.Setup.DataStream = &ds
	}
	return c
}

// dataStream is the data_stream key once withDefaults has filled it.
func (s Setup) dataStream() bool { return s.DataStream != nil && *s.DataStream }

// pipelineName names the ingest pipeline that setup.template installs
// beside the template (it sets event.ingested).
func (s Setup) pipelineName() string { return s.TemplateName + "-ingested" }

// Validate returns every problem with the keys, each naming its key.
func (c *Config) Validate() []error {
	d := c.withDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}

	switch {
	case len(d.Addresses) == 0 && d.CloudID == "":
		add("addresses", "at least one is required (or cloud_id)")
	case len(d.Addresses) > 0 && d.CloudID != "":
		add("cloud_id", "give addresses or cloud_id, not both")
	}
	schemes := map[string]bool{}
	for i, a := range d.Addresses {
		u, err := url.Parse(a)
		switch {
		// Never the raw value in a message: its userinfo or query may be a
		// credential (outputs.ShowURL prints scheme, host and path).
		case err != nil:
			add(fmt.Sprintf("addresses[%d]", i), "is not a valid URL (%s)", outputs.URLProblem(err))
		case u.Scheme != "http" && u.Scheme != "https":
			add(fmt.Sprintf("addresses[%d]", i), "%s: must start with http:// or https://", outputs.ShowURL(u))
		case u.Host == "":
			add(fmt.Sprintf("addresses[%d]", i), "%s has no host", outputs.ShowURL(u))
		case u.User != nil:
			add(fmt.Sprintf("addresses[%d]", i), "credentials in the URL would be logged: use username/password or api_key")
		case u.RawQuery != "":
			add(fmt.Sprintf("addresses[%d]", i), "%s has a query (not shown): use query_params", outputs.ShowURL(u))
		default:
			schemes[u.Scheme] = true
		}
	}
	if len(schemes) > 1 {
		add("addresses", "mixes http:// and https://")
	}
	if d.CloudID != "" {
		if _, err := cloudHost(d.CloudID); err != nil {
			add("cloud_id", "%v", err)
		}
	}
	if d.TLS.Enabled != nil {
		switch {
		case *d.TLS.Enabled && schemes["http"]:
			add("tls.enabled", "true, but an address is http://")
		case !*d.TLS.Enabled && (schemes["https"] || d.CloudID != ""):
			add("tls.enabled", "false, but the cluster is reached over https")
		}
	}
	for _, e := range d.TLS.Validate() {
		errs = append(errs, e)
	}

	if d.Password != "" && d.PasswordFile != "" {
		add("password_file", "give password or password_file, not both")
	}
	if d.APIKey != "" && d.APIKeyFile != "" {
		add("api_key_file", "give api_key or api_key_file, not both")
	}
	hasPassword := d.Password != "" || d.PasswordFile != ""
	hasKey := d.APIKey != "" || d.APIKeyFile != ""
	switch {
	case hasKey && (d.Username != "" || hasPassword):
		add("api_key", "give username/password or api_key, not both")
	case hasPassword && d.Username == "":
		add("username", "required with a password")
	case d.Username != "" && !hasPassword:
		add("password", "required with a username (or password_file)")
	}
	for _, f := range []struct{ key, path string }{{"password_file", d.PasswordFile}, {"api_key_file", d.APIKeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			add(f.key, "%v", err)
		}
	}

	idx, err := parseIndex(d.Index)
	if err != nil {
		add("index", "%v", err)
	}
	if d.OpType != "create" && d.OpType != "index" {
		add("op_type", "must be create or index (got %q)", d.OpType)
	}
	if time.Duration(d.Timeout) < 0 {
		add("timeout", "must not be negative")
	}
	if d.Setup.dataStream() {
		if idx != nil && !idx.static() {
			add("index", "%q has a date pattern, but a data stream rolls over by itself: give its plain name (say logs-wss.audit-default)", d.Index)
		}
		if d.OpType == "index" { // any other value is refused above already
			add("op_type", "a data stream accepts only create (index %q is one; for op_type index give a plain or dated index, say %s)", d.Index, DatedIndex)
		}
	}
	if d.Setup.Template && idx != nil && idx.prefix() == "" {
		add("setup.template", "index %q starts with its date pattern, so the template would match every index: put a name before it", d.Index)
	}
	if err := checkIndexName(d.Setup.TemplateName); err != nil {
		add("setup.template_name", "%v", err)
	}
	for _, k := range sortedKeys(d.Headers) {
		switch {
		case strings.EqualFold(k, "Authorization"):
			add("headers", "Authorization: use username/password or api_key, which are kept secret")
		case !validHeaderName(k):
			add("headers", "%q is not a valid header name", k)
		}
	}
	for _, k := range sortedKeys(d.QueryParams) {
		switch k {
		case "":
			add("query_params", "an empty name")
		case "pipeline", "filter_path":
			add("query_params", "%s is set by the output itself", k)
		}
	}
	return errs
}

// cloudHost decodes a cloud ID, "name:base64(host$es_uuid$kibana_uuid)",
// as the client will, so that a bad one is a config error.
func cloudHost(id string) (string, error) {
	parts := strings.Split(id, ":")
	if len(parts) != 2 {
		return "", errors.New("not a cloud ID: expected name:base64")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("not a cloud ID: the part after ':' is not base64")
	}
	hosts := strings.Split(string(raw), "$")
	if len(hosts) < 2 || hosts[0] == "" || hosts[1] == "" {
		return "", errors.New("not a cloud ID: no host$uuid in it")
	}
	return hosts[1] + "." + hosts[0], nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return http.CanonicalHeaderKey(k) != ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// encodedAPIKey is the key in the form the ApiKey header carries: the
// base64 of "id:api_key". Elasticsearch hands out both forms.
func encodedAPIKey(k string) string {
	if strings.Contains(k, ":") {
		return base64.StdEncoding.EncodeToString([]byte(k))
	}
	return k
}
