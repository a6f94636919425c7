package elasticsearch

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// maxReplyBytes bounds a bulk reply read into memory. With filter_path a
// reply is a few dozen bytes per item, plus the errors.
const maxReplyBytes = 64 << 20

// replyFilter keeps only what Write reads from a bulk reply (Elasticsearch
// otherwise returns ~250 bytes of metadata per document).
var replyFilter = []string{"errors", "items.*.status", "items.*.error"}

// errTooLarge is a whole bulk request refused with 413.
var errTooLarge = errors.New("bulk request too large (413)")

// Write sends the batch as bulk requests and classifies every item; see the
// package documentation for the rules.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if err := o.setup(ctx); err != nil {
		return err
	}
	v := verdicts{}
	items := make([]int, 0, len(batch))
	for i := range batch {
		if err := sendable(&batch[i]); err != nil {
			v.refuse(i, err)
			continue
		}
		items = append(items, i)
	}
	if len(items) > 0 {
		if err := o.deliver(ctx, batch, items, &v, true); err != nil {
			return err
		}
	}
	return v.result(len(batch))
}

// sendable refuses a document that would corrupt the NDJSON body.
func sendable(e *event.Event) error {
	switch {
	case len(e.Doc) == 0:
		return errors.New("empty document")
	case bytes.IndexByte(e.Doc, '\n') >= 0:
		return errors.New("document is not one line of JSON")
	}
	return nil
}

// deliver sends items (indexes into batch) in one bulk request and records
// each item's verdict. A 413 halves the request until it fits; a single
// document that still does not fit is refused. At the top level a failed
// request is returned as is (the whole batch is retried); below a split,
// earlier halves may already be in, so a failed half marks its items alone
// for retry.
func (o *Output) deliver(ctx context.Context, batch []event.Event, items []int, v *verdicts, top bool) error {
	reply, err := o.bulk(ctx, batch, items)
	switch {
	case errors.Is(err, errTooLarge):
		if len(items) == 1 {
			v.refuse(items[0], fmt.Errorf("document of %d bytes is larger than the cluster accepts in one request (413 Request Entity Too Large; see http.max_content_length)", len(batch[items[0]].Doc)))
			return nil
		}
		half := len(items) / 2
		_ = o.deliver(ctx, batch, items[:half], v, false) // below the top, failures become verdicts
		_ = o.deliver(ctx, batch, items[half:], v, false)
		return nil
	case err != nil && top:
		return err
	case err != nil:
		v.retryAll(items, err)
		return nil
	}
	for k, it := range reply.Items {
		o.judge(v, items[k], it)
	}
	return nil
}

// judge applies the bulk status rules to one item.
func (o *Output) judge(v *verdicts, i int, item map[string]bulkItem) {
	if len(item) != 1 {
		v.retry(i, fmt.Errorf("bulk reply item %d is not one action result: retrying it", i), 0)
		return
	}
	for _, r := range item {
		switch s := r.Status; {
		case s == http.StatusOK || s == http.StatusCreated:
		case s == http.StatusConflict && o.action == "create":
			// Already indexed under this _id: a redelivery, done.
		case s == http.StatusTooManyRequests || s >= 500:
			v.retry(i, r.err(), 0)
		case s >= 400:
			v.refuse(i, r.err())
		default:
			// Status 0 or anything unexpected: not proof of success.
			v.retry(i, fmt.Errorf("bulk reply item has status %d: retrying it", s), 0)
		}
	}
}

// bulk sends one bulk request holding items and returns the parsed reply,
// with as many results as items, or a whole-request error.
func (o *Output) bulk(ctx context.Context, batch []event.Event, items []int) (*bulkReply, error) {
	bp := bodyBufs.Get().(*[]byte)
	body := o.appendBody((*bp)[:0], batch, items)
	defer func() {
		if cap(body) <= 8<<20 { // a huge batch's buffer is not worth pinning
			*bp = body[:0]
			bodyBufs.Put(bp)
		}
	}()

	var (
		status int
		header http.Header
		raw    []byte
		err    error
	)
	for attempt := 1; ; attempt++ {
		status, header, raw, err = o.post(ctx, body)
		if err == nil || !dialFailed(err) || attempt >= o.nAddrs || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bulk request not completed: %w", ctx.Err())
		}
		return nil, fmt.Errorf("bulk request: %w", err)
	}
	if status < 200 || status > 299 {
		return nil, o.requestError(status, header, raw)
	}
	var reply bulkReply
	if err := json.Unmarshal(raw, &reply); err != nil {
		return nil, fmt.Errorf("bulk reply (HTTP %d) is not a bulk response: %v: %.200q", status, err, raw)
	}
	if len(reply.Items) != len(items) {
		// Never guess which ones got in.
		return nil, fmt.Errorf("bulk reply (errors: %t) holds %d results for %d documents: retrying them all", reply.Errors, len(reply.Items), len(items))
	}
	return &reply, nil
}

// post sends one body to /_bulk: no index in the path (every action line
// names its own), so the path is the same for a date pattern, a data
// stream and an Elasticsearch-compatible target.
func (o *Output) post(ctx context.Context, body []byte) (int, http.Header, []byte, error) {
	rctx, cancel := o.requestCtx(ctx)
	defer cancel()
	req := esapi.BulkRequest{
		Body:       bytes.NewReader(body),
		Pipeline:   o.cfg.Pipeline,
		FilterPath: replyFilter,
		Header:     http.Header{"Content-Type": {"application/x-ndjson"}},
	}
	res, err := req.Do(rctx, o.bulkTr)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxReplyBytes+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the bulk reply (HTTP %d): %w", res.StatusCode, err)
	}
	if len(raw) > maxReplyBytes {
		return 0, nil, nil, fmt.Errorf("bulk reply larger than %d bytes", maxReplyBytes)
	}
	return res.StatusCode, res.Header, raw, nil
}

