package outputs

import (
	"errors"
	"net/url"
	"regexp"
)

// ShowURL is u as an error message may print it: scheme, host and path
// only. The userinfo, query and fragment can hold credentials (and a URL
// without "//" keeps everything after the scheme in Opaque, "user:pw@host"
// among it), so they never reach a message or a log line.
func ShowURL(u *url.URL) string {
	if u.Opaque != "" {
		return u.Scheme + ":[hidden]"
	}
	s := u.Host + u.Path
	if u.Scheme != "" {
		s = u.Scheme + "://" + s
	}
	return s
}

// quotedPart is a Go-quoted string inside an error message.
var quotedPart = regexp.MustCompile(`\s*"(?:[^"\\]|\\.)*"`)

// URLProblem is why a URL did not parse, with nothing of the URL in it:
// url.Parse's error quotes the whole value, and its inner errors quote a
// part of it (a bad escape, a port), which may be a piece of a password.
func URLProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return quotedPart.ReplaceAllString(err.Error(), "") + "; value hidden: it may hold credentials"
}
