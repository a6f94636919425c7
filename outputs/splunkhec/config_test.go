package splunkhec

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestValidate(t *testing.T) {
	tokFile := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tokFile, []byte("x\n"), 0o600)
	yes, no := true, false
	for _, tc := range []struct {
		cfg  Config
		want string // a prefix of one error; "" for none
	}{
		{Config{URL: "https://splunk:8088", Token: "t"}, ""},
		{Config{URL: "https://splunk:8088/", TokenFile: tokFile, Ack: true, Channel: "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba"}, ""},
		{Config{Token: "t"}, "url: required"},
		{Config{URL: "splunk:8088", Token: "t"}, "url: "},
		{Config{URL: "ftp://splunk", Token: "t"}, "url: "},
		{Config{URL: "https://u:p@splunk:8088", Token: "t"}, "url: credentials"},
		{Config{URL: "https://splunk:8088/services/collector/event", Token: "t"}, "url: "},
		{Config{URL: "https://splunk:8088"}, "token: required"},
		{Config{URL: "https://splunk:8088", Token: "t", TokenFile: tokFile}, "token_file: give"},
		{Config{URL: "https://splunk:8088", TokenFile: tokFile + ".missing"}, "token_file: "},
		{Config{URL: "https://splunk:8088", Token: "t", Channel: "not-a-guid"}, "channel: "},
		{Config{URL: "https://splunk:8088", Token: "t", Timeout: Duration(-time.Second)}, "timeout: "},
		{Config{URL: "https://splunk:8088", Token: "t", AckTimeout: Duration(time.Second), AckPollInterval: Duration(2 * time.Second)}, "ack_poll_interval: "},
		{Config{URL: "http://splunk:8088", Token: "t", TLS: tlsEnabled(&yes)}, "tls.enabled: "},
		{Config{URL: "https://splunk:8088", Token: "t", TLS: tlsEnabled(&no)}, "tls.enabled: "},
		{Config{URL: "https://splunk:8088", Token: "t", Index: "a\nb"}, "index: "},
		{Config{URL: "https://splunk:8088", Token: "t", MaxInFlight: -1}, "max_in_flight: "},
		{Config{URL: "https://splunk:8088", Token: "t", MaxInFlight: 65}, "max_in_flight: "},
		{Config{URL: "https://splunk:8088", Token: "t", MaxInFlight: 64, MaxRequestBytes: 4096}, ""},
		{Config{URL: "https://splunk:8088", Token: "t", MaxRequestBytes: -1}, "max_request_bytes: "},
	} {
		errs := tc.cfg.Validate()
		if tc.want == "" {
			if len(errs) > 0 {
				t.Errorf("%+v: %v", tc.cfg, errs)
			}
			continue
		}
		found := false
		for _, e := range errs {
			found = found || strings.HasPrefix(e.Error(), tc.want)
		}
		if !found {
			t.Errorf("%+v: errors %v, want one starting %q", tc.cfg, errs, tc.want)
		}
		if _, err := New("x", tc.cfg); err == nil {
			t.Errorf("%+v: New accepted it", tc.cfg)
		}
	}
}

func TestDefaults(t *testing.T) {
	o, err := New("x", Config{URL: "https://splunk:8088", Token: "secret-tok"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	host, _ := os.Hostname()
	if c.Sourcetype != "symantec:wss:audit" || c.Source != "auditfwd" || c.Host != host ||
		time.Duration(c.Timeout) != 30*time.Second || time.Duration(c.AckTimeout) != time.Minute ||
		time.Duration(c.AckPollInterval) != time.Second || !o.fields || o.Channel() != "" ||
		c.MaxInFlight != 8 || c.MaxRequestBytes != 1<<20 {
		t.Errorf("defaults: %+v", c)
	}
	a, _ := New("x", Config{URL: "https://splunk:8088", Token: "t", Ack: true})
	b, _ := New("x", Config{URL: "https://splunk:8088", Token: "t", Ack: true})
	if a.Channel() == "" || a.Channel() == b.Channel() {
		t.Errorf("generated channels %q %q", a.Channel(), b.Channel())
	}
	if s := strings.Join([]string{c.Token.String()}, ""); strings.Contains(s, "secret-tok") {
		t.Error("token printed")
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
	if c.Sourcetype != d.Sourcetype || c.Source != d.Source || c.Timeout != d.Timeout ||
		c.AckTimeout != d.AckTimeout || c.AckPollInterval != d.AckPollInterval || *c.Fields != *d.Fields ||
		c.MaxInFlight != d.MaxInFlight || c.MaxRequestBytes != d.MaxRequestBytes {
		t.Errorf("sample.yaml's defaults differ from the code's: %+v vs %+v", c, d)
	}
	for _, key := range yamlKeys(reflect.TypeOf(Config{})) {
		if !bytes.Contains(raw, []byte(key+":")) {
			t.Errorf("sample.yaml does not mention %s", key)
		}
	}
}

// yamlKeys lists the leaf yaml keys of a struct (nested structs walked).
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, name)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, yamlKeys(f.Type)...)
		}
	}
	return out
}
