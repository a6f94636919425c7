package elasticsearch

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/auditfwd/auditfwd/outputs"
)

// ErrAuth is wrapped by errors that say the cluster refused the credentials
// (401) or their privileges (403). The batch stays queued: fixing the
// credential and restarting delivers it.
var ErrAuth = errors.New("elasticsearch refused the credentials")

// Output is the elasticsearch output. Write is safe for concurrent use.
type Output struct {
	name    string
	cfg     Config // defaults applied
	index   *indexName
	action  string // create | index
	timeout time.Duration
	nAddrs  int // how many nodes a failed dial may move on to

	client *elastictransport.Client
	bulkTr esapi.Transport // client, plus query_params
	http   *http.Transport

	setupMu   sync.Mutex
	setupDone bool
}

// New builds the output. It reads the *_file secrets and the TLS files but
// does no network I/O: the first Write (or Check) connects.
func New(name string, cfg Config) (*Output, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := cfg.withDefaults()
	var err error
	if c.PasswordFile != "" {
		if c.Password, err = outputs.ReadSecretFile("password_file", c.PasswordFile); err != nil {
			return nil, err
		}
	}
	if c.APIKeyFile != "" {
		if c.APIKey, err = outputs.ReadSecretFile("api_key_file", c.APIKeyFile); err != nil {
			return nil, err
		}
	}
	idx, err := parseIndex(c.Index)
	if err != nil {
		return nil, err
	}
	tr, err := outputs.HTTPTransport(c.TLS)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	for k, v := range c.Headers {
		header.Set(k, v)
	}
	client, err := newTransport(c, header, tr)
	if err != nil {
		return nil, err
	}
	o := &Output{
		name:    name,
		cfg:     c,
		index:   idx,
		action:  c.OpType,
		timeout: time.Duration(c.Timeout),
		nAddrs:  max(1, len(c.Addresses)),
		client:  client,
		bulkTr:  client,
		http:    tr,
	}
	if len(c.QueryParams) > 0 {
		q := url.Values{}
		for k, v := range c.QueryParams {
			q.Set(k, v)
		}
		o.bulkTr = withQuery{next: client, q: q}
	}
	return o, nil
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

// Close closes idle connections; a Write after Close fails.
func (o *Output) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := o.client.Close(ctx)
	o.http.CloseIdleConnections()
	if errors.Is(err, elastictransport.ErrAlreadyClosed) {
		return nil
	}
	return err
}

// withQuery adds query_params to the requests it carries.
type withQuery struct {
	next esapi.Transport
	q    url.Values
}

func (w withQuery) Perform(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	for k, vs := range w.q {
		q[k] = vs
	}
	req.URL.RawQuery = q.Encode()
	return w.next.Perform(req)
}

// requestCtx bounds one HTTP request by the timeout key.
func (o *Output) requestCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, o.timeout)
}

// dialFailed reports whether err is a failed connect: the request never
// reached a node, so sending it to the next one is safe.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

var (
	_ outputs.Output  = (*Output)(nil)
	_ outputs.Checker = (*Output)(nil)
)
