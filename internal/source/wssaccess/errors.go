package wssaccess

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/auditfwd/auditfwd/internal/source/wss"
)

// The errors of one Fetch. Besides the types below, Fetch returns the audit
// source's *wss.AuthError (401/403), *wss.RateLimitError (429),
// *wss.StatusError (other statuses), *wss.RedirectError, transport and
// context errors. Advise maps every one of them to what the caller does.

// ErrTokenExpired is matched (errors.Is) by a *TokenExpiredError.
var ErrTokenExpired = errors.New("wss_access: the sync token is outside the dates or has expired (HTTP 410)")

// TokenExpiredError: 410. The token cannot be used again: restart from the
// hour of the last delivered record with token=none (the lines that come
// again are dropped by dedup).
type TokenExpiredError struct {
	Body string // a sanitized excerpt of the answer
}

func (e *TokenExpiredError) Error() string {
	if e.Body != "" {
		return ErrTokenExpired.Error() + ": " + e.Body
	}
	return ErrTokenExpired.Error()
}

func (e *TokenExpiredError) Is(target error) bool { return target == ErrTokenExpired }

// DateError: 400. The server refused the dates (or the syntax): the same
// request stays wrong, so it is a configuration or clock problem to report,
// not to retry.
type DateError struct {
	StartDate, EndDate int64 // the epoch ms sent (0 = now for EndDate)
	Body               string
}

func (e *DateError) Error() string {
	end := "0 (now)"
	if e.EndDate != 0 {
		end = fmt.Sprintf("%d (%s)", e.EndDate, time.UnixMilli(e.EndDate).UTC().Format(time.RFC3339))
	}
	msg := fmt.Sprintf("WSS Sync API refused the request (HTTP 400): startDate=%d (%s) endDate=%s; "+
		"startDate must be a whole hour within the retention, endDate not in the future (check start and the host's clock)",
		e.StartDate, time.UnixMilli(e.StartDate).UTC().Format(time.RFC3339), end)
	if e.Body != "" {
		msg += "; the server said: " + e.Body
	}
	return msg
}

// BusyError: 423 (API access blocked) or 503 (too many downloads in
// progress). Wait is the suggested pause, jittered and growing with
// consecutive busy answers; then repeat the same request. Only one request
// at a time may run per credential.
type BusyError struct {
	Status int
	Wait   time.Duration
	Body   string
}

func (e *BusyError) Error() string {
	what := "access to the API is blocked for now"
	if e.Status == http.StatusServiceUnavailable {
		what = "unavailable (too many downloads in progress?)"
	}
	msg := fmt.Sprintf("WSS Sync API %s (HTTP %d): retry in %s, one request at a time per credential", what, e.Status, e.Wait.Round(time.Second))
	if e.Body != "" {
		msg += "; the server said: " + e.Body
	}
	return msg
}

// TrailerError: a 200 body without a usable X-sync trailer (missing,
// malformed, unknown status, oversized token). Nothing of it can be
// trusted: discard it and repeat the same request.
type TrailerError struct {
	Msg string
}

func (e *TrailerError) Error() string { return "WSS Sync API answer: " + e.Msg }

// PartialArchiveError: the body holds the start of a ZIP with no end of
// central directory (public notes report ~203-byte bodies like this). The
// notes advise resetting the token: restart from the hour of the last
// delivered record with token=none.
type PartialArchiveError struct {
	Size       int64 // bytes before the trailer
	HasTrailer bool
}

func (e *PartialArchiveError) Error() string {
	t := "with"
	if !e.HasTrailer {
		t = "without"
	}
	return fmt.Sprintf("WSS Sync API answer: a partial ZIP of %d bytes (no end of central directory), %s trailer: restarting without a token", e.Size, t)
}

// NotArchiveError: the bytes before the trailer are neither empty nor a ZIP
// (an HTML page from a proxy, say). Repeat the request.
type NotArchiveError struct {
	Size int64
	Head string // a sanitized excerpt of the first bytes
}

