package syslog

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

func TestValidate(t *testing.T) {
	yes := true
	no := false
	ok := Config{Address: "siem.example.com:6514"}
	for _, tc := range []struct {
		name string
		cfg  Config
		keys []string // each error must start with its key
	}{
		{"minimal", ok, nil},
		{"everything", Config{Address: "[::1]:514", Network: "tls", Format: "rfc3164", Framing: "lf",
			TLS: outputs.TLS{CAFile: "ca.pem", ServerName: "siem"}, Facility: "local7", Severity: "err",
			AppName: "wss", Hostname: "relay.example.com", MsgID: "AUDIT", Payload: "leef", SDID: "audit@1.2.3",
			MaxMessageBytes: 65536, Oversize: "dead_letter", WriteTimeout: time.Second,
			CEF: Device{Vendor: "V"}, LEEF: Device{Product: "P"}}, nil},
		{"numbers", Config{Address: "h:1", Facility: "23", Severity: "0"}, nil},
		{"no address", Config{}, []string{"address:"}},
		{"address without port", Config{Address: "siem"}, []string{"address:"}},
		{"bad port", Config{Address: "siem:syslog"}, []string{"address:"}},
		{"no host", Config{Address: ":514"}, []string{"address:"}},
		{"everything wrong", Config{Address: "h:1", Network: "sctp", Format: "json", Framing: "nul",
			Facility: "24", Severity: "loud", AppName: "two words", Hostname: "", MsgID: strings.Repeat("m", 33),
			Payload: "xml", SDID: "wss", MaxMessageBytes: 100, Oversize: "drop", WriteTimeout: -time.Second,
			CEF: Device{Vendor: strings.Repeat("v", 64)}, LEEF: Device{Version: strings.Repeat("v", 64)}},
			[]string{"network:", "format:", "framing:", "facility:", "severity:", "app_name:", "msgid:", "payload:",
				"sd_id:", "max_message_bytes:", "oversize:", "write_timeout:", "cef.vendor:", "leef.version:"}},
		{"framing on udp", Config{Address: "h:1", Network: "udp", Framing: "lf"}, []string{"framing:"}},
		{"udp too big", Config{Address: "h:1", Network: "udp", MaxMessageBytes: 70000}, []string{"max_message_bytes:"}},
		{"tls keys on tcp", Config{Address: "h:1", TLS: outputs.TLS{CAFile: "ca.pem"}}, []string{"tls:"}},
		{"tls enabled on tcp", Config{Address: "h:1", TLS: outputs.TLS{Enabled: &yes}}, []string{"tls:"}},
		{"tls disabled on tls", Config{Address: "h:1", Network: "tls", TLS: outputs.TLS{Enabled: &no}}, []string{"tls.enabled:"}},
		{"cert without key", Config{Address: "h:1", Network: "tls", TLS: outputs.TLS{CertFile: "c.pem"}}, []string{"tls:"}},
		{"sd_id reserved name", Config{Address: "h:1", SDID: "origin"}, []string{"sd_id:"}},
		{"sd_id with space", Config{Address: "h:1", SDID: "a b@1"}, []string{"sd_id:"}},
		{"hostname with space", Config{Address: "h:1", Hostname: "a b"}, []string{"hostname:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.cfg.Validate()
			if len(errs) != len(tc.keys) {
				t.Fatalf("%d errors, want %d: %v", len(errs), len(tc.keys), errs)
			}
			for i, err := range errs {
				if !strings.HasPrefix(err.Error(), tc.keys[i]) {
					t.Errorf("error %q does not start with %q", err, tc.keys[i])
				}
			}
			if _, err := New("x", tc.cfg); (err == nil) != (len(tc.keys) == 0) && tc.cfg.TLS.CAFile == "" {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	host, _ := os.Hostname()
	s, err := resolve(Config{Address: "h:514"})
	if err != nil {
		t.Fatal(err)
	}
	want := settings{
		network: "tcp", address: "h:514", format: "rfc5424", framing: "octet_counting", payload: "json",
		oversize: "truncate", facility: 10, severity: severityAuto, appName: "auditfwd",
		hostname: printASCII(host, 255), procID: s.procID, sdID: "wss@32473", max: 8192,
		timeout: 10 * time.Second,
		cef:     Device{"Broadcom", "Web Security Service", version()},
		leef:    Device{"Broadcom", "Web Security Service", version()},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", s, want)
	}
	if s, _ := resolve(Config{Address: "h:514", Network: "udp"}); s.max != 2048 {
		t.Errorf("udp max_message_bytes %d, want 2048", s.max)
	}
}

// TestSampleConfig keeps sample.yaml complete: every key of Config is in it.
func TestSampleConfig(t *testing.T) {
	sample, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			if !strings.Contains(string(sample), " "+key+":") {
				t.Errorf("sample.yaml lacks %s%s", prefix, key)
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type, prefix+key+".")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}
