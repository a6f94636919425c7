package wss

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// maxRedirects bounds a chain of same-origin redirects.
const maxRedirects = 5

// RedirectError: the API answered with a redirect that auditfwd will not
// follow. A redirect to another origin could hand the credential to another
// server, or make records it serves pass for audit data; it stays wrong
// until an operator changes base_url, so it is not retried soon.
type RedirectError struct {
	From, To string // URLs without credentials or query
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("WSS API redirected %s to %s: %s; not followed (set base_url/path to the real endpoint if the move is genuine)", e.From, e.To, e.Reason)
}

// checkRedirect allows only redirects that stay on the request's origin
// (scheme, host and port) and strips the credential from them: it is
// never sent to a URL the configuration does not name. An https request
// is never downgraded, since a scheme change is an origin change.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if !sameOrigin(first, req.URL) {
		return &RedirectError{From: bare(via[len(via)-1].URL), To: bare(req.URL), Reason: "another origin (scheme, host or port)"}
	}
	if len(via) > maxRedirects {
		return &RedirectError{From: bare(first), To: bare(req.URL), Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
	}
	req.Header.Del("Authorization")
	req.Header.Del("X-APIUsername")
	req.Header.Del("X-APIPassword")
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// bare renders u for a log line: no credentials, no query.
func bare(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment = nil, "", false, ""
	return c.String()
}

func isRedirectError(err error) bool {
	var re *RedirectError
	return errors.As(err, &re)
}
