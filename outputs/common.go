package outputs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
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

// ReadSecretFile reads a secret from a file (a *_file key), without the
// trailing newline editors add. An empty file is an error naming key.
func ReadSecretFile(key, path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", key, path)
	}
	return Secret(s), nil
}

// HTTPTransport is the transport HTTP outputs share: t's TLS, bounded
// dial and handshake times, proxies from the environment.
func HTTPTransport(t TLS) (*http.Transport, error) {
	tlsConf, err := t.Config()
	if err != nil {
		return nil, err
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}, nil
}
