package wss

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults for Config (see WithDefaults).
const (
	DefaultPath           = "/api/rest/audit/download"
	DefaultMaxRecordBytes = 8 << 20
	DefaultMaxRecordDepth = 1000
	DefaultUserAgent      = "auditfwd"
	// A day of a busy tenant is a few hundred thousand records and streams
	// in minutes: these bounds only stop a response that never ends.
	DefaultWindowTimeout    = 30 * time.Minute
	DefaultMaxWindowRecords = 5_000_000
	DefaultProgressEvery    = 30 * time.Second
)

// Date formats for the start/end parameters.
const (
	DateFormatDate    = "date"     // 2006-01-02, whole UTC days
	DateFormatEpochMS = "epoch_ms" // milliseconds since 1970, UTC
	DateFormatRFC3339 = "rfc3339"  // 2006-01-02T15:04:05Z, UTC, whole seconds
)

// Filter styles for objectType/operationType lists.
const (
	FilterRepeat = "repeat" // objectType=A&objectType=B
	FilterComma  = "comma"  // objectType=A,B
)

// Config describes one WSS audit-log endpoint. Every assumption about the
// unpublished parts of the API is a field here.
type Config struct {
	BaseURL    string // e.g. https://portal.threatpulse.com
	Path       string // default DefaultPath
	Username   string
	Password   Secret
	DateFormat string // DateFormatDate (default) | DateFormatEpochMS | DateFormatRFC3339
	StartParam string // default "startDate"
	EndParam   string // default "endDate"
	// Format is sent as FormatParam=Format. Only JSON can be decoded.
	Format             string // default "JSON"
	FormatParam        string // default "format"
	ObjectTypes        []string
	OperationTypes     []string
	ObjectTypeParam    string // default "objectType"
	OperationTypeParam string // default "operationType"
	FilterStyle        string // FilterRepeat (default) | FilterComma
	// RecordsPath locates the records array inside an object body: "" means
	// auto-detect (see Decode), else a key or a dotted path ("result.items").
	RecordsPath string
	// EndInclusiveDay applies to DateFormatDate: true sends as endDate the
	// day that contains end-1ns (the API treating endDate as inclusive);
	// false sends the day after it. The zero value is false, so callers that
	// want the inclusive default must set it.
	EndInclusiveDay bool
	UserAgent       string // default DefaultUserAgent
	// IdleTimeout, when > 0, aborts an exchange when the server sends
	// nothing for that long (headers, or one body read), also with a
	// caller's http.Client. Time the callback spends is not counted.
	IdleTimeout time.Duration
	// MaxRecordBytes bounds one record: a larger one is never buffered (a
	// hostile or broken server must not make us hold gigabytes). FetchTo
	// hands it to Handlers.Skipped; without that it fails the body.
	MaxRecordBytes int // default DefaultMaxRecordBytes
	// MaxRecordDepth bounds a record's nesting ({"a":1} is 1), handled
	// like MaxRecordBytes. At most maxDepth (encoding/json's limit).
	MaxRecordDepth int // default DefaultMaxRecordDepth
	// WindowTimeout bounds one Fetch, from the request to the body's end,
	// not counting the time the callbacks take (back-pressure). Past it
	// the fetch fails with a *LimitError.
	WindowTimeout time.Duration // default DefaultWindowTimeout
	// MaxWindowRecords bounds the records of one response (skipped ones
	// included); one more fails the fetch with a *LimitError.
	MaxWindowRecords int // default DefaultMaxWindowRecords
	// ProgressEvery is how often Handlers.Progress hears of a response
	// still being read.
	ProgressEvery time.Duration // default DefaultProgressEvery
}

// WithDefaults returns c with every empty field set to its default.
func (c Config) WithDefaults() Config {
	def := func(s *string, v string) {
		*s = strings.TrimSpace(*s)
		if *s == "" {
			*s = v
		}
	}
	c.BaseURL = strings.TrimSpace(c.BaseURL)
	def(&c.Path, DefaultPath)
	def(&c.DateFormat, DateFormatDate)
	c.DateFormat = strings.ToLower(c.DateFormat)
	def(&c.StartParam, "startDate")
	def(&c.EndParam, "endDate")
	def(&c.Format, "JSON")
	def(&c.FormatParam, "format")
	def(&c.ObjectTypeParam, "objectType")
	def(&c.OperationTypeParam, "operationType")
	def(&c.FilterStyle, FilterRepeat)
	c.FilterStyle = strings.ToLower(c.FilterStyle)
	c.RecordsPath = strings.TrimSpace(c.RecordsPath)
	def(&c.UserAgent, DefaultUserAgent)
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if c.MaxRecordDepth <= 0 {
		c.MaxRecordDepth = DefaultMaxRecordDepth
	}
	if c.WindowTimeout <= 0 {
		c.WindowTimeout = DefaultWindowTimeout
	}
	if c.MaxWindowRecords <= 0 {
		c.MaxWindowRecords = DefaultMaxWindowRecords
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	return c
}

// Validate reports every problem at once. Call it on WithDefaults' result.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("wss: "+format, a...)) }

	if c.BaseURL == "" {
		bad("base_url is empty")
	} else if u, err := url.Parse(c.BaseURL); err != nil {
		// url.Parse echoes the input, which may hold credentials: say less.
		bad("base_url is not a valid URL")
	} else {
		if u.Scheme != "http" && u.Scheme != "https" {
			bad("base_url %q: scheme must be https (or http)", u.Redacted())
		}
		if u.Host == "" {
			bad("base_url %q has no host", u.Redacted())
		}
		if u.User != nil {
			bad("base_url must not carry credentials: use username and password")
		}
		if u.Fragment != "" {
			bad("base_url %q must not have a #fragment", u.Redacted())
		}
	}
	switch c.DateFormat {
	case DateFormatDate, DateFormatEpochMS, DateFormatRFC3339:
	default:
		bad("date_format %q: want %q, %q or %q", c.DateFormat, DateFormatDate, DateFormatEpochMS, DateFormatRFC3339)
	}
	if !strings.EqualFold(c.Format, "JSON") {
		bad("format %q: only JSON bodies can be decoded", c.Format)
	}
	switch c.FilterStyle {
	case FilterRepeat, FilterComma:
	default:
		bad("filter_style %q: want %q or %q", c.FilterStyle, FilterRepeat, FilterComma)
	}
	for _, p := range []struct{ name, v string }{
		{"start_param", c.StartParam}, {"end_param", c.EndParam}, {"format_param", c.FormatParam},
		{"object_type_param", c.ObjectTypeParam}, {"operation_type_param", c.OperationTypeParam},
	} {
		if p.v == "" {
			bad("%s is empty", p.name)
		}
	}
	if c.StartParam == c.EndParam && c.StartParam != "" {
		bad("start_param and end_param are both %q", c.StartParam)
	}
	if c.RecordsPath != "" {
		for _, seg := range strings.Split(c.RecordsPath, ".") {
			if seg == "" {
				bad("records_path %q has an empty segment", c.RecordsPath)
				break
			}
		}
	}
	if c.MaxRecordBytes <= 0 {
		bad("max_record_bytes must be positive")
	}
	if c.MaxRecordDepth <= 0 || c.MaxRecordDepth > maxDepth {
		bad("max_record_depth must be between 1 and %d (got %d)", maxDepth, c.MaxRecordDepth)
	}
	return errors.Join(errs...)
}
