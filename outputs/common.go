package outputs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Secret is a credential in an output's config. It prints as [REDACTED]
// everywhere (%v, %s, %#v, JSON, YAML), so it cannot leak into a log line.
type Secret string

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString redacts (%#v).
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Value is the secret itself, for the one place that sends it.
func (s Secret) Value() string { return string(s) }

// TLS is an output's client TLS. Verification is on unless
// insecure_skip_verify is set.
type TLS struct {
	Enabled            *bool  `yaml:"enabled"` // default: on for https/tls addresses
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Validate checks the keys that go together.
func (t TLS) Validate() []error {
	var errs []error
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, fmt.Errorf("tls: cert_file and key_file go together"))
	}
	return errs
}

// Config builds a tls.Config (TLS 1.2 or later).
func (t TLS) Config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
