package syslog

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

// Config is the syslog output's own keys. Empty keys take the defaults below;
// sample.yaml beside this file documents each one.
type Config struct {
	// Address of the collector, host:port. Required.
	Address string `yaml:"address"`
	// Network: udp | tcp | tls (default tcp). tls is RFC 5425.
	Network string `yaml:"network"`
	// Format of the syslog header: rfc5424 (default) | rfc3164.
	Format string `yaml:"format"`
	// Framing of messages on tcp and tls: octet_counting (default,
	// RFC 6587 3.4.1) | lf (one message per line). Not for udp.
	Framing string `yaml:"framing"`
	// TLS for network tls: ca_file, cert_file/key_file (client
	// certificate), server_name (default: the host of address),
	// insecure_skip_verify. Verification is on by default.
	TLS outputs.TLS `yaml:"tls"`
	// Facility: a name (kern, user, ..., authpriv, local0..local7) or a
	// number 0..23. Default authpriv (10).
	Facility string `yaml:"facility"`
	// Severity: a name (emerg, alert, crit, err, warning, notice, info,
	// debug) or a number 0..7, or auto (default): from event.outcome,
	// failure = warning (4), success = notice (5), anything else = info (6).
	Severity string `yaml:"severity"`
	// AppName: RFC 5424 APP-NAME, RFC 3164 TAG. Default auditfwd.
	AppName string `yaml:"app_name"`
	// Hostname in the header. Default: this machine's host name.
	Hostname string `yaml:"hostname"`
	// MsgID: a fixed RFC 5424 MSGID. Default: each event's event.action.
	MsgID string `yaml:"msgid"`
	// Payload, the MSG part: json (default: the ECS document) | cef | leef.
	Payload string `yaml:"payload"`
	// SDID of the RFC 5424 structured-data element. Default wss@32473.
	SDID string `yaml:"sd_id"`
	// MaxMessageBytes: the largest message, framing excluded. Default
	// 8192 on tcp and tls, 2048 on udp. At least 1024.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// Oversize: what to do with a larger message: truncate (default) |
	// dead_letter.
	Oversize string `yaml:"oversize"`
	// WriteTimeout bounds a dial, a TLS handshake, and a batch's write and
	// its acknowledgement by the collector's TCP. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// CEF header fields (payload cef).
	CEF Device `yaml:"cef"`
	// LEEF header fields (payload leef).
	LEEF Device `yaml:"leef"`
}

// Device names the product in a CEF or LEEF header, which SIEMs use to pick
// a parser.
type Device struct {
	Vendor  string `yaml:"vendor"`  // default Broadcom
	Product string `yaml:"product"` // default Web Security Service
	Version string `yaml:"version"` // default: auditfwd's version
}

// Defaults.
const (
	DefaultNetwork      = "tcp"
	DefaultFormat       = "rfc5424"
	DefaultFraming      = "octet_counting"
	DefaultFacility     = "authpriv"
	DefaultSeverity     = "auto"
	DefaultAppName      = "auditfwd"
	DefaultPayload      = "json"
	DefaultSDID         = "wss@32473"
	DefaultStreamMax    = 8192
	DefaultUDPMax       = 2048
	DefaultOversize     = "truncate"
	DefaultWriteTimeout = 10 * time.Second
	DefaultVendor       = "Broadcom"
	DefaultProduct      = "Web Security Service"

	minMessageBytes = 1024
	maxUDPBytes     = 65507 // the largest IPv4 UDP payload
	maxDeviceField  = 63
)

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13,
	"alert": 14, "clock": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

var severities = map[string]int{
	"emerg": 0, "emergency": 0, "alert": 1, "crit": 2, "critical": 2, "err": 3, "error": 3,
	"warning": 4, "warn": 4, "notice": 5, "info": 6, "informational": 6, "debug": 7,
}

// severityAuto marks a severity taken from each event's outcome.
const severityAuto = -1

func lookup(names map[string]int, s string, max int) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0 && n <= max
	}
	n, ok := names[s]
	return n, ok
}

