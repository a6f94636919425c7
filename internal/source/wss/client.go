package wss

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// defaultTimeout applies to the client New builds when given none.
const defaultTimeout = 60 * time.Second

// Client fetches one window of audit records per call. It is safe for
// concurrent use.
type Client struct {
	cfg      Config
	endpoint string // scheme://host/path?basequery, no credentials
	baseQ    string // query already present in BaseURL, kept first
	hc       *http.Client
	auth     string // the Authorization header value
	// idle, when set, aborts an exchange when the server sends nothing for
	// that long (waiting for headers, or inside one body read). Used instead
	// of http.Client.Timeout for the default client: a whole-request
	// deadline would fail every large day, on every retry.
	idle time.Duration
	now  func() time.Time
}

// New checks cfg (after WithDefaults) and builds a Client. It does no
// network I/O. httpClient carries the caller's TLS settings and timeouts;
// nil means a client whose every phase (connect, headers, each body read)
// must make progress within 60 s.
func New(cfg Config, httpClient *http.Client) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, errors.New("wss: base_url is not a valid URL")
	}
	path := cfg.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	baseQ := u.RawQuery
	u.RawQuery, u.Fragment = "", ""

	c := &Client{cfg: cfg, endpoint: u.String(), baseQ: baseQ, hc: httpClient, now: time.Now}
	if cfg.Username != "" || cfg.Password != "" {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password.Value()))
	}
	if c.hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = defaultTimeout
		c.hc = &http.Client{Transport: t}
		c.idle = defaultTimeout
	} else {
		hc := *c.hc // the caller's client keeps its own redirect policy
		c.hc = &hc
	}
	c.hc.CheckRedirect = checkRedirect
	if cfg.IdleTimeout > 0 {
		c.idle = cfg.IdleTimeout
	}
	return c, nil
}

// BuildURL returns the request URL for the window [start, end). It holds
// no secret, so it may be logged.
func (c *Client) BuildURL(start, end time.Time) string {
	from, to := c.dates(start, end)
	var q strings.Builder
	q.WriteString(c.endpoint)
	q.WriteByte('?')
	q.WriteString(c.baseQ)
	sep := c.baseQ != ""
	param := func(k, v string) {
		if sep {
			q.WriteByte('&')
		}
		sep = true
		q.WriteString(url.QueryEscape(k))
		q.WriteByte('=')
		q.WriteString(v)
	}
	param(c.cfg.StartParam, url.QueryEscape(from))
	param(c.cfg.EndParam, url.QueryEscape(to))
	param(c.cfg.FormatParam, url.QueryEscape(c.cfg.Format))
	c.filter(param, c.cfg.ObjectTypeParam, c.cfg.ObjectTypes)
	c.filter(param, c.cfg.OperationTypeParam, c.cfg.OperationTypes)
	return q.String()
}

func (c *Client) filter(param func(k, v string), name string, values []string) {
	var vs []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, url.QueryEscape(v))
		}
	}
	if len(vs) == 0 {
		return
	}
	if c.cfg.FilterStyle == FilterComma {
		// The comma stays literal: it is legal in a query and is what a
		// server splitting on "," expects to see.
		param(name, strings.Join(vs, ","))
		return
	}
	for _, v := range vs {
		param(name, v)
	}
}

// dates renders the window bounds. Rounding only ever widens the window:
// records are deduplicated downstream, missing one is the worse failure.
func (c *Client) dates(start, end time.Time) (string, string) {
	start, end = start.UTC(), end.UTC()
	switch c.cfg.DateFormat {
	case DateFormatEpochMS:
		ms := end.UnixMilli()
		if end.After(time.UnixMilli(ms)) {
			ms++
		}
		return strconv.FormatInt(start.UnixMilli(), 10), strconv.FormatInt(ms, 10)
	case DateFormatRFC3339:
		e := end.Truncate(time.Second)
		if e.Before(end) {
			e = e.Add(time.Second)
		}
		return start.Truncate(time.Second).Format(time.RFC3339), e.Format(time.RFC3339)
	}
	const day = "2006-01-02"
	last := end.Add(-time.Nanosecond)
	if !c.cfg.EndInclusiveDay {
		y, m, d := last.Date()
		last = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	}
	return start.Format(day), last.Format(day)
}

