package elasticsearch

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auditfwd/auditfwd/outputs"
)

func TestValidate(t *testing.T) {
	yes, no := true, false
	cloudID := "prod:" + base64.StdEncoding.EncodeToString([]byte("eu-west-1.aws.found.io$abc123$def456"))
	ok := Config{Addresses: []string{"https://es:9200"}}
	missingFile := filepath.Join(t.TempDir(), "nope")
	cases := []struct {
		name string
		edit func(*Config)
		want []string // each error's start; none = valid
	}{
		{"minimal", func(*Config) {}, nil},
		{"cloud id", func(c *Config) { c.Addresses = nil; c.CloudID = cloudID }, nil},
		{"no address", func(c *Config) { c.Addresses = nil }, []string{"addresses: at least one is required"}},
		{"both", func(c *Config) { c.CloudID = cloudID }, []string{"cloud_id: give addresses or cloud_id"}},
		{"bad cloud id", func(c *Config) { c.Addresses = nil; c.CloudID = "prod:!!!" }, []string{"cloud_id: not a cloud ID"}},
		{"scheme", func(c *Config) { c.Addresses = []string{"es:9200", "ftp://es"} },
			[]string{"addresses[0]: ", "addresses[1]: "}},
		{"user in URL", func(c *Config) { c.Addresses = []string{"https://elastic:pw@es:9200"} }, []string{"addresses[0]: credentials in the URL"}},
		{"mixed schemes", func(c *Config) { c.Addresses = []string{"https://a", "http://b"} }, []string{"addresses: mixes"}},
		{"tls on for http", func(c *Config) { c.Addresses = []string{"http://a"}; c.TLS.Enabled = &yes }, []string{"tls.enabled: true, but"}},
		{"tls off for https", func(c *Config) { c.TLS.Enabled = &no }, []string{"tls.enabled: false, but"}},
		{"tls cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, []string{"tls: cert_file and key_file"}},
		{"password without user", func(c *Config) { c.Password = "x" }, []string{"username: required"}},
		{"user without password", func(c *Config) { c.Username = "u" }, []string{"password: required"}},
		{"key and password", func(c *Config) { c.Username, c.Password, c.APIKey = "u", "p", "k" }, []string{"api_key: give username/password or api_key"}},
		{"password twice", func(c *Config) { c.Username, c.Password, c.PasswordFile = "u", "p", missingFile },
			[]string{"password_file: give password or password_file", "password_file: stat "}},
		{"key file missing", func(c *Config) { c.APIKeyFile = missingFile }, []string{"api_key_file: stat "}},
		{"index upper case", func(c *Config) { c.Index = "WSS-%{+yyyy}" }, []string{"index: \"WSS-%{+yyyy}\": must be lower case"}},
		{"index bad token", func(c *Config) { c.Index = "wss-%{+yyyy.MM.dd.mm}" }, []string{"index: \"wss-%{+yyyy.MM.dd.mm}\": date field \"mm\""}},
		{"index field ref", func(c *Config) { c.Index = "wss-%{[labels.source]}" }, []string{"index: \"wss-%{[labels.source]}\": only date patterns"}},
		{"index unclosed", func(c *Config) { c.Index = "wss-%{+yyyy" }, []string{"index: \"wss-%{+yyyy\": %{ without"}},
		{"index starts with _", func(c *Config) { c.Index = "_wss" }, []string{"index: \"_wss\": must not start"}},
		{"index bad char", func(c *Config) { c.Index = "wss audit" }, []string{"index: \"wss audit\": must not contain ' '"}},
		{"op type", func(c *Config) { c.OpType = "upsert" }, []string{"op_type: must be create or index"}},
		{"negative timeout", func(c *Config) { c.Timeout = Duration(-time.Second) }, []string{"timeout: must not be negative"}},
		{"data stream with date", func(c *Config) { c.Index = "wss-audit-%{+yyyy.MM.dd}"; c.Setup.DataStream = &yes },
			[]string{"index: \"wss-audit-%{+yyyy.MM.dd}\" has a date pattern"}},
		{"data stream with index op", func(c *Config) { c.Index = "logs-wss.audit-default"; c.Setup.DataStream = &yes; c.OpType = "index" },
			[]string{"op_type: a data stream accepts only create"}},
		{"default target with index op", func(c *Config) { c.OpType = "index" }, []string{"op_type: a data stream accepts only create"}},
		{"logs-* name is a data stream", func(c *Config) { c.Index = "logs-wss.audit-eu"; c.OpType = "index" },
			[]string{"op_type: a data stream accepts only create"}},
		{"plain index of a logs-* name", func(c *Config) { c.Index = "logs-wss.audit-eu"; c.Setup.DataStream = &no; c.OpType = "index" }, nil},
		{"dated index with index op", func(c *Config) { c.Index = "wss-audit-%{+yyyy.MM.dd}"; c.OpType = "index" }, nil},
		{"template matching everything", func(c *Config) { c.Index = "%{+yyyy.MM.dd}"; c.Setup.Template = true },
			[]string{"setup.template: index \"%{+yyyy.MM.dd}\" starts with its date pattern"}},
		{"template name", func(c *Config) { c.Setup.TemplateName = "bad name" }, []string{"setup.template_name: must not contain"}},
		{"authorization header", func(c *Config) { c.Headers = map[string]string{"authorization": "Basic x"} }, []string{"headers: Authorization"}},
		{"bad header", func(c *Config) { c.Headers = map[string]string{"a b": "x"} }, []string{"headers: \"a b\" is not a valid header name"}},
		{"reserved param", func(c *Config) { c.QueryParams = map[string]string{"pipeline": "x"} }, []string{"query_params: pipeline is set by the output"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Addresses = append([]string(nil), ok.Addresses...)
			tc.edit(&c)
			errs := c.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("Validate = %v; want %d errors starting %q", errs, len(tc.want), tc.want)
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tc.want[i]) {
					t.Errorf("error %d = %q; want it to start with %q", i, e, tc.want[i])
				}
			}
		})
	}
}

