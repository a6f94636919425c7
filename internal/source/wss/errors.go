package wss

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// AuthError: the API refused the credential (401) or its permissions (403).
// Retrying soon cannot help; an operator must act.
type AuthError struct {
	Status int
	Msg    string
}

func (e *AuthError) Error() string { return e.Msg }

const (
	msg401 = "WSS API rejected the credential (401): check username/password or whether the API credential expired"
	msg403 = "WSS API refused access (403): the API credential lacks the \"Audit Logs\" access (Account Configuration > API Credentials)"
)

// RateLimitError: 429, or 503 with a Retry-After header. RetryAfter is 0
// when the server gave no usable hint; the caller then uses its own default.
type RateLimitError struct {
	RetryAfter time.Duration
	Status     int
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("WSS API rate limit (HTTP %d): retry after %s", e.Status, e.RetryAfter)
	}
	return fmt.Sprintf("WSS API rate limit (HTTP %d), no usable Retry-After (missing, negative or not a number of seconds or an HTTP date): backing off", e.Status)
}

// StatusError: any other non-2xx answer. Body is a short sanitized excerpt.
type StatusError struct {
	Status int
	Body   string
}

// Temporary is true for server-side trouble (5xx, 408, 425, 429); other 4xx
// mean the request is wrong (path, parameter names) and will stay wrong.
func (e *StatusError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusRequestTimeout ||
		e.Status == http.StatusTooEarly || e.Status == http.StatusTooManyRequests
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "WSS API returned HTTP %d", e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	switch {
	case e.Status == http.StatusNotFound:
		b.WriteString(" (check base_url and path)")
	case e.Status == http.StatusBadRequest:
		b.WriteString(" (check date_format, parameter names and filter values)")
	case !e.Temporary() && e.Status >= 400:
		b.WriteString(" (check the source configuration)")
	}
	if e.Body != "" {
		b.WriteString(": ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// BodyError: a 2xx answer whose body is not a usable records document
// (truncated, not JSON, HTML, no records array, record too large) or whose
// transfer broke off. A fresh attempt may well succeed.
type BodyError struct {
	Msg string
	Err error
}

func (e *BodyError) Error() string {
	if e.Err != nil {
		return "WSS response body: " + e.Msg + ": " + e.Err.Error()
	}
	return "WSS response body: " + e.Msg
}

func (e *BodyError) Unwrap() error { return e.Err }

// LimitError: one window's response went past a per-window bound, Setting
// (window_timeout, max_window_records). The same request will most likely
// do it again: the message says what to change.
type LimitError struct {
	Setting string
	Msg     string
}

func (e *LimitError) Error() string { return e.Msg }

// Retryable says whether another attempt at the same window may succeed.
//
// It is true for RateLimitError, temporary StatusError, BodyError, timeouts,
// network errors and unexpected EOFs; false for AuthError, LimitError, other StatusError,
// context.Canceled, TLS certificate failures and any error it does not know,
// which includes the errors the Fetch callback returns (unless the callback
// returns one of the kinds above: the caller knows its own errors and should
// test for them first).
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var (
		ae *AuthError
		re *RateLimitError
		se *StatusError
		be *BodyError
		le *LimitError
	)
	switch {
	case errors.As(err, &ae), errors.As(err, &le):
		return false
	case errors.As(err, &re):
		return true
	case errors.As(err, &se):
		return se.Temporary()
	case errors.As(err, &be):
		return true
	}
	if isCertError(err) || isRedirectError(err) {
		return false // a configuration problem; retrying only hides it
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

func isCertError(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		ci  x509.CertificateInvalidError
		he  x509.HostnameError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cve)
}

// maxRetryAfter bounds a server's hint so a bogus header cannot park the
// poller for years (or overflow a Duration).
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads delta-seconds or an HTTP-date (relative to now).
// Absent, unparsable or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs > 0) { // also NaN
			return 0
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0
	case d > maxRetryAfter:
		return maxRetryAfter
	}
	return d
}
