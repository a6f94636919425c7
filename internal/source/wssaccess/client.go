// Package wssaccess is the protocol half of the wss_access source: the
// client of the Broadcom WSS (Cloud SWG) access-log Sync API, as the public
// clients use it (docs/wss-sync-api.md).
//
// # One request
//
//	GET {base_url}/reportpod/logs/sync?startDate=<ms>&endDate=<ms|0>&token=<none|token>
//	X-APIUsername, X-APIPassword
//
// startDate is a whole UTC hour (anything else is refused before sending);
// endDate 0 means "up to now"; token is "none" on the first call and after
// a restart, else the token of the previous trailer. The client refuses a
// startDate older than retention (100 days, or a year with hosted
// reporting) before any request (*RetentionError).
//
// # The body
//
// A 200 body is a ZIP of gzipped ELFF files followed by a text trailer:
//
//	X-sync-token: <token>
//	X-sync-status: more|done|abort
//
// The body is spooled to a file under the source's directory (0600,
// bounded by max_archive_bytes: *SpoolLimitError past it) and the trailer
// is parsed from its last 2 KiB (ParseTrailer: strict; a missing or
// malformed trailer, an unknown status or an oversized token is a
// *TrailerError, never a panic). The ZIP's end is found from its end of
// central directory record, so Response.ZipSize is exactly the archive:
//
//   - only the trailer: no data, ZipSize 0 (Status done, usually the same
//     token: poll again after poll_interval);
//   - a ZIP and more: decode it, commit it with the new token, fetch again
//     at once; done: decode, commit, poll later;
//   - abort: the last file may be cut. Nothing is returned but an
//     *AbortError: repeat the same request with the same token;
//   - the start of a ZIP without its end (the ~203-byte bodies of the
//     public notes), with or without trailer: *PartialArchiveError, restart
//     with token=none;
//   - bytes that are neither: *NotArchiveError, repeat.
//
// # Statuses
//
// 400 is a *DateError naming the dates (fatal: fix start or the clock);
// 401/403 a *wss.AuthError (fatal, the secret is never printed); 410 a
// *TokenExpiredError (errors.Is ErrTokenExpired): restart from the hour of
// the last delivered record with token=none, dedup drops the lines that
// come again; 423 and 503 a *BusyError with a jittered wait that grows with
// consecutive busy answers (a Retry-After header wins); 429 a
// *wss.RateLimitError with the Retry-After (seconds or HTTP date); other
// 5xx a temporary *wss.StatusError. A redirect to another origin is
// refused as by the audit source (*wss.RedirectError), and the credential
// headers are stripped from any redirect followed. Advise maps every error
// to repeat / restart / fatal and a wait.
//
// # Pace and concurrency
//
// Broadcom allows few concurrent downloads per credential (503 when
// exceeded). A Client runs one request at a time (Fetch calls are
// serialised by a mutex) and leaves at least min_request_interval between
// two requests; one Client per credential is the caller's rule: two
// sources sharing a credential must share a Client.
//
// Nothing here commits anything: the caller decodes the archive, delivers,
// and saves the token with its queues' commit marks; a crash before that
// repeats the request with the old token.
package wssaccess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditfwd/auditfwd/internal/source/wss"
	"github.com/auditfwd/auditfwd/outputs"
)

// NoToken is the token of a first request or a restart.
const NoToken = "none"

// Waits suggested for 423 and 503 (Sekoia's retries back off from 60 s to
// 360 s on 423); they double with each consecutive busy answer up to the
// cap, and get up to half again as jitter so that several agents do not
// come back together.
const (
	busyBase = 60 * time.Second
	busyCap  = 6 * time.Minute
)

// Request is one call: Start on a whole hour, End zero for "now", Token
// empty or NoToken for none.
type Request struct {
	Start time.Time
	End   time.Time
	Token string
}

// Response is a usable 200 answer. The ZIP is the first ZipSize bytes of
// File (Archive); the caller must Close it, which removes the spool file.
type Response struct {
	File    *os.File
	Path    string
	Size    int64 // the whole body
	ZipSize int64 // the bytes before the trailer; 0 = no data
	Token   string
	Status  Status // StatusMore or StatusDone (abort is an *AbortError)
	URL     string // the request URL, without credentials
}

