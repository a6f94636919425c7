package splunkhec

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

// Errors wrapped by Write's and Check's errors, for errors.Is.
var (
	// ErrToken: HEC refused the token (401/403, codes 1-4). The batch stays
	// queued: fixing the token and restarting delivers it.
	ErrToken = errors.New("splunk HEC refused the token")
	// ErrAckDisabled: ack is on but the token has indexer acknowledgement
	// off (code 14). Turn it on in Splunk or set ack: false.
	ErrAckDisabled = errors.New("splunk HEC: indexer acknowledgement is disabled for this token: enable it on the token or set ack: false")
	// ErrAckTimeout: the indexer did not acknowledge within ack_timeout.
	ErrAckTimeout = errors.New("splunk HEC: no indexer acknowledgement")
)

// Output is the splunk_hec output. Write is safe for concurrent use: each
// Write keeps its own requests, ackIds and verdicts (a delivery), and
// polls only its own ackIds, which HEC numbers per channel, so concurrent
// Writes on one channel never see each other's acks. What they share (the
// config, the token, the HTTP client) is read-only after New, or locked
// (the channel).
type Output struct {
	name   string
	cfg    Config // defaults applied
	token  string
	fields bool
	prefix []byte // the constant keys of every event line
	client *http.Client
	tr     *http.Transport

	mu      sync.Mutex
	channel string
	// generated: the channel was made up by New, so a saved one may
	// replace it (a configured channel is never replaced).
	generated bool
}

// New builds the output. It reads token_file and the TLS files, and
// generates a channel when ack is on and none is given; it does no network
// I/O.
func New(name string, cfg Config) (*Output, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := cfg.withDefaults()
	if c.TokenFile != "" {
		var err error
		if c.Token, err = outputs.ReadSecretFile("token_file", c.TokenFile); err != nil {
			return nil, err
		}
	}
	tr, err := outputs.HTTPTransport(c.TLS)
	if err != nil {
		return nil, err
	}
	// Keep a connection per request in flight, and one for /ack, or each
	// batch would dial (and shake hands) again.
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, c.MaxInFlight+1)
	o := &Output{
		name:    name,
		cfg:     c,
		token:   c.Token.Value(),
		fields:  *c.Fields,
		prefix:  linePrefix(c),
		client:  &http.Client{Transport: tr},
		tr:      tr,
		channel: c.Channel,
	}
	if o.channel == "" && c.Ack {
		o.channel = newGUID()
		o.generated = true
	}
	return o, nil
}

// newGUID is a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

// Channel is the X-Splunk-Request-Channel in use (empty without ack and
// channel). A generated one should be saved and given back with SetChannel
// after a restart, so that Splunk sees one channel per output.
func (o *Output) Channel() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.channel
}

// GeneratedChannel is the channel New made up ("" when configured or
// without ack): the one to save, or to replace with a saved one.
func (o *Output) GeneratedChannel() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.generated {
		return ""
	}
	return o.channel
}

// SetChannel replaces the channel (a saved one, restored at start).
func (o *Output) SetChannel(ch string) error {
	if !guidRE.MatchString(ch) {
		return fmt.Errorf("channel: %q is not a GUID", ch)
	}
	o.mu.Lock()
	o.channel = ch
	o.mu.Unlock()
	return nil
}

// SetConcurrency is told how many Writes the pipeline runs at once
// (batch.max_in_flight; outputs.Concurrent): it keeps a connection per
// request each of them may have in flight, and one for its /ack polls,
// rather than dial again for every request. Call it before the first
// Write.
func (o *Output) SetConcurrency(n int) {
	o.tr.MaxIdleConnsPerHost = max(o.tr.MaxIdleConnsPerHost, max(n, 1)*(o.cfg.MaxInFlight+1))
}

// Close closes idle connections.
func (o *Output) Close() error {
	o.tr.CloseIdleConnections()
	return nil
}

// hecReply is the JSON body of every HEC answer.
type hecReply struct {
	Text  string `json:"text"`
	Code  *int   `json:"code"`
	AckID *int64 `json:"ackId"`
	// /ack answers {"acks":{"0":true,"1":false}}
	Acks map[string]bool `json:"acks"`
}

// response is one HEC answer.
type response struct {
	status     int
	reply      hecReply
	raw        []byte
	retryAfter time.Duration
}

func (r *response) code() int {
	if r.reply.Code == nil {
		return -1
	}
	return *r.reply.Code
}

// describe is "HTTP 400, code 6: Invalid data format" (never the token).
func (r *response) describe() string {
	s := fmt.Sprintf("HTTP %d", r.status)
	if r.reply.Code != nil {
		s += fmt.Sprintf(", code %d", *r.reply.Code)
	}
	switch {
	case r.reply.Text != "":
		s += ": " + r.reply.Text
	case len(r.raw) > 0:
		s += fmt.Sprintf(": %.200q", r.raw)
	}
	return s
}

// post sends body to path and reads the answer.
func (o *Output) post(ctx context.Context, method, path string, body []byte, gz, auth bool) (*response, error) {
	ctx, cancel := o.requestCtx(ctx)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.cfg.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if auth {
		req.Header.Set("Authorization", "Splunk "+o.token)
	}
	if ch := o.Channel(); ch != "" {
		req.Header.Set("X-Splunk-Request-Channel", ch)
	}
	res, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("splunk HEC %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("splunk HEC %s %s: reading the reply: %w", method, path, err)
	}
	r := &response{status: res.StatusCode, raw: bytes.TrimSpace(raw), retryAfter: retryAfter(res.Header.Get("Retry-After"))}
	_ = json.Unmarshal(raw, &r.reply) // a proxy's HTML page leaves it empty
	return r, nil
}

func (o *Output) requestCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.cfg.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(o.cfg.Timeout))
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

var (
	_ outputs.Output     = (*Output)(nil)
	_ outputs.Checker    = (*Output)(nil)
	_ outputs.Concurrent = (*Output)(nil)
)