// Validate returns every problem with the keys, each naming its key.
func (c *Config) Validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if c.Address == "" {
		add("address: required (host:port)")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil {
		add("address: %q is not host:port: %v", c.Address, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		add("address: port %q is not a number 1..65535", port)
	} else if host == "" {
		add("address: %q has no host", c.Address)
	}
	network := or(c.Network, DefaultNetwork)
	switch network {
	case "udp", "tcp", "tls":
	default:
		add("network: %q is not udp, tcp or tls", c.Network)
	}
	switch c.Format {
	case "", "rfc5424", "rfc3164":
	default:
		add("format: %q is not rfc5424 or rfc3164", c.Format)
	}
	switch c.Framing {
	case "":
	case "octet_counting", "lf":
		if network == "udp" {
			add("framing: only for tcp and tls (udp sends one message per datagram)")
		}
	default:
		add("framing: %q is not octet_counting or lf", c.Framing)
	}
	if network == "tls" {
		errs = append(errs, c.TLS.Validate()...)
		if c.TLS.Enabled != nil && !*c.TLS.Enabled {
			add("tls.enabled: false contradicts network tls")
		}
	} else if c.TLS != (outputs.TLS{Enabled: c.TLS.Enabled}) || (c.TLS.Enabled != nil && *c.TLS.Enabled) {
		add("tls: set, but network is %s (use network: tls)", network)
	}
	if c.Facility != "" {
		if _, ok := lookup(facilities, c.Facility, 23); !ok {
			add("facility: %q is not a facility name or a number 0..23", c.Facility)
		}
	}
	if c.Severity != "" && !strings.EqualFold(c.Severity, "auto") {
		if _, ok := lookup(severities, c.Severity, 7); !ok {
			add("severity: %q is not auto, a severity name or a number 0..7", c.Severity)
		}
	}
	if c.AppName != "" && !isPrintASCII(c.AppName, 48) {
		add("app_name: %q must be 1..48 printable ASCII characters without spaces", c.AppName)
	}
	if c.Hostname != "" && !isPrintASCII(c.Hostname, 255) {
		add("hostname: %q must be 1..255 printable ASCII characters without spaces", c.Hostname)
	}
	if c.MsgID != "" && !isPrintASCII(c.MsgID, 32) {
		add("msgid: %q must be 1..32 printable ASCII characters without spaces", c.MsgID)
	}
	switch c.Payload {
	case "", "json", "cef", "leef":
	default:
		add("payload: %q is not json, cef or leef", c.Payload)
	}
	if c.SDID != "" {
		if err := validSDID(c.SDID); err != nil {
			add("sd_id: %v", err)
		}
	}
	switch {
	case c.MaxMessageBytes < 0:
		add("max_message_bytes: %d is negative", c.MaxMessageBytes)
	case c.MaxMessageBytes > 0 && c.MaxMessageBytes < minMessageBytes:
		add("max_message_bytes: %d is below the minimum %d", c.MaxMessageBytes, minMessageBytes)
	case network == "udp" && c.MaxMessageBytes > maxUDPBytes:
		add("max_message_bytes: %d does not fit in a UDP datagram (max %d)", c.MaxMessageBytes, maxUDPBytes)
	}
	switch c.Oversize {
	case "", "truncate", "dead_letter":
	default:
		add("oversize: %q is not truncate or dead_letter", c.Oversize)
	}
	if c.WriteTimeout < 0 {
		add("write_timeout: %s is negative", c.WriteTimeout)
	}
	for _, d := range []struct {
		key string
		dev Device
	}{{"cef", c.CEF}, {"leef", c.LEEF}} {
		for _, f := range []struct{ name, val string }{{"vendor", d.dev.Vendor}, {"product", d.dev.Product}, {"version", d.dev.Version}} {
			if len(f.val) > maxDeviceField {
				add("%s.%s: longer than %d bytes", d.key, f.name, maxDeviceField)
			}
		}
	}
	return errs
}

// validSDID checks an SD-ID for our own element: an SD-NAME (1..32
// PRINTUSASCII except '=', ' ', ']', '"') of the form name@number, because
// names without '@' are reserved for IANA (RFC 5424 section 6.3.2).
func validSDID(s string) error {
	if !isPrintASCII(s, 32) || strings.ContainsAny(s, `= ]"`) {
		return fmt.Errorf("%q must be 1..32 printable ASCII characters, none of '=', ']', '\"'", s)
	}
	name, pen, ok := strings.Cut(s, "@")
	if !ok || name == "" || pen == "" || strings.Trim(pen, "0123456789.") != "" {
		return fmt.Errorf("%q is not name@enterprise-number (names without '@' are reserved for IANA)", s)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// settings is a Config with every default filled in and every name turned
// into what the encoder needs.
type settings struct {
	network, address, format, framing, payload, oversize string
	facility, severity                                   int
	appName, hostname, procID, msgID, sdID               string
	max                                                  int
	timeout                                              time.Duration
	cef, leef                                            Device
}

func resolve(c Config) (settings, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return settings{}, errors.Join(errs...)
	}
	s := settings{
		network:  or(c.Network, DefaultNetwork),
		address:  c.Address,
		format:   or(c.Format, DefaultFormat),
		framing:  or(c.Framing, DefaultFraming),
		payload:  or(c.Payload, DefaultPayload),
		oversize: or(c.Oversize, DefaultOversize),
		appName:  or(c.AppName, DefaultAppName),
		hostname: c.Hostname,
		procID:   strconv.Itoa(os.Getpid()),
		msgID:    c.MsgID,
		sdID:     or(c.SDID, DefaultSDID),
		max:      c.MaxMessageBytes,
		timeout:  c.WriteTimeout,
	}
	s.facility, _ = lookup(facilities, or(c.Facility, DefaultFacility), 23)
	s.severity = severityAuto
	if sev := or(c.Severity, DefaultSeverity); !strings.EqualFold(sev, "auto") {
		s.severity, _ = lookup(severities, sev, 7)
	}
	if s.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			h = ""
		}
		s.hostname = printASCII(h, 255)
	}
	if s.max == 0 {
		s.max = DefaultStreamMax
		if s.network == "udp" {
			s.max = DefaultUDPMax
		}
	}
	if s.timeout == 0 {
		s.timeout = DefaultWriteTimeout
	}
	s.cef = c.CEF.withDefaults()
	s.leef = c.LEEF.withDefaults()
	return s, nil
}

func (d Device) withDefaults() Device {
	return Device{
		Vendor:  or(d.Vendor, DefaultVendor),
		Product: or(d.Product, DefaultProduct),
		Version: or(d.Version, version()),
	}
}

// version is auditfwd's module version as the binary was built, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
