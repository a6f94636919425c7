package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWarnings(t *testing.T) {
	const httpsSource = `  - {name: a, base_url: "https://portal.example", username: u, password: p}
`
	for _, c := range []struct {
		name, sources, outputs string
		want                   []string // "path: a piece of the message", in order
	}{
		{"nothing to warn about", httpsSource, `  - {name: o, type: file, path: /tmp/x}
  - {name: es, type: elasticsearch, addresses: ["https://es.example:9200"], username: u, password: p}
  - {name: hec, type: splunk_hec, url: "https://hec.example:8088", token: t}
  - {name: k, type: kafka, brokers: ["k.example:9093"], topic: t, tls: {enabled: true}, sasl: {mechanism: PLAIN, username: u, password: p}}
  - {name: ks, type: kafka, brokers: ["k.example:9092"], topic: t, sasl: {mechanism: SCRAM-SHA-512, username: u, password: p}}
`, nil},
		{"loopback http is not cleartext on the network", `  - {name: a, base_url: "http://127.0.0.1:8080", username: u, password: p}
`, `  - {name: es, type: elasticsearch, addresses: ["http://localhost:9200"], username: u, password: p}
  - {name: hec, type: splunk_hec, url: "http://[::1]:8088", token: t}
  - {name: k, type: kafka, brokers: ["127.0.0.1:9092"], topic: t, sasl: {mechanism: PLAIN, username: u, password: p}}
`, nil},
		{"source credentials over http", `  - {name: a, base_url: "http://portal.example", username: u, password: p}
`, `  - {name: o, type: file, path: /tmp/x}
`, []string{"sources[0].base_url: is http://: the WSS username and password"}},
		{"elasticsearch credentials over http", httpsSource, `  - {name: o, type: file, path: /tmp/x}
  - {name: es, type: elasticsearch, addresses: ["http://es1.example:9200", "http://es2.example:9200"], api_key: "id:key"}
`, []string{"outputs[1].addresses[0]: is http://", "outputs[1].addresses[1]: is http://"}},
		{"elasticsearch over http without credentials", httpsSource, `  - {name: es, type: elasticsearch, addresses: ["http://es.example:9200"]}
`, nil},
		{"hec token over http", httpsSource, `  - {name: hec, type: splunk_hec, url: "http://hec.example:8088", token: t}
`, []string{"outputs[0].url: is http://: the HEC token"}},
		{"kafka PLAIN without tls", httpsSource, `  - {name: k, type: kafka, brokers: ["k.example:9092"], topic: t, sasl: {mechanism: plain, username: u, password: p}}
`, []string{"outputs[0].sasl.mechanism: PLAIN without TLS"}},
		{"insecure_skip_verify everywhere", `  - {name: a, base_url: "https://portal.example", username: u, password: p, tls: {insecure_skip_verify: true}}
`, `  - {name: es, type: elasticsearch, addresses: ["https://es.example:9200"], tls: {insecure_skip_verify: true}}
  - {name: hec, type: splunk_hec, url: "https://hec.example:8088", token: t, tls: {insecure_skip_verify: true}}
  - {name: k, type: kafka, brokers: ["k.example:9093"], topic: t, tls: {insecure_skip_verify: true}}
  - {name: sl, type: syslog, address: "siem.example:6514", network: tls, tls: {insecure_skip_verify: true}}
`, []string{
			"sources[0].tls.insecure_skip_verify: is true",
			"outputs[0].tls.insecure_skip_verify: is true",
			"outputs[1].tls.insecure_skip_verify: is true",
			"outputs[2].tls.insecure_skip_verify: is true",
			"outputs[3].tls.insecure_skip_verify: is true",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := "state_dir: " + filepath.Join(t.TempDir(), "not-made-yet") + "\nsources:\n" + c.sources + "outputs:\n" + c.outputs
			cfg, err := Parse([]byte(y), now)
			if err != nil {
				t.Fatal(err)
			}
			ws := Warnings(cfg)
			if len(ws) != len(c.want) {
				t.Fatalf("got %d warnings, want %d: %v", len(ws), len(c.want), ws)
			}
			for i, w := range ws {
				if !strings.HasPrefix(w.String(), c.want[i]) {
					t.Errorf("warning %d: %q, want it to start with %q", i, w, c.want[i])
				}
			}
		})
	}
}

func TestWarningsStateDirMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	y := "state_dir: " + dir + `
sources:
  - {name: a, base_url: "https://portal.example", username: u, password: p}
outputs:
  - {name: o, type: file, path: /tmp/x}
`
	cfg, err := Parse([]byte(y), now)
	if err != nil {
		t.Fatal(err)
	}
	if ws := Warnings(cfg); len(ws) != 0 {
		t.Fatalf("0700: %v", ws)
	}
	for _, mode := range []os.FileMode{0o750, 0o705, 0o777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		ws := Warnings(cfg)
		if len(ws) != 1 || ws[0].Path != "state_dir" {
			t.Fatalf("%04o: %v", mode, ws)
		}
		msg := ws[0].Message
		for _, want := range []string{dir + " has mode " + fmt.Sprintf("%04o", mode), "chmod 700 " + dir} {
			if !strings.Contains(msg, want) {
				t.Errorf("%04o: %q lacks %q", mode, msg, want)
			}
		}
	}
}
