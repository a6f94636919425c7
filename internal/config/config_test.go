package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// The minimal form from the core issue, exactly as written.
const minimal = `state_dir: ./state
sources:
  - name: wss
    type: wss_audit
    base_url: https://portal.threatpulse.com
    username: ${WSS_USERNAME}        # ${VAR} expands from the environment; also support *_file keys
    password: ${WSS_PASSWORD}
    date_format: date                # date (2006-01-02) | epoch_ms | rfc3339
    start: 720h                      # first run reaches back this far (a duration, or an RFC 3339 time)
    poll_interval: 5m
outputs:
  - name: local
    type: file
    path: ./out/events.ndjson
`

func TestMinimalConfig(t *testing.T) {
	t.Setenv("WSS_USERNAME", "api-user")
	t.Setenv("WSS_PASSWORD", "s3cr#t: {x}")
	c, err := Parse([]byte(minimal), now)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.Username != "api-user" || s.Password.Value() != "s3cr#t: {x}" {
		t.Fatalf("env not expanded: %q %q", s.Username, s.Password.Value())
	}
	if !s.StartTime.Equal(now.Add(-720 * time.Hour)) {
		t.Fatalf("start %v", s.StartTime)
	}
	if s.Overlap.D() < 15*time.Minute || s.Window.D() != 24*time.Hour || s.Path != DefaultPath {
		t.Fatalf("defaults: %+v", s)
	}
	if s.DedupHorizon.D() <= s.MinDedupHorizon() {
		t.Fatalf("default horizon %s not above the minimum %s", s.DedupHorizon.D(), s.MinDedupHorizon())
	}
	if c.Outputs[0].File == nil || c.Outputs[0].File.Path != "./out/events.ndjson" {
		t.Fatalf("file output: %+v", c.Outputs[0])
	}
	if got := fmt.Sprintf("%v %s %#v", s.Password, s.Password, s.Password); strings.Contains(got, "s3cr") {
		t.Fatalf("secret printed: %s", got)
	}
}

