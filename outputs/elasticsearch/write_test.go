package elasticsearch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

func TestWriteAllCreated(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Index: "wss-audit-%{+yyyy.MM.dd}"})
	evs := makeEvents(t, 5, day, time.Minute)
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	calls := es.calls()
	if len(calls) != 1 {
		t.Fatalf("%d bulk requests, want 1", len(calls))
	}
	c := calls[0]
	if len(c.actions) != len(evs) {
		t.Fatalf("%d actions, want %d", len(c.actions), len(evs))
	}
	for i, a := range c.actions {
		want := bulkAction{op: "create", index: "wss-audit-2026.11.24", id: evs[i].HashHex()}
		if a != want {
			t.Errorf("action %d = %+v, want %+v", i, a, want)
		}
		if !bytes.Equal(c.docs[i], evs[i].Doc) {
			t.Errorf("document %d differs from the event's", i)
		}
	}
	if got := c.query.Get("filter_path"); got != "errors,items.*.status,items.*.error" {
		t.Errorf("filter_path = %q", got)
	}
	if c.query.Has("pipeline") {
		t.Errorf("pipeline sent though none is configured")
	}
	if n := len(es.stored()); n != 5 {
		t.Errorf("stand-in holds %d documents, want 5", n)
	}
	// The index is in the action lines, not in the path.
	for _, r := range es.seen() {
		if strings.HasPrefix(r, "POST ") && r != "POST /_bulk" {
			t.Errorf("request %q: want POST /_bulk", r)
		}
	}
}

func TestWriteRedeliveryIsIdempotent(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	evs := makeEvents(t, 4, day, time.Hour)
	for i := 0; i < 2; i++ {
		if err := o.Write(context.Background(), evs); err != nil {
			t.Fatalf("Write %d: %v (409 on create must count as delivered)", i, err)
		}
	}
	if n := len(es.stored()); n != 4 {
		t.Errorf("stand-in holds %d documents after a redelivery, want 4", n)
	}
}

func TestWriteMixedItems(t *testing.T) {
	es := newFakeES(t)
	//                 0    1    2    3    4    5    6    7
	statuses := []int{201, 409, 429, 503, 400, 201, 404, 500}
	es.itemStatus = func(_, i int, _ string) int { return statuses[i] }
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	err := o.Write(context.Background(), makeEvents(t, len(statuses), day, time.Second))
	be := asBatchError(t, err)
	if want := []int{2, 3, 7}; !reflect.DeepEqual(be.Retry, want) {
		t.Errorf("Retry = %v, want %v", be.Retry, want)
	}
	if len(be.Permanent) != 2 || be.Permanent[4] == nil || be.Permanent[6] == nil {
		t.Fatalf("Permanent = %v, want items 4 and 6", be.Permanent)
	}
	for _, want := range []string{"HTTP 400", "document_parsing_exception", "failed to parse field [source.ip]", "illegal_argument_exception"} {
		if !strings.Contains(be.Permanent[4].Error(), want) {
			t.Errorf("item 4's error %q lacks %q", be.Permanent[4], want)
		}
	}
	if !strings.Contains(be.Permanent[6].Error(), "index_not_found_exception") {
		t.Errorf("item 6's error %q lacks the ES error type", be.Permanent[6])
	}
	if be.RetryAfter != 0 {
		t.Errorf("RetryAfter = %v, want 0 (no Retry-After per item)", be.RetryAfter)
	}
}

func TestWriteOpTypeIndex(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Index: DatedIndex, OpType: "index"})
	evs := makeEvents(t, 2, day, time.Second)
	for i := 0; i < 2; i++ {
		if err := o.Write(context.Background(), evs); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if a := es.calls()[1].actions[0]; a.op != "index" {
		t.Errorf("op = %q, want index", a.op)
	}
	// A 409 under op_type index is not "already there": it is refused.
	es.itemStatus = func(_, i int, _ string) int { return 409 }
	be := asBatchError(t, o.Write(context.Background(), evs))
	if len(be.Permanent) != 2 {
		t.Errorf("Permanent = %v, want both items", be.Permanent)
	}
}

