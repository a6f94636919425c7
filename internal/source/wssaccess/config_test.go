package wssaccess

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigDefaultsAndYAML(t *testing.T) {
	var c Config
	src := "base_url: https://portal.threatpulse.com/\nusername: u\npassword: p4ssw0rd\nmax_archive_bytes: 512MiB\nretention: 365d\nstart: 2026-03-10T05:00:00Z\n"
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	d := c.WithDefaults()
	if d.BaseURL != "https://portal.threatpulse.com" || d.MaxArchiveBytes != 512<<20 || d.Retention.D() != 365*24*time.Hour ||
		d.PollInterval.D() != DefaultPollInterval || d.MinRequestInterval.D() != DefaultMinRequestInterval || d.RequestTimeout.D() != DefaultRequestTimeout {
		t.Fatalf("%+v", d)
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, "p4ssw0rd") {
		t.Fatalf("the password prints: %s", s)
	}
	if (Config{}).WithDefaults().MaxArchiveBytes != 2<<30 {
		t.Fatal("max_archive_bytes default is not 2 GiB")
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{BaseURL: "https://u:p@portal.example/reportpod/logs/sync", Start: "2026-03-10T05:30:00Z",
		PollInterval: Duration(time.Millisecond), Retention: Duration(400 * 24 * time.Hour), MaxArchiveBytes: 10}
	c.TLS.CertFile = "x.pem"
	got := fmt.Sprint(c.Validate())
	for _, want := range []string{"base_url: credentials", "username: required", "password: required", "start: \"2026-03-10T05:30:00Z\" is not on a whole UTC hour",
		"poll_interval: must be at least 1s", "retention: at most", "max_archive_bytes: must be at least 1MiB", "tls: cert_file and key_file go together"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	c = Config{BaseURL: "https://portal.example/reportpod/logs/sync", Username: "u", Password: "p"}
	if got := fmt.Sprint(c.Validate()); !strings.Contains(got, "give the portal") {
		t.Errorf("path in base_url: %s", got)
	}
}

func TestConfigReadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	c := Config{Username: "u", PasswordFile: pw}
	if errs := c.ReadSecretFiles(); len(errs) != 0 || c.Password.Value() != "from-file" {
		t.Fatalf("%v %q", errs, c.Password.Value())
	}
	c = Config{Username: "u", Password: "x", PasswordFile: pw, UsernameFile: filepath.Join(dir, "missing")}
	got := fmt.Sprint(c.ReadSecretFiles())
	if !strings.Contains(got, "password_file: set password or password_file, not both") || !strings.Contains(got, "username_file: set username") {
		t.Fatalf("%s", got)
	}
}

func TestResolveStart(t *testing.T) {
	now := time.Date(2026, 3, 10, 5, 42, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                        time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC),
		"30d":                       time.Date(2026, 2, 8, 5, 0, 0, 0, time.UTC),
		"2026-03-09T22:00:00Z":      time.Date(2026, 3, 9, 22, 0, 0, 0, time.UTC),
		"2026-03-10T01:00:00+01:00": time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ResolveStart(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2026-03-10T01:30:00+05:30x", "2026-03-10T01:00:00+05:30", "-2h", "yesterday"} {
		if _, err := ResolveStart(in, now); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}