// Archive is the ZIP part of the body, for archive/zip.NewReader.
func (r *Response) Archive() *io.SectionReader { return io.NewSectionReader(r.File, 0, r.ZipSize) }

// Close closes and removes the spool file.
func (r *Response) Close() error {
	err := r.File.Close()
	if rerr := os.Remove(r.Path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// Client calls the Sync API for one credential.
type Client struct {
	cfg      Config
	endpoint string
	hc       *http.Client
	spool    *Spool
	idle     time.Duration

	// Now and Jitter are the clock and the jitter source (tests fix them).
	Now    func() time.Time
	Jitter func(max time.Duration) time.Duration

	mu   sync.Mutex // one request at a time
	last time.Time  // when the last request started
	busy int        // consecutive 423/503 answers
}

// New checks cfg and builds a Client whose answers are spooled under
// spoolDir (the source's own directory: stale spool files in it are
// removed). httpClient nil means one built from cfg.TLS; either way the
// audit source's redirect policy replaces the client's. No network I/O.
func New(cfg Config, httpClient *http.Client, spoolDir string) (*Client, error) {
	cfg = cfg.WithDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("wss_access: %w", errors.Join(errs...))
	}
	sp, err := OpenSpool(spoolDir, int64(cfg.MaxArchiveBytes))
	if err != nil {
		return nil, err
	}
	var hc http.Client
	if httpClient != nil {
		hc = *httpClient
	} else {
		tr, err := outputs.HTTPTransport(cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("wss_access: %w", err)
		}
		tr.ResponseHeaderTimeout = cfg.RequestTimeout.D()
		// The transport's own gzip would hide nothing useful and could
		// inflate a hostile answer past max_archive_bytes unseen: the limit
		// counts the bytes we are given, as sent.
		tr.DisableCompression = true
		hc.Transport = tr
	}
	hc.CheckRedirect = wss.CheckRedirect
	return &Client{
		cfg: cfg, endpoint: cfg.BaseURL + DefaultPath, hc: &hc, spool: sp, idle: cfg.RequestTimeout.D(),
		Now:    time.Now,
		Jitter: func(max time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(max) + 1)) },
	}, nil
}

// BuildURL is the request URL of r. It holds no secret.
func (c *Client) BuildURL(r Request) string {
	tok := r.Token
	if tok == "" {
		tok = NoToken
	}
	end := int64(0)
	if !r.End.IsZero() {
		end = r.End.UnixMilli()
	}
	return c.endpoint + "?startDate=" + strconv.FormatInt(r.Start.UnixMilli(), 10) +
		"&endDate=" + strconv.FormatInt(end, 10) + "&token=" + url.QueryEscape(tok)
}

// check refuses what the server would refuse, or what must not be asked.
func (c *Client) check(r Request) error {
	if r.Start.IsZero() || !r.Start.Equal(r.Start.Truncate(time.Hour)) || r.Start.UnixMilli()%3_600_000 != 0 {
		return fmt.Errorf("wss_access: startDate %s is not a whole UTC hour", r.Start.UTC().Format(time.RFC3339Nano))
	}
	if !r.End.IsZero() && !r.End.After(r.Start) {
		return fmt.Errorf("wss_access: endDate %s is not after startDate %s", r.End.UTC().Format(time.RFC3339), r.Start.UTC().Format(time.RFC3339))
	}
	if oldest := c.Now().Add(-c.cfg.Retention.D()); r.Start.Before(oldest) {
		return &RetentionError{Start: r.Start, Oldest: oldest, Retention: c.cfg.Retention.D()}
	}
	if len(r.Token) > MaxTokenLen || !printable(r.Token) {
		return fmt.Errorf("wss_access: token of %d bytes is not a printable ASCII string of at most %d", len(r.Token), MaxTokenLen)
	}
	return nil
}

// Fetch runs one request and returns the spooled answer, or an error that
// Advise classifies. It waits out min_request_interval first (returning the
// context's error if ctx ends), and holds the Client while it runs.
func (c *Client) Fetch(ctx context.Context, r Request) (*Response, error) {
	if err := c.check(r); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := c.last.Add(c.cfg.MinRequestInterval.D()).Sub(c.Now()); !c.last.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	c.last = c.Now()
	resp, err := c.do(ctx, r)
	var be *BusyError
	if errors.As(err, &be) {
		c.busy++
	} else {
		c.busy = 0
	}
	return resp, err
}