// A 200 reply is read item by item, whatever "errors" says, and a reply
// that does not account for every document is never taken as success.
func TestWriteReplyParsing(t *testing.T) {
	evs := makeEvents(t, 3, day, time.Second)
	cases := []struct {
		name  string
		reply string
		check func(t *testing.T, err error)
	}{
		{"errors true", `{"took":3,"errors":true,"items":[{"create":{"status":201}},{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}}]}`,
			func(t *testing.T, err error) {
				if be := asBatchError(t, err); !reflect.DeepEqual(be.Retry, []int{1}) || len(be.Permanent) != 0 {
					t.Errorf("got Retry %v Permanent %v, want Retry [1]", be.Retry, be.Permanent)
				}
			}},
		{"errors false but an item failed", `{"took":3,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}},{"create":{"status":503}}]}`,
			func(t *testing.T, err error) {
				if be := asBatchError(t, err); !reflect.DeepEqual(be.Retry, []int{2}) {
					t.Errorf("Retry = %v, want [2]", be.Retry)
				}
			}},
		{"errors false, items missing", `{"took":3,"errors":false,"items":[{"create":{"status":201}}]}`,
			func(t *testing.T, err error) { wholeBatchRetry(t, err) }},
		{"errors false, no items", `{"took":3,"errors":false}`,
			func(t *testing.T, err error) { wholeBatchRetry(t, err) }},
		{"too many items", `{"took":3,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}},{"create":{"status":201}},{"create":{"status":201}}]}`,
			func(t *testing.T, err error) { wholeBatchRetry(t, err) }},
		{"empty object", `{}`, func(t *testing.T, err error) { wholeBatchRetry(t, err) }},
		{"not JSON", `<html>proxy</html>`, func(t *testing.T, err error) { wholeBatchRetry(t, err) }},
		{"item without status", `{"took":3,"errors":false,"items":[{"create":{"status":201}},{"create":{}},{"create":{"status":201}}]}`,
			func(t *testing.T, err error) {
				if be := asBatchError(t, err); !reflect.DeepEqual(be.Retry, []int{1}) {
					t.Errorf("Retry = %v, want [1]", be.Retry)
				}
			}},
		{"item with two actions", `{"took":3,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201},"index":{"status":201}},{"create":{"status":201}}]}`,
			func(t *testing.T, err error) {
				if be := asBatchError(t, err); !reflect.DeepEqual(be.Retry, []int{1}) {
					t.Errorf("Retry = %v, want [1]", be.Retry)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t)
			es.bulkHook = func(w http.ResponseWriter, _ *bulkCall) bool {
				writeJSON(w, 200, tc.reply)
				return true
			}
			o := newOutput(t, Config{Addresses: []string{es.URL()}})
			tc.check(t, o.Write(context.Background(), evs))
		})
	}
}

func TestWrite413Splits(t *testing.T) {
	es := newFakeES(t)
	evs := makeEvents(t, 40, day, time.Minute)
	one := len(evs[0].Doc) + 150
	es.maxBody = 5 * one // about 5 documents per request
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := len(es.stored()); n != len(evs) {
		t.Fatalf("stand-in holds %d documents, want %d", n, len(evs))
	}
	accepted := es.calls() // only requests that fit are recorded
	if len(accepted) < 8 {
		t.Errorf("%d accepted requests; want the batch split into at least 8", len(accepted))
	}
	seen := map[string]bool{}
	for _, c := range accepted {
		for _, a := range c.actions {
			if seen[a.id] {
				t.Errorf("document %s sent twice after being accepted", a.id)
			}
			seen[a.id] = true
		}
	}
}