func TestIndexNames(t *testing.T) {
	at := time.Date(2027, 1, 3, 7, 5, 0, 0, time.UTC) // ISO week 53 of 2026
	cases := []struct{ pattern, want, templatePattern string }{
		{"wss-audit-%{+yyyy.MM.dd}", "wss-audit-2027.01.03", "wss-audit-*"},
		{"wss-audit", "wss-audit", "wss-audit"},
		{"wss-%{+YYYY-MM}", "wss-2027-01", "wss-*"},
		{"wss-%{+xxxx.ww}", "wss-2026.53", "wss-*"},
		{"wss-%{+yy}%{+MM}-%{+dd}.%{+HH}", "wss-2701-03.07", "wss-*"},
		{"wss-%{+yyyy'w'MM}", "wss-2027w01", "wss-*"},
		{"logs-wss.audit-default", "logs-wss.audit-default", "logs-wss.audit-default"},
	}
	for _, tc := range cases {
		n, err := parseIndex(tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		if got := n.name(at); got != tc.want {
			t.Errorf("%q at %s = %q, want %q", tc.pattern, at, got, tc.want)
		}
		// The same instant seen from another zone names the same index.
		if got := n.name(at.In(time.FixedZone("UTC-9", -9*3600))); got != tc.want {
			t.Errorf("%q at %s = %q, want %q (UTC)", tc.pattern, at.In(time.FixedZone("UTC-9", -9*3600)), got, tc.want)
		}
		if got := n.pattern(); got != tc.templatePattern {
			t.Errorf("%q: template pattern %q, want %q", tc.pattern, got, tc.templatePattern)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte("timeout: 2m30s\n"), &c); err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Timeout) != 150*time.Second {
		t.Errorf("timeout = %v", time.Duration(c.Timeout))
	}
	if err := yaml.Unmarshal([]byte("timeout: soon\n"), &c); err == nil {
		t.Error("timeout: soon was accepted")
	}
}

// The sample next to the code is the reference for these keys: it must
// hold every key, decode strictly and validate.
func TestSampleConfig(t *testing.T) {
	raw, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("sample.yaml does not validate: %v", errs)
	}
	d := (Config{}).withDefaults()
	if c.Index != d.Index || c.OpType != d.OpType || c.Timeout != d.Timeout || c.Setup.TemplateName != d.Setup.TemplateName {
		t.Errorf("sample.yaml's defaults differ from the code's: %+v vs %+v", c, d)
	}
	for _, key := range yamlKeys(Config{}) {
		if !bytes.Contains(raw, []byte(key+":")) {
			t.Errorf("sample.yaml does not mention %s", key)
		}
	}
}

// yamlKeys lists the leaf yaml keys of a struct (nested structs walked).
func yamlKeys(v any) []string {
	var out []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			out = append(out, name)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(v))
	return out
}

func TestSecretsNotPrinted(t *testing.T) {
	c := Config{Addresses: []string{"https://es"}, Username: "u", Password: "hunter2", APIKey: "k3y"}
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "k3y") {
			t.Errorf("a secret is printed: %s", s)
		}
	}
	out, _ := yaml.Marshal(c)
	if strings.Contains(string(out), "hunter2") {
		t.Errorf("a secret is marshalled: %s", out)
	}
	_ = outputs.Secret("")
}