func (c *Client) do(ctx context.Context, r Request) (*Response, error) {
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := c.BuildURL(r)
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("wss_access: building the request: %w", err)
	}
	req.Header.Set("X-APIUsername", c.cfg.Username)
	req.Header.Set("X-APIPassword", c.cfg.Password.Value())
	req.Header.Set("User-Agent", wss.DefaultUserAgent)

	stall := time.AfterFunc(c.idle, func() { cancel(errStall) })
	defer stall.Stop()
	hresp, err := c.hc.Do(req)
	stall.Stop()
	if err != nil {
		var re *wss.RedirectError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, c.transportErr(ctx, reqCtx, "request failed", err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		return nil, c.statusErr(hresp, r)
	}
	f, size, err := c.spool.fill(&idleReader{r: hresp.Body, t: stall, d: c.idle})
	if err != nil {
		var sle *SpoolLimitError
		if errors.As(err, &sle) {
			return nil, err
		}
		return nil, c.transportErr(ctx, reqCtx, "reading the body", err)
	}
	zipSize, tr, err := layout(f, size)
	if err == nil && tr.Status == StatusAbort {
		err = &AbortError{Token: tr.Token}
	}
	if err != nil {
		discard(f)
		return nil, err
	}
	return &Response{File: f, Path: f.Name(), Size: size, ZipSize: zipSize, Token: tr.Token, Status: tr.Status, URL: u}, nil
}

var errStall = errors.New("no data from the WSS Sync API for request_timeout")

func (c *Client) transportErr(parent, reqCtx context.Context, what string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("wss_access: %s: %w", what, perr)
	}
	if context.Cause(reqCtx) == errStall {
		return fmt.Errorf("wss_access: %s: %w (%s): %w", what, errStall, c.idle, context.DeadlineExceeded)
	}
	return fmt.Errorf("wss_access: %s: %w", what, err)
}

// statusErr classifies a non-200 answer from its status and a little of
// its body (sanitized, the password removed in case it is echoed).
func (c *Client) statusErr(resp *http.Response, r Request) error {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // let the connection be reused
	body := wss.Excerpt(head, 300)
	if p := c.cfg.Password.Value(); len(p) >= 4 {
		body = strings.ReplaceAll(body, p, "[REDACTED]")
	}
	retry := wss.ParseRetryAfter(resp.Header.Get("Retry-After"), c.Now())
	switch s := resp.StatusCode; {
	case s == http.StatusBadRequest:
		end := int64(0)
		if !r.End.IsZero() {
			end = r.End.UnixMilli()
		}
		return &DateError{StartDate: r.Start.UnixMilli(), EndDate: end, Body: body}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		msg := "WSS Sync API rejected the credential (401): check username/password or whether the API credential expired"
		if s == http.StatusForbidden {
			msg = "WSS Sync API refused access (403): the API credential lacks \"Reporting Access Logs\""
		}
		if body != "" {
			msg += "; the server said: " + body
		}
		return &wss.AuthError{Status: s, Msg: msg}
	case s == http.StatusGone:
		return &TokenExpiredError{Body: body}
	case s == http.StatusLocked || s == http.StatusServiceUnavailable:
		wait := retry
		if wait == 0 {
			wait = c.busyWait()
		}
		return &BusyError{Status: s, Wait: wait, Body: body}
	case s == http.StatusTooManyRequests:
		return &wss.RateLimitError{Status: s, RetryAfter: retry}
	}
	return &wss.StatusError{Status: resp.StatusCode, Body: body}
}

// busyWait is the jittered, growing wait after the (c.busy+1)th
// consecutive 423/503.
func (c *Client) busyWait() time.Duration {
	d := busyBase
	for i := 0; i < c.busy && d < busyCap; i++ {
		d *= 2
	}
	d = min(d, busyCap)
	return d + c.Jitter(d/2)
}

// idleReader arms the stall timer only while a read waits: a body that
// stops flowing for request_timeout fails, a long steady one does not.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (p *idleReader) Read(b []byte) (int, error) {
	p.t.Reset(p.d)
	n, err := p.r.Read(b)
	p.t.Stop()
	return n, err
}
