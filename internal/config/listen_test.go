package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsListen(t *testing.T) {
	t.Setenv("AUDITFWD_TEST_PORT", "9999")
	cases := []struct {
		name, yaml, want, err string
	}{
		// The sources' credentials are not needed, nor set.
		{"default", minimal, "127.0.0.1:9464", ""},
		{"set", "metrics: {listen: \"0.0.0.0:1234\"}\n" + minimal, "0.0.0.0:1234", ""},
		{"disabled", "metrics: {listen: \"\"}\n" + minimal, "", ""},
		{"expanded", "metrics: {listen: \"127.0.0.1:${AUDITFWD_TEST_PORT}\"}\n", "127.0.0.1:9999", ""},
		{"unset variable", "metrics: {listen: \"127.0.0.1:${AUDITFWD_NOT_SET}\"}\n", "", "metrics.listen: environment variable AUDITFWD_NOT_SET is not set"},
		{"bad address", "metrics: {listen: nonsense}\n", "", "must be host:port"},
		{"empty file", "", "", "empty"},
		{"not yaml", "metrics: [\n", "", "not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := MetricsListen(path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
