package wss

import (
	"net/http"
	"time"
)

// The exports below let the access-log source (internal/source/wssaccess)
// use the audit source's policies instead of a copy of them: the same
// portal, the same kind of credential, so the same rules.

// CheckRedirect is the redirect policy of the audit client: same origin
// only, credential headers (Authorization, X-APIUsername, X-APIPassword)
// stripped from a followed redirect, at most 5 hops. A refusal is a
// *RedirectError.
func CheckRedirect(req *http.Request, via []*http.Request) error { return checkRedirect(req, via) }

// ParseRetryAfter reads a Retry-After value (delta-seconds or an HTTP
// date relative to now), capped at 24 h; absent, unparsable or past
// values give 0.
func ParseRetryAfter(v string, now time.Time) time.Duration { return parseRetryAfter(v, now) }

// Excerpt turns server-sent bytes into one printable line of at most limit
// bytes (HTML reduced to its text, control characters removed), for error
// messages.
func Excerpt(b []byte, limit int) string { return excerpt(b, limit) }