func TestWrite413SingleDocumentRefused(t *testing.T) {
	es := newFakeES(t)
	evs := makeEvents(t, 6, day, time.Minute)
	big := evs[3]
	big.Doc = append(append([]byte(nil), big.Doc[:len(big.Doc)-1]...), fmt.Sprintf(`,"padding":"%s"}`, strings.Repeat("x", 20000))...)
	evs[3] = big
	es.maxBody = 10000
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	be := asBatchError(t, o.Write(context.Background(), evs))
	if len(be.Retry) != 0 || len(be.Permanent) != 1 || be.Permanent[3] == nil {
		t.Fatalf("Retry %v Permanent %v; want only item 3 refused", be.Retry, be.Permanent)
	}
	if !strings.Contains(be.Permanent[3].Error(), "413") {
		t.Errorf("refusal %q does not name the 413", be.Permanent[3])
	}
	if n := len(es.stored()); n != 5 {
		t.Errorf("stand-in holds %d documents, want the other 5", n)
	}

	// A batch of that one document alone is refused for good.
	err := o.Write(context.Background(), evs[3:4])
	if !outputs.IsPermanent(err) {
		t.Errorf("single oversized document: got %v, want Permanent", err)
	}
}

// Below a split, a half that fails is retried alone: the half already in
// is not reported as failed.
func TestWrite413ThenFailureRetriesOnlyThatHalf(t *testing.T) {
	es := newFakeES(t)
	evs := makeEvents(t, 8, day, time.Minute)
	es.maxBody = (len(evs[0].Doc) + 150) * 5
	second := evs[4].HashHex()
	es.bulkHook = func(w http.ResponseWriter, c *bulkCall) bool {
		if c.actions[0].id == second {
			writeJSON(w, 503, esErr(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"))
			return true
		}
		return false
	}
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	be := asBatchError(t, o.Write(context.Background(), evs))
	if want := []int{4, 5, 6, 7}; !reflect.DeepEqual(be.Retry, want) {
		t.Errorf("Retry = %v, want %v", be.Retry, want)
	}
	if n := len(es.stored()); n != 4 {
		t.Errorf("stand-in holds %d documents, want the first half (4)", n)
	}
}

func TestWriteWholeRequestOverloaded(t *testing.T) {
	evs := makeEvents(t, 3, day, time.Second)
	cases := []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration // 0: a plain error
	}{
		{"429 with seconds", 429, "7", 7 * time.Second},
		{"503 with HTTP date", 503, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
		{"429 without Retry-After", 429, "", 0},
		{"502 from a proxy", 502, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t)
			es.bulkHook = func(w http.ResponseWriter, _ *bulkCall) bool {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				writeJSON(w, tc.status, esErr(tc.status, "es_rejected_execution_exception", "rejected execution of coordinating operation"))
				return true
			}
			o := newOutput(t, Config{Addresses: []string{es.URL()}})
			err := o.Write(context.Background(), evs)
			wholeBatchRetry(t, err)
			var ra *outputs.RetryAfterError
			if tc.want == 0 {
				if errors.As(err, &ra) {
					t.Fatalf("got RetryAfterError %v; want a plain error", err)
				}
				return
			}
			if !errors.As(err, &ra) {
				t.Fatalf("got %T %v; want *outputs.RetryAfterError", err, err)
			}
			if d := ra.After - tc.want; d < -2*time.Second || d > time.Second {
				t.Errorf("After = %v, want about %v", ra.After, tc.want)
			}
			if !strings.Contains(err.Error(), "es_rejected_execution_exception") {
				t.Errorf("error %q lacks the ES reason", err)
			}
			if len(es.calls()) != 1 {
				t.Errorf("%d requests: the client must not retry by itself", len(es.calls()))
			}
		})
	}
}

func TestWriteUnauthorized(t *testing.T) {
	es := newFakeES(t)
	es.user, es.pass = "auditfwd", "right-password"
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Username: "auditfwd", Password: "wrong-password-s3cret"})
	err := o.Write(context.Background(), makeEvents(t, 2, day, time.Second))
	wholeBatchRetry(t, err)
	if !errors.Is(err, ErrAuth) {
		t.Errorf("error %v does not wrap ErrAuth", err)
	}
	msg := err.Error()
	for _, want := range []string{"401", "credentials", "username/password"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q leaks the password", msg)
	}

	// The right password works, through password_file.
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("right-password\n"), 0o600)
	o2 := newOutput(t, Config{Addresses: []string{es.URL()}, Username: "auditfwd", PasswordFile: pw})
	if err := o2.Write(context.Background(), makeEvents(t, 2, day, time.Second)); err != nil {
		t.Fatalf("Write with password_file: %v", err)
	}
}

