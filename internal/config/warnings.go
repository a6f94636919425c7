package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// Warning is a setting that works but weakens security: run logs it at
// start, check and validate print it. It is not an error, because each
// has a legitimate use (a lab, a collector on a trusted link).
type Warning struct {
	Path    string // the key, like outputs[1].url
	Message string // what is at risk and how to fix it
}

func (w Warning) String() string { return w.Path + ": " + w.Message }

// Warnings returns every such setting in c, a validated config. It also
// stats state_dir: the only one that looks at the disk.
func Warnings(c *Config) []Warning {
	var ws []Warning
	add := func(path, format string, a ...any) {
		ws = append(ws, Warning{Path: path, Message: fmt.Sprintf(format, a...)})
	}
	if w, ok := stateDirWarning(c.StateDir); ok {
		ws = append(ws, w)
	}
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		base, skip := s.BaseURL, s.TLS.InsecureSkipVerify
		if s.Access != nil {
			base, skip = s.Access.BaseURL, s.Access.TLS.InsecureSkipVerify
		}
		if cleartext(base) {
			add(p+".base_url", "is http://: the WSS username and password go over the network unencrypted; use https://")
		}
		if skip {
			add(p+".tls.insecure_skip_verify", skipVerify)
		}
	}
	for i, o := range c.Outputs {
		p := fmt.Sprintf("outputs[%d]", i)
		switch {
		case o.Elasticsearch != nil:
			es := o.Elasticsearch
			if es.Username != "" || es.Password != "" || es.PasswordFile != "" || es.APIKey != "" || es.APIKeyFile != "" {
				for j, a := range es.Addresses {
					if cleartext(a) {
						add(fmt.Sprintf("%s.addresses[%d]", p, j), "is http://: the Elasticsearch credentials (and the audit records) go over the network unencrypted; use https://")
					}
				}
			}
			if es.TLS.InsecureSkipVerify {
				add(p+".tls.insecure_skip_verify", skipVerify)
			}
		case o.SplunkHEC != nil:
			if cleartext(o.SplunkHEC.URL) {
				add(p+".url", "is http://: the HEC token (and the audit records) go over the network unencrypted; use https://")
			}
			if o.SplunkHEC.TLS.InsecureSkipVerify {
				add(p+".tls.insecure_skip_verify", skipVerify)
			}
		case o.Kafka != nil:
			k := o.Kafka
			// PLAIN sends the password as it is. SCRAM without TLS is not
			// warned about: its challenge-response never sends the
			// password, and the records themselves are in the clear on any
			// output without TLS, which is a choice, not a leak.
			if strings.EqualFold(k.SASL.Mechanism, "PLAIN") && !k.TLSEnabled() && !allLoopback(k.Brokers) {
				add(p+".sasl.mechanism", "PLAIN without TLS sends the Kafka password unencrypted: set tls.enabled: true, or use SCRAM-SHA-512")
			}
			if k.TLS.InsecureSkipVerify {
				add(p+".tls.insecure_skip_verify", skipVerify)
			}
		case o.Syslog != nil:
			if o.Syslog.TLS.InsecureSkipVerify {
				add(p+".tls.insecure_skip_verify", skipVerify)
			}
		}
	}
	return ws
}

const skipVerify = "is true: the server's certificate is not checked, so anyone on the path can impersonate it and read the credentials and records; give tls.ca_file instead"

// stateDirWarning: state_dir holds the raw audit records (queues, dead
// letters) and the cursors; nobody but the agent's user should read it.
// A directory not made yet is no warning: auditfwd creates it private.
func stateDirWarning(dir string) (Warning, bool) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return Warning{}, false
	}
	m := fi.Mode().Perm()
	if m&0o077 == 0 {
		return Warning{}, false
	}
	return Warning{Path: "state_dir", Message: fmt.Sprintf(
		"%s has mode %04o: group or others can read the audit records, queues and dead letters in it; run: chmod 700 %s", dir, m, dir)}, true
}

// cleartext says whether a URL is http:// to another machine. Loopback is
// left alone: the credential does not leave the host (the demo, a local
// sidecar or proxy).
func cleartext(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	return !loopback(u.Hostname())
}

func allLoopback(hostports []string) bool {
	for _, hp := range hostports {
		h, _, err := net.SplitHostPort(hp)
		if err != nil || !loopback(h) {
			return false
		}
	}
	return len(hostports) > 0
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
