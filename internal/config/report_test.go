package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const reportBase = `
sources:
  - name: a
    base_url: https://portal.threatpulse.com
    username: u
    password: p
%s
outputs:
  - name: f
    type: file
    path: /tmp/x.ndjson
%s
`

// One pass names every mistake with its key path: unknown keys, an
// unknown output type (not hidden behind its keys), bad durations and
// sizes, and bad values, all together.
func TestValidateReportsEveryMistakeAtOnce(t *testing.T) {
	y := strings.Replace(reportBase, "    type: file\n", "    type: fiel\n", 1)
	y = strings.Replace(y, "%s\noutputs", "    poll_intervall: 5m\n    date_format: fortnightly\n    timeout: 10 minutes\noutputs", 1)
	y = strings.Replace(y, "%s\n", "  - {name: g, type: file, path: /tmp/y, queue: {max_bytes: 12 parsecs}}\n", 1)
	_, err := Parse([]byte(y), time.Now())
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`sources[0].poll_intervall: unknown key (line 7); did you mean "poll_interval"?`,
		`sources[0].date_format: must be date, epoch_ms or rfc3339 (got "fortnightly")`,
		`sources[0].timeout: "10 minutes" is not a duration`,
		`outputs[0].type: unknown type "fiel" (line 12); did you mean "file"?`,
		`outputs[1].queue.max_bytes: "12 parsecs" is not a size`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	for _, not := range []string{"outputs[0].path: unknown key", "did you mean \"batch\"", "unknown output type"} {
		if strings.Contains(msg, not) {
			t.Errorf("misleading %q in:\n%s", not, msg)
		}
	}
}

func TestZeroOrNegativeDurationsRefused(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"    poll_interval: 0s", "sources[0].poll_interval: must be more than 0"},
		{"    poll_interval: -5m", "sources[0].poll_interval: must not be negative"},
		{"    window: 0", "sources[0].window: must be more than 0"},
		{"    retry: {initial_interval: 0s}", "sources[0].retry.initial_interval: must be more than 0"},
	} {
		y := strings.Replace(strings.Replace(reportBase, "%s\noutputs", tc.line+"\noutputs", 1), "%s\n", "", 1)
		_, err := Parse([]byte(y), time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.line, err)
		}
	}
}

// yaml names the line its enclosing block began on (line 1 here); the
// report names the faulty line, and its key, never the value.
func TestYAMLSyntaxErrorNamesTheLine(t *testing.T) {
	y := "state_dir: /tmp/s\nsources:\n  - name: a\n  password: [s3cret\n"
	_, err := Parse([]byte(y), time.Now())
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), `key "password"`) {
		t.Fatalf("%v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the value is printed: %v", err)
	}
}

// Relative paths resolve against the config file's directory, not the
// working directory.
func TestRelativePathsResolveAgainstTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("p\n"), 0o600)
	y := `state_dir: st
sources:
  - name: a
    base_url: https://portal.threatpulse.com
    username: u
    password_file: pw
    tls: {ca_file: certs/ca.pem}
outputs:
  - {name: f, type: file, path: out/e.ndjson}
`
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(y), 0o600)
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(os.TempDir())
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != filepath.Join(dir, "st") || c.Outputs[0].File.Path != filepath.Join(dir, "out/e.ndjson") ||
		c.Sources[0].TLS.CAFile != filepath.Join(dir, "certs/ca.pem") || c.Sources[0].Password.Value() != "p" {
		t.Fatalf("state_dir %s, path %s, ca %s", c.StateDir, c.Outputs[0].File.Path, c.Sources[0].TLS.CAFile)
	}
	// The default state_dir sits beside the config too.
	os.WriteFile(path, []byte(strings.Replace(y, "state_dir: st\n", "", 1)), 0o600)
	if c, err = Load(path); err != nil || c.StateDir != filepath.Join(dir, "state") {
		t.Fatalf("default state_dir %v %v", c, err)
	}
}

// A bad size is quoted as written (found by the review: "12XB" was
// reported as "12X").
func TestBadSizeQuotedAsWritten(t *testing.T) {
	y := strings.Replace(strings.Replace(reportBase, "%s\noutputs", "    max_record_bytes: 12XB\noutputs", 1), "%s\n", "", 1)
	if _, err := Parse([]byte(y), time.Now()); err == nil || !strings.Contains(err.Error(), `"12XB" is not a size`) {
		t.Fatalf("%v", err)
	}
}