func TestWriteForbidden(t *testing.T) {
	es := newFakeES(t)
	es.bulkHook = func(w http.ResponseWriter, _ *bulkCall) bool {
		writeJSON(w, 403, esErr(403, "security_exception", "action [indices:data/write/bulk] is unauthorized for user [auditfwd] with effective roles [viewer]"))
		return true
	}
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	err := o.Write(context.Background(), makeEvents(t, 1, day, time.Second))
	wholeBatchRetry(t, err)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "create_doc") || !strings.Contains(err.Error(), "is unauthorized for user [auditfwd]") {
		t.Errorf("403 error %q: want ErrAuth, the privilege needed and the ES reason", err)
	}
}

func TestWriteAPIKey(t *testing.T) {
	encoded := base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"))
	for _, key := range []string{encoded, "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"} {
		es := newFakeES(t)
		es.apiKey = encoded
		o := newOutput(t, Config{Addresses: []string{es.URL()}, APIKey: outputs.Secret(key)})
		if err := o.Write(context.Background(), makeEvents(t, 1, day, time.Second)); err != nil {
			t.Fatalf("api_key %q: %v", key[:8], err)
		}
		scheme, got, _ := strings.Cut(es.calls()[0].header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "ApiKey") || got != encoded {
			t.Errorf("Authorization = %s %s, want ApiKey %s", scheme, got, encoded)
		}
	}
}

func TestWriteCompression(t *testing.T) {
	for _, on := range []bool{true, false} {
		es := newFakeES(t)
		o := newOutput(t, Config{Addresses: []string{es.URL()}, Compression: on})
		evs := makeEvents(t, 50, day, time.Minute)
		if err := o.Write(context.Background(), evs); err != nil {
			t.Fatalf("compression %t: %v", on, err)
		}
		c := es.calls()[0]
		gz := c.header.Get("Content-Encoding") == "gzip"
		if gz != on {
			t.Fatalf("compression %t: Content-Encoding %q", on, c.header.Get("Content-Encoding"))
		}
		if on && (len(c.raw) >= len(c.body)/2 || !bytes.Equal(c.raw[:2], []byte{0x1f, 0x8b})) {
			t.Errorf("body of %d bytes for %d uncompressed: not gzip", len(c.raw), len(c.body))
		}
		// Gunzipped, it is the same NDJSON.
		if len(c.actions) != 50 || !bytes.Equal(c.docs[49], evs[49].Doc) {
			t.Errorf("compression %t: the decompressed body does not hold the batch", on)
		}
	}
}

func TestWriteDatePatternIndex(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Index: "audit-%{+yyyy.MM.dd}-h%{+HH}"})
	var evs []event.Event
	for _, at := range []time.Time{
		time.Date(2026, 11, 24, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		// 01:30 in UTC+2 is 23:30 UTC the day before.
		time.Date(2026, 1, 1, 1, 30, 0, 0, time.FixedZone("EET", 2*3600)),
	} {
		evs = append(evs, makeEvents(t, 1, at, 0)[0])
	}
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	want := []string{"audit-2026.11.24-h23", "audit-2026.11.25-h00", "audit-2025.12.31-h23"}
	for i, a := range es.calls()[0].actions {
		if a.index != want[i] {
			t.Errorf("event %d (@timestamp %s): _index %q, want %q", i, evs[i].Time, a.index, want[i])
		}
	}
}

func TestWritePipelineHeadersQueryParams(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Pipeline: "wss-enrich",
		Headers:     map[string]string{"VL-Msg-Field": "message", "X-Tenant": "a"},
		QueryParams: map[string]string{"_time_field": "@timestamp"}})
	if err := o.Write(context.Background(), makeEvents(t, 1, day, 0)); err != nil {
		t.Fatal(err)
	}
	c := es.calls()[0]
	if got := c.query.Get("pipeline"); got != "wss-enrich" {
		t.Errorf("pipeline = %q", got)
	}
	if got := c.query.Get("_time_field"); got != "@timestamp" {
		t.Errorf("_time_field = %q", got)
	}
	if c.header.Get("VL-Msg-Field") != "message" || c.header.Get("X-Tenant") != "a" {
		t.Errorf("headers not sent: %v", c.header)
	}
}

