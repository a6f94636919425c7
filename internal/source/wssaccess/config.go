package wssaccess

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/internal/source/wss"
	"github.com/auditfwd/auditfwd/outputs"
)

// Defaults of the keys left empty.
const (
	DefaultPollInterval       = 60 * time.Second
	DefaultMinRequestInterval = 5 * time.Second // Sekoia's pace: one request per 5 s per credential
	DefaultMaxArchiveBytes    = 2 << 30
	DefaultRetention          = 100 * 24 * time.Hour // KB 171420; 1 year with hosted reporting
	DefaultRequestTimeout     = 60 * time.Second
	DefaultStart              = "2h" // Broadcom does not promise the last ~2 hours complete
	MaxRetention              = 366 * 24 * time.Hour
	// DefaultPath is where the Sync API lives under base_url.
	DefaultPath = "/reportpod/logs/sync"
)

// Config is the wss_access source's own keys. The credential keys work as
// the audit source's: ${ENV} is expanded by the config loader, and
// username_file / password_file are read by ReadSecretFiles (or by the
// loader, as it does for wss_audit).
type Config struct {
	// BaseURL is the portal, https://portal.threatpulse.com; the client
	// appends /reportpod/logs/sync.
	BaseURL      string     `yaml:"base_url"`
	Username     string     `yaml:"username"`
	UsernameFile string     `yaml:"username_file"`
	Password     wss.Secret `yaml:"password"`
	PasswordFile string     `yaml:"password_file"`
	// Start is where a source without state begins: an RFC 3339 time on a
	// whole UTC hour, or a duration back from now (720h, 30d) cut to its
	// hour. Default 2h.
	Start string `yaml:"start"`
	// PollInterval is the wait after a "done" page.
	PollInterval Duration `yaml:"poll_interval"`
	// MinRequestInterval is the least time between two requests of this
	// credential, "more" pages included.
	MinRequestInterval Duration `yaml:"min_request_interval"`
	// MaxArchiveBytes bounds one spooled answer on disk.
	MaxArchiveBytes ByteSize `yaml:"max_archive_bytes"`
	// KeepOriginal puts the ELFF line in event.original (doubles the volume).
	KeepOriginal bool `yaml:"keep_original"`
	// Retention is how far back the API keeps logs: 100d, or 365d with
	// hosted reporting. An older start is refused before any request.
	Retention Duration `yaml:"retention"`
	// RequestTimeout bounds waiting for the answer's headers and any stall
	// of its body (no bytes for that long); a whole download may take
	// longer, since an archive can be gigabytes.
	RequestTimeout Duration    `yaml:"request_timeout"`
	TLS            outputs.TLS `yaml:"tls"`
}

// WithDefaults is c with every empty key at its default.
func (c Config) WithDefaults() Config {
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	if strings.TrimSpace(c.Start) == "" {
		c.Start = DefaultStart
	}
	defD := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	defD(&c.PollInterval, DefaultPollInterval)
	defD(&c.MinRequestInterval, DefaultMinRequestInterval)
	defD(&c.Retention, DefaultRetention)
	defD(&c.RequestTimeout, DefaultRequestTimeout)
	if c.MaxArchiveBytes == 0 {
		c.MaxArchiveBytes = DefaultMaxArchiveBytes
	}
	return c
}

// ReadSecretFiles fills username and password from their *_file keys.
func (c *Config) ReadSecretFiles() []error {
	var errs []error
	if c.UsernameFile != "" {
		if c.Username != "" {
			errs = append(errs, fmt.Errorf("username_file: set username or username_file, not both"))
		} else if v, err := outputs.ReadSecretFile("username_file", c.UsernameFile); err != nil {
			errs = append(errs, err)
		} else {
			c.Username = v.Value()
		}
	}
	if c.PasswordFile != "" {
		if c.Password != "" {
			errs = append(errs, fmt.Errorf("password_file: set password or password_file, not both"))
		} else if v, err := outputs.ReadSecretFile("password_file", c.PasswordFile); err != nil {
			errs = append(errs, err)
		} else {
			c.Password = wss.Secret(v.Value())
		}
	}
	return errs
}