func TestEveryErrorAtOnceWithPaths(t *testing.T) {
	t.Setenv("WSS_PASSWORD", "x")
	bad := `state_dir: ./state
colour: blue
sources:
  - name: wss
    type: wss_audit
    base_url: ftp://nowhere
    username: ${UNSET_VAR_FOR_TEST}
    password: ${WSS_PASSWORD}
    date_format: weekly
    start: yesterday
    poll_intervall: 5m
    overlap: 1m
  - name: wss
    base_url: https://a.example
    username: u
    password: p
    window: 36h
outputs:
  - name: local
    type: file
    path: ./out/events.ndjson
    pathh: x
  - name: q
    type: carrier-pigeon
    queue: {policy: maybe}
`
	_, err := Parse([]byte(bad), now)
	var ce Errors
	if !errors.As(err, &ce) {
		t.Fatalf("want Errors, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"colour: unknown key",
		"sources[0].poll_intervall: unknown key",
		`did you mean "poll_interval"`,
		"sources[0].username: environment variable UNSET_VAR_FOR_TEST is not set",
		"outputs[0].pathh: unknown key",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	// Semantic errors come once the keys are right.
	fixed := strings.NewReplacer("colour: blue\n", "", "poll_intervall", "poll_interval", "${UNSET_VAR_FOR_TEST}", "u", "    pathh: x\n", "").Replace(bad)
	_, err = Parse([]byte(fixed), now)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	msg = err.Error()
	for _, want := range []string{
		"sources[0].base_url:", "sources[0].date_format:", "sources[0].start:", "sources[0].overlap:",
		`sources[1].name: "wss" is already the name of sources[0]`, "sources[1].window: with date_format: date the window must be whole days",
		`outputs[1].type: unknown type "carrier-pigeon"`, "outputs[1].queue.policy:",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "user"), []byte("file-user\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pass"), []byte("file-pass\r\n"), 0o600)
	y := fmt.Sprintf(`sources:
  - {name: a, base_url: "https://x.example", username_file: %q, password_file: %q}
outputs:
  - {name: o, type: file, path: /tmp/x}
`, filepath.Join(dir, "user"), filepath.Join(dir, "pass"))
	c, err := Parse([]byte(y), now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources[0].Username != "file-user" || c.Sources[0].Password.Value() != "file-pass" {
		t.Fatalf("%q %q", c.Sources[0].Username, c.Sources[0].Password.Value())
	}
	y2 := strings.Replace(y, "username_file", "password: p, username_file", 1)
	if _, err := Parse([]byte(y2), now); err == nil || !strings.Contains(err.Error(), "password or password_file, not both") {
		t.Fatalf("both password and password_file: %v", err)
	}
}

func TestUnsafeDedupHorizonRefused(t *testing.T) {
	y := `sources:
  - {name: a, base_url: "https://x.example", username: u, password: p, dedup_horizon: 24h}
outputs: [{name: o, type: file, path: /tmp/x}]
`
	_, err := Parse([]byte(y), now)
	if err == nil || !strings.Contains(err.Error(), "sources[0].dedup_horizon: 24h0m0s is unsafe") {
		t.Fatalf("got %v", err)
	}
}

func TestExpand(t *testing.T) {
	t.Setenv("A", "1")
	t.Setenv("EMPTY", "")
	for _, c := range []struct{ in, want, err string }{
		{"x${A}y", "x1y", ""},
		{"${EMPTY:-d}", "d", ""},
		{"${NOPE_X:-dflt}", "dflt", ""},
		{"$$5 and $ alone", "$5 and $ alone", ""},
		{"${NOPE_X}", "", "not set"},
		{"${A", "", "unclosed"},
	} {
		got, err := expand(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q %v, want %q", c.in, got, err, c.want)
		}
	}
}

func TestSizesAndDurations(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "64MiB": 64 << 20, "1 GiB": 1 << 30, "5MB": 5e6} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	if _, err := ParseByteSize("lots"); err == nil {
		t.Error("lots accepted")
	}
	if d, err := ParseDuration("30d"); err != nil || d != 720*time.Hour {
		t.Errorf("30d: %v %v", d, err)
	}
	if _, err := ParseDuration("soon"); err == nil {
		t.Error("soon accepted")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WSS_USERNAME", "u")
	t.Setenv("WSS_PASSWORD", "p")
	if _, err := Parse(data, now); err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
}

func TestElasticsearchOutputKeys(t *testing.T) {
	y := `sources:
  - {name: a, base_url: "https://x.example", username: u, password: p}
outputs:
  - name: es
    type: elasticsearch
    addresses: [http://127.0.0.1:9200]
    index: "wss-audit-%{+yyyy.MM.dd}"
    batch: {max_events: 1000}
    query_params: {_msg_field: message}
`
	c, err := Parse([]byte(y), now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Outputs[0].Elasticsearch == nil || c.Outputs[0].Elasticsearch.Addresses[0] != "http://127.0.0.1:9200" || c.Outputs[0].Batch.MaxEvents != 1000 {
		t.Fatalf("%+v", c.Outputs[0])
	}
	_, err = Parse([]byte(strings.Replace(y, "index:", "indexx:", 1)), now)
	if err == nil || !strings.Contains(err.Error(), "outputs[0].indexx: unknown key") {
		t.Fatalf("got %v", err)
	}
	_, err = Parse([]byte(strings.Replace(y, "    addresses: [http://127.0.0.1:9200]\n", "", 1)), now)
	if err == nil || !strings.Contains(err.Error(), "outputs[0].addresses") {
		t.Fatalf("got %v", err)
	}
}

// The per-record and per-window bounds are real settings: accepted,
// defaulted, and checked (issue 14.5, 14.6).
func TestSourceLimits(t *testing.T) {
	src := func(extra string) string {
		return `sources:
  - name: a
    base_url: https://x.example
    username: u
    password: p
` + extra + `outputs:
  - {name: o, type: file, path: /tmp/x}
`
	}
	c, err := Parse([]byte(src("")), now)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.MaxRecordBytes != DefaultMaxRecordBytes || s.MaxRecordDepth != DefaultMaxRecordDepth ||
		s.WindowTimeout.D() != DefaultWindowTimeout || s.MaxWindowRecords != DefaultMaxWindowRecords {
		t.Fatalf("defaults: %d %d %s %d", s.MaxRecordBytes, s.MaxRecordDepth, s.WindowTimeout.D(), s.MaxWindowRecords)
	}
	c, err = Parse([]byte(src("    max_record_bytes: 1MiB\n    max_record_depth: 64\n    window_timeout: 2h\n    max_window_records: 200000\n")), now)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Sources[0]; s.MaxRecordBytes != 1<<20 || s.MaxRecordDepth != 64 || s.WindowTimeout.D() != 2*time.Hour || s.MaxWindowRecords != 200000 {
		t.Fatalf("set: %+v", s)
	}
	for _, tc := range []struct{ extra, want string }{
		{"    max_record_bytes: 100\n", "sources[0].max_record_bytes: must be between 1KiB and 256MiB"},
		{"    max_record_bytes: 1GiB\n", "sources[0].max_record_bytes: must be between 1KiB and 256MiB"},
		{"    max_record_depth: -1\n", "sources[0].max_record_depth: must be between 1 and 10000"},
		{"    max_record_depth: 20000\n", "sources[0].max_record_depth: must be between 1 and 10000"},
		{"    window_timeout: 100ms\n", "sources[0].window_timeout: must be at least 1s"},
		{"    max_window_records: -5\n", "sources[0].max_window_records: must be at least 1"},
	} {
		_, err := Parse([]byte(src(tc.extra)), now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.extra, err, tc.want)
		}
	}
}