func TestWriteConnectionRefused(t *testing.T) {
	addr := deadAddress(t)
	o := newOutput(t, Config{Addresses: []string{"http://" + addr}})
	err := o.Write(context.Background(), makeEvents(t, 2, day, 0))
	wholeBatchRetry(t, err)
	var ra *outputs.RetryAfterError
	if errors.As(err, &ra) || errors.Is(err, ErrAuth) {
		t.Errorf("connection refused gave %T: %v", err, err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not say the connection was refused", err)
	}
}

func TestWriteMovesOnToTheNextAddress(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{"http://" + deadAddress(t), es.URL()}})
	for i := 0; i < 3; i++ {
		if err := o.Write(context.Background(), makeEvents(t, 2, day.Add(time.Duration(i)*time.Hour), 0)); err != nil {
			t.Fatalf("Write %d with one dead node: %v", i, err)
		}
	}
}

func TestWriteTimeout(t *testing.T) {
	es := newFakeES(t)
	release := make(chan struct{})
	defer close(release)
	es.bulkHook = func(w http.ResponseWriter, _ *bulkCall) bool { <-release; return false }
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Timeout: Duration(200 * time.Millisecond)})
	start := time.Now()
	wholeBatchRetry(t, o.Write(context.Background(), makeEvents(t, 1, day, 0)))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Write took %v with a 200ms timeout", d)
	}
}

func TestWriteRefusesBrokenDocuments(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	evs := makeEvents(t, 3, day, time.Second)
	evs[1].Doc = []byte("{\"a\":\n1}")
	be := asBatchError(t, o.Write(context.Background(), evs))
	if len(be.Permanent) != 1 || be.Permanent[1] == nil || len(be.Retry) != 0 {
		t.Errorf("Retry %v Permanent %v; want item 1 refused", be.Retry, be.Permanent)
	}
	if n := len(es.calls()[0].actions); n != 2 {
		t.Errorf("%d documents sent, want the 2 good ones", n)
	}
}