// Validate returns every problem with the keys (after defaults), each
// message starting with its key. Call it after ReadSecretFiles.
func (c *Config) Validate() []error {
	d := c.WithDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	switch u, err := url.Parse(d.BaseURL); {
	case d.BaseURL == "":
		add("base_url", "required: an https URL like https://portal.threatpulse.com")
	case err != nil:
		add("base_url", "is not a valid URL (%s)", outputs.URLProblem(err))
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		add("base_url", "must be an http(s) URL like https://portal.threatpulse.com (got %s)", outputs.ShowURL(u))
	case u.User != nil:
		add("base_url", "credentials in the URL would be logged: use username/password (or the *_file keys)")
	case u.RawQuery != "" || u.Fragment != "":
		add("base_url", "%s: no query or fragment (not shown)", outputs.ShowURL(u))
	case strings.Contains(u.Path, "/reportpod"):
		add("base_url", "%s: give the portal (https://portal.threatpulse.com); the source adds %s", outputs.ShowURL(u), DefaultPath)
	}
	if d.Username == "" {
		add("username", "required (or username_file)")
	}
	if d.Password == "" {
		add("password", "required (or password_file)")
	}
	for _, f := range []struct {
		key, v string
	}{{"username", d.Username}, {"password", d.Password.Value()}} {
		if strings.ContainsAny(f.v, "\r\n") {
			add(f.key, "must be one line (value hidden)") // a header value cannot hold a newline
		}
	}
	if _, err := ResolveStart(d.Start, time.Now()); err != nil {
		add("start", "%v", err)
	}
	for _, v := range []struct {
		key string
		d   Duration
		min time.Duration
	}{
		{"poll_interval", d.PollInterval, time.Second},
		{"min_request_interval", d.MinRequestInterval, 0},
		{"request_timeout", d.RequestTimeout, time.Second},
		{"retention", d.Retention, time.Hour},
	} {
		if v.d.D() < v.min {
			add(v.key, "must be at least %s (got %s)", v.min, v.d.D())
		}
	}
	if d.Retention.D() > MaxRetention {
		add("retention", "at most %s (one year, with hosted reporting; got %s)", MaxRetention, d.Retention.D())
	}
	if d.MaxArchiveBytes < 1<<20 {
		add("max_archive_bytes", "must be at least 1MiB (got %d bytes)", d.MaxArchiveBytes)
	}
	errs = append(errs, d.TLS.Validate()...)
	return errs
}

// ResolveStart reads start: an RFC 3339 time on a whole UTC hour, or a
// duration back from now cut down to its hour (the API wants whole hours).
func ResolveStart(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := parseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must not be negative", s)
		}
		return now.Add(-d).UTC().Truncate(time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration back from now (2h, 30d) nor an RFC 3339 time", s)
	}
	if t = t.UTC(); !t.Equal(t.Truncate(time.Hour)) {
		return time.Time{}, fmt.Errorf("%q is not on a whole UTC hour (the Sync API takes whole hours: %s?)", s, t.Truncate(time.Hour).Format(time.RFC3339))
	}
	return t, nil
}

// Duration is a time.Duration written as "30s", "2h" or "100d".
type Duration time.Duration

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses a Go duration or a whole number of days ("100d").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s, 2h or 100d", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes it back as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*366 {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// ByteSize is a size written as 1048576, "512MiB", "2GiB" or "1GB".
type ByteSize int64

// UnmarshalText parses a size with an optional unit (KB=1000, KiB=1024...).
func (b *ByteSize) UnmarshalText(t []byte) error {
	s := strings.TrimSpace(string(t))
	mul := int64(1)
	for _, u := range []struct {
		sfx string
		m   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.sfx); ok {
			s, mul = strings.TrimSpace(v), u.m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mul {
		return fmt.Errorf("%q is not a size (like 1048576, 512MiB, 2GiB)", t)
	}
	*b = ByteSize(v * mul)
	return nil
}

// String writes whole days as "100d", else as time.Duration does.
func (d Duration) String() string {
	if td := time.Duration(d); td >= 24*time.Hour && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return time.Duration(d).String()
}