// appendBody writes the NDJSON: one action line naming _index and _id, then
// the document, per item.
func (o *Output) appendBody(b []byte, batch []event.Event, items []int) []byte {
	for _, i := range items {
		e := &batch[i]
		t := e.Time
		if t.IsZero() { // never from the mapper; keeps the name well formed
			t = time.Now()
		}
		b = append(b, `{"`...)
		b = append(b, o.action...)
		b = append(b, `":{"_index":"`...)
		b = o.index.appendName(b, t)
		b = append(b, `","_id":"`...)
		b = hex.AppendEncode(b, e.Hash[:])
		b = append(b, "\"}}\n"...)
		b = append(b, e.Doc...)
		b = append(b, '\n')
	}
	return b
}

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

// requestError classifies a whole bulk request that was not accepted.
func (o *Output) requestError(status int, header http.Header, raw []byte) error {
	reason := errorReason(raw)
	switch status {
	case http.StatusRequestEntityTooLarge:
		return errTooLarge
	case http.StatusUnauthorized:
		return authError(status, reason)
	case http.StatusForbidden:
		return authError(status, reason, "they need the create_doc privilege (and create_index or auto_configure for new indices) on "+o.index.pattern())
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		err := fmt.Errorf("elasticsearch is overloaded (HTTP %d): %s", status, reason)
		if after, ok := retryAfter(header.Get("Retry-After"), time.Now()); ok {
			return &outputs.RetryAfterError{After: after, Err: err}
		}
		return err
	}
	// Any other refusal of the whole request (a proxy's 404 or 502, a
	// 400 for a missing pipeline) is about the request or the cluster, not
	// the documents: the batch stays queued until it is fixed.
	return fmt.Errorf("bulk request refused (HTTP %d): %s", status, reason)
}

// authError names the credential problem without the credential.
func authError(status int, reason string, hint ...string) error {
	msg := "elasticsearch rejected the credentials (HTTP 401): check username/password, api_key or their files"
	if status == http.StatusForbidden {
		msg = "elasticsearch accepted the credentials but refused the request (HTTP 403)"
		if len(hint) > 0 {
			msg += ": " + hint[0]
		}
	}
	if reason != "" {
		msg += " (" + reason + ")"
	}
	return fmt.Errorf("%w: %s", ErrAuth, msg)
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// bulkReply is what Write reads of a bulk response.
type bulkReply struct {
	Errors bool                  `json:"errors"`
	Items  []map[string]bulkItem `json:"items"`
}

type bulkItem struct {
	Status int      `json:"status"`
	Error  *esError `json:"error"`
}

// esError is Elasticsearch's error object (caused_by nests).
type esError struct {
	Type     string   `json:"type"`
	Reason   string   `json:"reason"`
	CausedBy *esError `json:"caused_by"`
}

func (e *esError) String() string {
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil && (e.CausedBy.Type != "" || e.CausedBy.Reason != "") {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

func (r bulkItem) err() error {
	if r.Error == nil {
		return fmt.Errorf("HTTP %d", r.Status)
	}
	return fmt.Errorf("HTTP %d: %s", r.Status, r.Error)
}

// errorReason extracts "type: reason" from an error reply, whose "error"
// is an object (or a plain string from older nodes and proxies).
func errorReason(raw []byte) string {
	var r struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &r) == nil && len(r.Error) > 0 {
		var e esError
		if json.Unmarshal(r.Error, &e) == nil && (e.Type != "" || e.Reason != "") {
			return e.String()
		}
		var s string
		if json.Unmarshal(r.Error, &s) == nil {
			return s
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "no body"
	}
	return fmt.Sprintf("%.200q", raw)
}

// verdicts collects what became of each item of a batch.
type verdicts struct {
	retries    []int
	refused    map[int]error
	after      time.Duration
	firstRetry error
	firstRefus error
}

func (v *verdicts) retry(i int, err error, after time.Duration) {
	v.retries = append(v.retries, i)
	if v.firstRetry == nil {
		v.firstRetry = err
	}
	v.after = max(v.after, after)
}

func (v *verdicts) retryAll(items []int, err error) {
	var ra *outputs.RetryAfterError
	after := time.Duration(0)
	if errors.As(err, &ra) {
		after = ra.After
	}
	for _, i := range items {
		v.retry(i, err, after)
	}
}

func (v *verdicts) refuse(i int, err error) {
	if v.refused == nil {
		v.refused = map[int]error{}
	}
	v.refused[i] = err
	if v.firstRefus == nil {
		v.firstRefus = err
	}
}

// result is nil when every item is in, else the error that tells the
// pipeline what to do with each item.
func (v *verdicts) result(n int) error {
	if len(v.retries) == 0 && len(v.refused) == 0 {
		return nil
	}
	if n == 1 && len(v.refused) == 1 {
		return outputs.Permanent(v.refused[0])
	}
	sort.Ints(v.retries)
	var parts []string
	if v.firstRetry != nil {
		parts = append(parts, "first to retry: "+v.firstRetry.Error())
	}
	if v.firstRefus != nil {
		parts = append(parts, "first refused: "+v.firstRefus.Error())
	}
	return &outputs.BatchError{
		Retry:      v.retries,
		Permanent:  v.refused,
		RetryAfter: v.after,
		Err:        errors.New(strings.Join(parts, "; ")),
	}
}

// CopiesDocuments makes the output an outputs.Copier: Write copies the documents into its own bulk request body.
func (*Output) CopiesDocuments() {}