func TestNewDoesNoNetworkIO(t *testing.T) {
	es := newFakeES(t)
	o, err := New("es", Config{Addresses: []string{es.URL()}, Setup: Setup{Template: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if r := es.seen(); len(r) != 0 {
		t.Errorf("New made requests: %v", r)
	}
	if o.Name() != "es" {
		t.Errorf("Name = %q", o.Name())
	}
	if err := o.Write(context.Background(), nil); err != nil || len(es.seen()) != 0 {
		t.Errorf("an empty batch: err %v, requests %v", err, es.seen())
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	if _, err := New("es", Config{}); err == nil || !strings.Contains(err.Error(), "addresses") {
		t.Errorf("New(empty config) = %v; want the addresses error", err)
	}
}

func TestTLS(t *testing.T) {
	es := &fakeES{t: t, docs: map[string][]byte{}, templates: map[string][]byte{}}
	es.srv = httptest.NewUnstartedServer(es)
	es.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	es.srv.StartTLS()
	defer es.srv.Close()
	evs := makeEvents(t, 2, day, time.Second)

	o := newOutput(t, Config{Addresses: []string{es.URL()}})
	err := o.Write(context.Background(), evs)
	wholeBatchRetry(t, err)
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_file: %v; want a certificate error", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: es.srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	o2 := newOutput(t, Config{Addresses: []string{es.URL()}, TLS: outputs.TLS{CAFile: ca}})
	if err := o2.Write(context.Background(), evs); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	if n := len(es.stored()); n != 2 {
		t.Errorf("stand-in holds %d documents, want 2", n)
	}
}

// templateDoc is the part of an installed index template the tests read.
type templateDoc struct {
	IndexPatterns []string        `json:"index_patterns"`
	Priority      int             `json:"priority"`
	DataStream    json.RawMessage `json:"data_stream"`
	Template      struct {
		Settings map[string]any `json:"settings"`
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	} `json:"template"`
}

func TestTemplateSetup(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Index: "wss-audit-%{+yyyy.MM.dd}", Setup: Setup{Template: true}})
	for i := 0; i < 2; i++ {
		if err := o.Write(context.Background(), makeEvents(t, 2, day, time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	reqs := es.seen()
	want := []string{"HEAD /_index_template/wss-audit", "PUT /_ingest/pipeline/wss-audit-ingested", "PUT /_index_template/wss-audit", "POST /_bulk", "POST /_bulk"}
	if !reflect.DeepEqual(reqs, want) {
		t.Fatalf("requests %v, want %v (pipeline and template once, pipeline first, before the first bulk)", reqs, want)
	}
	var tpl templateDoc
	if err := json.Unmarshal(es.templates["wss-audit"], &tpl); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tpl.IndexPatterns, []string{"wss-audit-*"}) || tpl.DataStream != nil || tpl.Priority <= 100 {
		t.Errorf("index_patterns %v, data_stream %s, priority %d", tpl.IndexPatterns, tpl.DataStream, tpl.Priority)
	}
	// event.ingested is the cluster's: the final pipeline (which a request
	// pipeline cannot replace) stamps it from the ingest timestamp.
	if got := tpl.Template.Settings["index.final_pipeline"]; got != "wss-audit-ingested" {
		t.Errorf("template settings %v, want index.final_pipeline wss-audit-ingested", tpl.Template.Settings)
	}
	var pl struct {
		Processors []struct {
			Set *struct {
				Field string `json:"field"`
				Value string `json:"value"`
			} `json:"set"`
		} `json:"processors"`
	}
	if err := json.Unmarshal(es.pipelines["wss-audit-ingested"], &pl); err != nil {
		t.Fatalf("pipeline %s: %v", es.pipelines["wss-audit-ingested"], err)
	}
	if len(pl.Processors) != 1 || pl.Processors[0].Set == nil || pl.Processors[0].Set.Field != "event.ingested" ||
		pl.Processors[0].Set.Value != "{{{_ingest.timestamp}}}" {
		t.Errorf("pipeline %s does not set event.ingested from the ingest timestamp", es.pipelines["wss-audit-ingested"])
	}
	if string(es.pipelines["wss-audit-ingested"]) != string(IngestPipeline()) {
		t.Errorf("installed pipeline differs from IngestPipeline() (the one docs/ecs.md shows)")
	}
	for path, typ := range map[string]string{
		"@timestamp": "date", "message": "match_only_text", "event.hash": "keyword", "event.action": "keyword",
		"event.original": "keyword", "event.ingested": "date", "event.created": "date", "event.reason": "keyword",
		"user.name": "keyword", "user.target.name": "keyword", "source.ip": "ip", "related.ip": "ip",
		"user_agent.original": "keyword", "organization.id": "keyword", "rule.name": "keyword", "rule.ruleset": "keyword",
		"host.name": "keyword", "group.name": "keyword",
	} {
		if got := mappingType(t, tpl.Template.Mappings.Properties, path); got != typ {
			t.Errorf("%s mapped as %q, want %q", path, got, typ)
		}
	}
	if !strings.Contains(string(es.templates["wss-audit"]), `"path_match":"wss.audit.*"`) {
		t.Errorf("no dynamic template for wss.audit.*")
	}
	var orig map[string]any
	json.Unmarshal(tpl.Template.Mappings.Properties["event"], &orig)
	if ev := orig["properties"].(map[string]any)["original"].(map[string]any); ev["index"] != false {
		t.Errorf("event.original is indexed: %v", ev)
	}
}

// mappingType finds a dotted field's type in mapping properties.
func mappingType(t *testing.T, props map[string]json.RawMessage, path string) string {
	head, rest, nested := strings.Cut(path, ".")
	if path == "@timestamp" {
		head, nested = path, false
	}
	var m struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(props[head], &m); err != nil {
		return ""
	}
	if nested {
		return mappingType(t, m.Properties, rest)
	}
	return m.Type
}

func TestTemplateDataStream(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Index: "logs-wss.audit-prod",
		Setup: Setup{Template: true, DataStream: boolPtr(true), TemplateName: "logs-wss.audit"}})
	if err := o.Write(context.Background(), makeEvents(t, 1, day, 0)); err != nil {
		t.Fatal(err)
	}
	var tpl templateDoc
	json.Unmarshal(es.templates["logs-wss.audit"], &tpl)
	if !reflect.DeepEqual(tpl.IndexPatterns, []string{"logs-wss.audit-prod"}) || string(tpl.DataStream) != "{}" {
		t.Errorf("data stream template: patterns %v, data_stream %s", tpl.IndexPatterns, tpl.DataStream)
	}
	if got := tpl.Template.Settings["index.final_pipeline"]; got != "logs-wss.audit-ingested" {
		t.Errorf("data stream template settings %v", tpl.Template.Settings)
	}
	if a := es.calls()[0].actions[0]; a.op != "create" || a.index != "logs-wss.audit-prod" {
		t.Errorf("action %+v", a)
	}
}

// The default target is the data stream logs-wss.audit-default, written with
// create, and setup.template installs a data stream template for it.
func TestDefaultTargetIsDataStream(t *testing.T) {
	es := newFakeES(t)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Setup: Setup{Template: true}})
	if err := o.Write(context.Background(), makeEvents(t, 2, day, 24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, a := range es.calls()[0].actions {
		if a.op != "create" || a.index != "logs-wss.audit-default" {
			t.Errorf("action %+v, want create into logs-wss.audit-default whatever the day", a)
		}
	}
	var tpl templateDoc
	json.Unmarshal(es.templates["wss-audit"], &tpl)
	if !reflect.DeepEqual(tpl.IndexPatterns, []string{"logs-wss.audit-default"}) || string(tpl.DataStream) != "{}" {
		t.Errorf("default template: patterns %v, data_stream %s; want a data stream template", tpl.IndexPatterns, tpl.DataStream)
	}
	// data_stream: false is honoured (a plain index of that name).
	c := Config{Addresses: []string{"http://es:9200"}, Setup: Setup{DataStream: boolPtr(false)}}
	if d := c.withDefaults(); d.Setup.dataStream() || d.Index != DefaultIndex {
		t.Errorf("data_stream: false gives data stream %v, index %q", d.Setup.dataStream(), d.Index)
	}
}

func TestPipelineFailureBlocksWrites(t *testing.T) {
	es := newFakeES(t)
	es.pipelineErr = 403
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Setup: Setup{Template: true}})
	err := o.Write(context.Background(), makeEvents(t, 1, day, 0))
	wholeBatchRetry(t, err)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "manage_pipeline") || !strings.Contains(err.Error(), "wss-audit-ingested") {
		t.Errorf("pipeline refused with 403: %v; want ErrAuth naming the pipeline and manage_pipeline", err)
	}
	if len(es.calls()) != 0 || len(es.templates) != 0 {
		t.Errorf("template or documents sent before the pipeline was in: %d bulks, templates %v", len(es.calls()), es.templates)
	}
	es.pipelineErr = 0
	if err := o.Write(context.Background(), makeEvents(t, 1, day, 0)); err != nil {
		t.Fatalf("after the privilege was granted: %v", err)
	}
}

