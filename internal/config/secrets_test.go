package config

import (
	"strings"
	"testing"
)

// No error message may print a credential: a URL's userinfo or query, a
// value with a broken ${...} (it is often a password), a value taken from
// the environment. Each case's error must name its key path and must not
// contain "s3cret".
func TestErrorsNeverPrintSecrets(t *testing.T) {
	t.Setenv("BAD_HEC_URL", "http://user:s3cret@[bad")
	const src = `  - {name: a, base_url: "https://x.example", username: u, password: p}
`
	const out = `  - {name: o, type: file, path: /tmp/x}
`
	for _, c := range []struct {
		name, sources, outputs, path string
	}{
		{"source base_url does not parse", `  - {name: a, base_url: "http://user:s3cret@[bad", username: u, password: p}
`, out, "sources[0].base_url:"},
		{"source base_url without //", `  - {name: a, base_url: "user:s3cret@portal.example", username: u, password: p}
`, out, "sources[0].base_url:"},
		{"source base_url with userinfo", `  - {name: a, base_url: "https://user:s3cret@portal.example", username: u, password: p}
`, out, "sources[0].base_url:"},
		{"unclosed ${ in a password", `  - {name: a, base_url: "https://x.example", username: u, password: "s3cret${oops"}
`, out, "sources[0].password:"},
		{"empty ${} in a password", `  - {name: a, base_url: "https://x.example", username: u, password: "s3cret${}"}
`, out, "sources[0].password:"},
		{"elasticsearch address does not parse", src, `  - {name: es, type: elasticsearch, addresses: ["http://user:s3cret@[bad"]}
`, "outputs[0].addresses[0]:"},
		{"elasticsearch address with a bad scheme", src, `  - {name: es, type: elasticsearch, addresses: ["ftp://user:s3cret@es.example"]}
`, "outputs[0].addresses[0]:"},
		{"elasticsearch address with a query", src, `  - {name: es, type: elasticsearch, addresses: ["https://es.example/?apikey=s3cret"]}
`, "outputs[0].addresses[0]:"},
		{"splunk url from the environment does not parse", src, `  - {name: hec, type: splunk_hec, url: "${BAD_HEC_URL}", token: t}
`, "outputs[0].url:"},
		{"splunk url with a bad scheme", src, `  - {name: hec, type: splunk_hec, url: "ftp://user:s3cret@hec.example", token: t}
`, "outputs[0].url:"},
		{"splunk url with a query", src, `  - {name: hec, type: splunk_hec, url: "https://hec.example?token=s3cret", token: t}
`, "outputs[0].url:"},
		{"splunk url with a collector path and a fragment", src, `  - {name: hec, type: splunk_hec, url: "https://hec.example/services/collector#s3cret", token: t}
`, "outputs[0].url:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte("sources:\n"+c.sources+"outputs:\n"+c.outputs), now)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "s3cret") {
				t.Errorf("a secret was printed:\n%s", msg)
			}
			if !strings.Contains(msg, c.path) {
				t.Errorf("no error names %s:\n%s", c.path, msg)
			}
		})
	}
}