// Fetch GETs the window [start, end) and streams its records to fn, one
// call per element of the records array with that element's raw JSON (the
// slice is reused after fn returns). It returns how many calls to fn
// returned nil, and an error classified as AuthError, RateLimitError,
// StatusError, BodyError, LimitError, a wrapped transport or context
// error, or fn's own error unchanged. On any error the records already
// passed to fn belong to a failed attempt: roll them back. A record over
// max_record_bytes or max_record_depth fails the fetch: see FetchTo.
func (c *Client) Fetch(ctx context.Context, start, end time.Time, fn func(raw []byte) error) (int, error) {
	return c.FetchTo(ctx, start, end, Handlers{Record: fn})
}

// FetchTo is Fetch with every handler: records over the limits go to
// h.Skipped (the window goes on), progress to h.Progress. The fetch fails
// with a *LimitError after window_timeout or past max_window_records.
func (c *Client) FetchTo(ctx context.Context, start, end time.Time, h Handlers) (int, error) {
	if !end.After(start) {
		return 0, fmt.Errorf("wss: empty window [%s, %s)", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	fn := h.Record
	if fn == nil {
		fn = func([]byte) error { return nil }
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, c.BuildURL(start, end), nil)
	if err != nil {
		return 0, fmt.Errorf("wss: building the request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}

	clock := startWindowClock(c.cfg.WindowTimeout, func() { cancel(errWindowTimeout) })
	defer clock.stop()
	var stall *time.Timer
	if c.idle > 0 {
		stall = time.AfterFunc(c.idle, func() { cancel(&stallError{c.idle}) })
		defer stall.Stop()
	}
	resp, err := c.hc.Do(req)
	if stall != nil {
		stall.Stop() // from here on it runs only while a body read waits
	}
	m := &meter{start: clock.start, every: c.cfg.ProgressEvery, last: clock.start, report: h.Progress}
	if err != nil {
		var re *RedirectError
		if errors.As(err, &re) {
			return 0, re
		}
		return 0, c.transportErr(ctx, reqCtx, "request failed", err, false, m)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, c.statusErr(resp)
	}

	m.r = resp.Body
	var body io.Reader = m
	if stall != nil {
		body = &progressReader{r: m, t: stall, d: c.idle}
	}
	var (
		ctxErr, limitErr error
		calls            int // records met, skipped ones included
	)
	m.records = &calls
	// met counts a record against max_window_records and, now and then,
	// looks for a cancel: a body already buffered would never notice one.
	met := func() error {
		if calls++; calls > c.cfg.MaxWindowRecords {
			limitErr = c.tooManyRecords(m)
			return limitErr
		}
		if calls&255 == 0 {
			if ctxErr = reqCtx.Err(); ctxErr != nil {
				return ctxErr
			}
		}
		return nil
	}
	opts := decodeOptions{path: c.cfg.RecordsPath, maxRecord: c.cfg.MaxRecordBytes, maxDepth: c.cfg.MaxRecordDepth,
		record: func(raw []byte) error {
			if err := met(); err != nil {
				return err
			}
			clock.pause()
			defer clock.resume()
			return fn(raw)
		}}
	if h.Skipped != nil {
		opts.skipped = func(sk SkippedRecord) error {
			if err := met(); err != nil {
				return err
			}
			clock.pause()
			defer clock.resume()
			return h.Skipped(sk)
		}
	}
	n, err, fromFn := decodeWith(body, opts)
	switch {
	case err == nil:
		return n, nil
	case fromFn && limitErr != nil && err == limitErr:
		return n, err
	case fromFn && ctxErr != nil && err == ctxErr:
		if ctx.Err() == nil {
			return n, c.transportErr(ctx, reqCtx, fmt.Sprintf("reading the body after %d records", n), err, true, m)
		}
		return n, fmt.Errorf("wss: fetch aborted after %d records: %w", n, err)
	case fromFn:
		return n, err
	}
	if ctx.Err() != nil || context.Cause(reqCtx) != nil {
		return n, c.transportErr(ctx, reqCtx, fmt.Sprintf("reading the body after %d records", n), err, true, m)
	}
	var be *BodyError
	if errors.As(err, &be) {
		if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
			be.Msg += fmt.Sprintf(" (Content-Type %q)", excerpt([]byte(ct), 100))
		}
		be.Msg = c.redact(be.Msg)
	}
	return n, err
}

func (c *Client) tooManyRecords(m *meter) *LimitError {
	return &LimitError{Setting: "max_window_records", Msg: fmt.Sprintf(
		"the WSS response holds more than %d records (max_window_records), %d bytes read in %s: "+
			"a response that never ends, or a window too wide for one response; narrow the source's window or raise max_window_records",
		c.cfg.MaxWindowRecords, m.bytes, time.Since(m.start).Round(time.Second))}
}

func (c *Client) windowTimedOut(m *meter) *LimitError {
	recs := 0
	if m.records != nil {
		recs = *m.records
	}
	return &LimitError{Setting: "window_timeout", Msg: fmt.Sprintf(
		"the WSS response was not complete after %s (window_timeout; time spent waiting for outputs not counted), %d records and %d bytes read: "+
			"a server too slow or a response that never ends; narrow the source's window or raise window_timeout",
		c.cfg.WindowTimeout, recs, m.bytes)}
}

// transportErr wraps a failure of the exchange itself, naming the cause
// that matters: the caller's cancel, window_timeout, our stall timer, or
// the network.
func (c *Client) transportErr(parent, reqCtx context.Context, what string, err error, inBody bool, m *meter) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("wss: %s: %w", what, perr)
	}
	if context.Cause(reqCtx) == errWindowTimeout {
		return c.windowTimedOut(m)
	}
	var se *stallError
	if errors.As(context.Cause(reqCtx), &se) {
		if inBody {
			return &BodyError{Msg: what, Err: se}
		}
		err = se
	}
	return fmt.Errorf("wss: %s: %w", what, err)
}

// statusErr reads a little of a non-2xx body and classifies the answer.
func (c *Client) statusErr(resp *http.Response) error {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxExcerpt))
	// Drain a little more so the connection can be reused; give up on
	// anything bigger.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	body := c.redact(excerpt(head, maxExcerpt))
	if len(body) > maxExcerpt { // redaction could in theory lengthen it
		body = excerpt([]byte(body), maxExcerpt)
	}
	status := resp.StatusCode
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		msg := msg401
		if status == http.StatusForbidden {
			msg = msg403
		}
		if body != "" {
			msg += "; the server said: " + body
		}
		return &AuthError{Status: status, Msg: msg}
	case status == http.StatusTooManyRequests,
		status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		return &RateLimitError{Status: status, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now())}
	}
	return &StatusError{Status: status, Body: body}
}

// redact removes the credential from server-sent text, in case a server
// or proxy echoes the request back. A password under 4 bytes is left
// alone: replacing it would mangle ordinary text and hide nothing.
func (c *Client) redact(s string) string {
	if p := c.cfg.Password.Value(); len(p) >= 4 {
		s = strings.ReplaceAll(s, p, redacted)
	}
	if tok := strings.TrimPrefix(c.auth, "Basic "); tok != "" {
		s = strings.ReplaceAll(s, tok, redacted)
	}
	return s
}

// stallError: the transfer made no progress for d.
type stallError struct{ d time.Duration }

func (e *stallError) Error() string   { return fmt.Sprintf("no data from the WSS API for %s", e.d) }
func (e *stallError) Timeout() bool   { return true }
func (e *stallError) Temporary() bool { return true }

// progressReader arms the stall timer only while a read waits, so time
// spent in the caller's callback (a slow output, backpressure) is never
// mistaken for a stalled server.
type progressReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	p.t.Reset(p.d)
	n, err := p.r.Read(b)
	p.t.Stop()
	return n, err
}