func boolPtr(b bool) *bool { return &b }

func TestTemplateExistingLeftAlone(t *testing.T) {
	es := newFakeES(t)
	es.templates["wss-audit"] = []byte(`{"hand":"tuned"}`)
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Setup: Setup{Template: true}})
	if err := o.Write(context.Background(), makeEvents(t, 1, day, 0)); err != nil {
		t.Fatal(err)
	}
	if string(es.templates["wss-audit"]) != `{"hand":"tuned"}` {
		t.Errorf("an existing template was replaced without setup.overwrite")
	}
	o2 := newOutput(t, Config{Addresses: []string{es.URL()}, Setup: Setup{Template: true, Overwrite: true}})
	if err := o2.Write(context.Background(), makeEvents(t, 1, day, 0)); err != nil {
		t.Fatal(err)
	}
	if string(es.templates["wss-audit"]) == `{"hand":"tuned"}` {
		t.Errorf("setup.overwrite did not replace the template")
	}
}

func TestTemplateFailureBlocksWrites(t *testing.T) {
	es := newFakeES(t)
	es.templateErr = 400
	o := newOutput(t, Config{Addresses: []string{es.URL()}, Setup: Setup{Template: true}})
	err := o.Write(context.Background(), makeEvents(t, 1, day, 0))
	wholeBatchRetry(t, err)
	for _, want := range []string{"setup.template", "wss-audit", "HTTP 400", "same priority"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if len(es.calls()) != 0 {
		t.Errorf("documents were sent before the template was in")
	}
	es.templateErr = 403
	if err := o.Write(context.Background(), makeEvents(t, 1, day, 0)); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "manage_index_templates") {
		t.Errorf("template refused with 403: %v; want ErrAuth naming manage_index_templates", err)
	}
	es.templateErr = 0 // fixed: the next Write installs it, then writes
	if err := o.Write(context.Background(), makeEvents(t, 1, day, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*fakeES)
		cfg   func(*Config)
		want  string // "" = ok
		is    error
	}{
		{"reachable, writable", func(*fakeES) {}, nil, "", nil},
		{"security off", func(f *fakeES) { f.securityOff = true }, nil, "", nil},
		{"unauthorized", func(f *fakeES) { f.user, f.pass = "auditfwd", "other" }, nil, "401", ErrAuth},
		{"lacks create_doc", func(f *fakeES) { f.missing = []string{"create_doc"} },
			nil, `user "auditfwd" lacks create_doc on logs-wss.audit-default`, ErrNotWritable},
		{"lacks create_doc on a dated index", func(f *fakeES) { f.missing = []string{"create_doc"} },
			func(c *Config) { c.Index = "wss-audit-%{+yyyy.MM.dd}" }, `user "auditfwd" lacks create_doc on wss-audit-`, ErrNotWritable},
		{"lacks template privilege", func(f *fakeES) { f.missing = []string{"manage_index_templates"} },
			func(c *Config) { c.Setup.Template = true }, "manage_index_templates", ErrNotWritable},
		{"lacks pipeline privilege", func(f *fakeES) { f.missing = []string{"manage_pipeline"} },
			func(c *Config) { c.Setup.Template = true }, "cluster privilege manage_pipeline (for setup.template)", ErrNotWritable},
		{"write block", func(f *fakeES) { f.blocks = map[string]string{"audit": "index.blocks.read_only_allow_delete"} },
			func(c *Config) { c.Index = "audit" }, "audit has index.blocks.read_only_allow_delete", ErrNotWritable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t)
			es.user, es.pass = "auditfwd", "pw"
			tc.setup(es)
			cfg := Config{Addresses: []string{es.URL()}, Username: "auditfwd", Password: "pw"}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			o := newOutput(t, cfg)
			err := o.Check(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v; want an error with %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Check error %v does not wrap %v", err, tc.is)
			}
			for _, r := range es.seen() {
				if strings.Contains(r, "_bulk") || strings.HasPrefix(r, "PUT") {
					t.Errorf("Check wrote: %s", r)
				}
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		o := newOutput(t, Config{Addresses: []string{"http://" + deadAddress(t)}})
		if err := o.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "not reachable") {
			t.Errorf("Check = %v; want not reachable", err)
		}
	})
	t.Run("not Elasticsearch", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"version":{"number":"8.0.0"}}`)) // no X-Elastic-Product
		}))
		defer srv.Close()
		o := newOutput(t, Config{Addresses: []string{srv.URL}})
		if err := o.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "not Elasticsearch") {
			t.Errorf("Check = %v; want the product check's error", err)
		}
	})
}

// deadAddress is a 127.0.0.1 port with nothing listening.
func deadAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
