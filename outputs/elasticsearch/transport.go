package elasticsearch

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
)

// userAgent names auditfwd and the client library layer it speaks through.
var userAgent = fmt.Sprintf("auditfwd (elastic-transport-go; %s %s; %s)", runtime.GOOS, runtime.GOARCH, runtime.Version())

// newTransport builds the HTTP layer under esapi. It stands in for the
// go-elasticsearch root package's client, which only wires the same
// elastictransport options but pulls in the whole typed API with it (about
// 850 packages, minutes and gigabytes to compile). What the root client
// adds and this leaves out: its product check (refusing any server that
// does not answer X-Elastic-Product: Elasticsearch — OpenSearch and
// bulk-API peers work here), the client-meta header, and node discovery,
// which auditfwd never enabled.
func newTransport(c Config, header http.Header, tr http.RoundTripper) (*elastictransport.Client, error) {
	addrs := c.Addresses
	if c.CloudID != "" {
		host, err := cloudHost(c.CloudID)
		if err != nil {
			return nil, fmt.Errorf("cloud_id: %w", err)
		}
		addrs = []string{"https://" + host}
	}
	if len(addrs) == 0 {
		return nil, errors.New("addresses: at least one is required (or cloud_id)")
	}
	urls := make([]*url.URL, 0, len(addrs))
	for i, a := range addrs {
		u, err := url.Parse(strings.TrimRight(a, "/"))
		if err != nil || u.Host == "" {
			// No value: an address may carry a password.
			return nil, fmt.Errorf("addresses[%d]: is not a URL (scheme://host:port)", i)
		}
		urls = append(urls, u)
	}
	user, pass := c.Username, c.Password.Value()
	if u := urls[0].User; u != nil && user == "" && pass == "" {
		user = u.Username()
		pass, _ = u.Password()
	}
	opts := []elastictransport.Option{
		elastictransport.WithUserAgent(userAgent),
		elastictransport.WithURLs(urls...),
		elastictransport.WithHeader(header),
		elastictransport.WithTransport(tr),
		// The pipeline owns retries, back-off and Retry-After; a retry
		// inside the client would hide them. A failed dial is the one
		// thing Write retries itself, on the next address.
		elastictransport.WithDisableRetry(),
	}
	if k := encodedAPIKey(c.APIKey.Value()); k != "" {
		opts = append(opts, elastictransport.WithAPIKey(k))
	} else if user != "" || pass != "" {
		opts = append(opts, elastictransport.WithBasicAuth(user, pass))
	}
	if c.Compression {
		opts = append(opts, elastictransport.WithCompression())
	}
	return elastictransport.NewClient(opts...)
}