func (e *NotArchiveError) Error() string {
	return fmt.Sprintf("WSS Sync API answer: %d bytes before the trailer that are not a ZIP archive: %s", e.Size, e.Head)
}

// AbortError: the trailer says abort. The server gave up on this download
// and its last file may be cut: nothing of it is used (the spool file is
// already removed); repeat the same request with the same token.
type AbortError struct {
	Token string // the token the trailer carried (informational)
}

func (e *AbortError) Error() string {
	return "WSS Sync API aborted the download (X-sync-status: abort): the archive is discarded, repeating the request with the same token"
}

// SpoolLimitError: the body is larger than max_archive_bytes. The same
// request will most likely do it again: raise the limit (and make room in
// the state directory).
type SpoolLimitError struct {
	Limit int64
}

func (e *SpoolLimitError) Error() string {
	return fmt.Sprintf("WSS Sync API answer larger than max_archive_bytes (%d bytes): the download is discarded; raise max_archive_bytes and make room under the state directory", e.Limit)
}

// RetentionError: the start is older than the API keeps (retention); it is
// refused before any request.
type RetentionError struct {
	Start, Oldest time.Time
	Retention     time.Duration
}

func (e *RetentionError) Error() string {
	return fmt.Sprintf("wss_access: start %s is older than the Sync API's retention of %s (oldest %s): set start later, or retention to 8760h with hosted reporting",
		e.Start.UTC().Format(time.RFC3339), e.Retention, e.Oldest.UTC().Format(time.RFC3339))
}

// Action is what a caller does after a failed Fetch.
type Action int

const (
	// Fatal: stop this source and tell an operator (credential, config,
	// redirect, retention, limits).
	Fatal Action = iota
	// Repeat the same request (same dates, same token) after Wait.
	Repeat
	// Restart from the hour of the last delivered record with token=none
	// after Wait (410, partial ZIP); dedup drops the lines that come again.
	Restart
	// Stop: the context ended; nothing to do.
	Stop
)

func (a Action) String() string {
	switch a {
	case Repeat:
		return "repeat"
	case Restart:
		return "restart"
	case Stop:
		return "stop"
	}
	return "fatal"
}

// Defaults of the waits Advise suggests when the server gave no hint.
const (
	DefaultRetryAfter = 5 * time.Minute // 429 without Retry-After (public notes: about 5 min)
	DefaultRepeatWait = 5 * time.Second // a broken body or a transport error
)

// Advise tells what to do after err: the action and how long to wait
// first. The caller adds its own back-off on top for repeated transport
// errors; Busy and rate-limit waits are already the server's or jittered.
func Advise(err error) (Action, time.Duration) {
	var (
		te  *TokenExpiredError
		pe  *PartialArchiveError
		be  *BusyError
		rle *wss.RateLimitError
		tre *TrailerError
		nae *NotArchiveError
		ae  *AbortError
		dae *DamagedArchiveError
		de  *DateError
		sle *SpoolLimitError
		re  *RetentionError
	)
	switch {
	case err == nil:
		return Stop, 0
	case errors.Is(err, context.Canceled):
		return Stop, 0
	case errors.As(err, &te), errors.As(err, &pe):
		return Restart, 0
	case errors.As(err, &be):
		return Repeat, be.Wait
	case errors.As(err, &rle):
		if rle.RetryAfter > 0 {
			return Repeat, rle.RetryAfter
		}
		return Repeat, DefaultRetryAfter
	case errors.As(err, &tre), errors.As(err, &nae), errors.As(err, &ae):
		return Repeat, DefaultRepeatWait
	case errors.As(err, &dae):
		// A cut or corrupt archive (a CRC mismatch is no transport error, so
		// Retryable would call it fatal) is the abort case again: the same
		// request with the same token; its lines come again, dedup drops them.
		return Repeat, DefaultRepeatWait
	case errors.As(err, &de), errors.As(err, &sle), errors.As(err, &re):
		return Fatal, 0
	}
	if wss.Retryable(err) {
		return Repeat, DefaultRepeatWait
	}
	return Fatal, 0
}
