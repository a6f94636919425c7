package splunkhec

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHEC answers as Splunk's HTTP Event Collector documents it
// ("Troubleshoot HTTP Event Collector": status codes and the JSON
// {"text":...,"code":N} bodies; "About HTTP Event Collector Indexer
// Acknowledgment": ackId, the channel header, /ack polling).
//
//	code 0  200 Success                  code 7  400 Incorrect index
//	code 1  403 Token disabled           code 9  503 Server is busy
//	code 2  401 Token is required        code 10 400 Data channel is missing
//	code 3  401 Invalid authorization    code 11 400 Invalid data channel
//	code 4  403 Invalid token            code 12 400 Event field is required
//	code 5  400 No data                  code 13 400 Event field cannot be blank
//	code 6  400 Invalid data format      code 14 400 ACK is disabled
//	code 17 200 HEC is healthy           code 18 503 HEC is unhealthy, queues are full
type fakeHEC struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	tokens   map[string]bool // token -> enabled
	requests []*hecRequest   // every /event request
	stored   []map[string]any
	ackPolls int
	acks     map[string]map[int64]*fakeAck // channel -> ackId -> state
	nextAck  map[string]int64

	// Knobs, set before the requests they affect.
	ack           bool            // indexer acknowledgement on for the tokens
	ackAfterPolls int             // an ack turns true at this poll of it (<0: never)
	badHashes     map[string]bool // events with this fields["event.hash"] are invalid (code 6)
	maxBody       int             // > 0: a longer body (uncompressed) gets 413
	busy          func(n int) (status int, retryAfter string)
	unhealthy     bool
	forgetAcks    bool // after each /ack poll, forget every ack (a restarted indexer)
	resetChannel  bool // /ack answers 400 code 11 (the channel is no longer known)
	// ackRule, when set, replaces ackAfterPolls: the ack of request id
	// is true at this poll of it (polls counts them, from 1) when
	// indexed says so, polls and the time since the request was accepted
	// given. It makes acks come out of order, late, or never (the indexer
	// lost them: /ack answers false until the sender gives up).
	ackRule func(id int64, polls int, age time.Duration) (indexed bool)
	// hold > 0: each /event request waits, before it is answered, until
	// hold of them are in flight together (or 30 s pass): a sender that
	// sends one at a time shows, whatever the machine's speed.
	hold        int
	gateMu      sync.Mutex
	inFlight    int
	maxInFlight int
	release     chan struct{}
	released    bool
	ackQueries  [][]int64 // the ackIds of every /ack call
	// light keeps no request and parses no event (a benchmark's stand-in:
	// only the events are counted, in stored's place).
	light      bool
	lightCount int
}

type fakeAck struct {
	polls    int
	accepted time.Time
	ackedAt  time.Time
	released bool
	lines    int      // events in the request
	hashes   []string // their event.hash fields
}

type hecRequest struct {
	header http.Header
	body   []byte // gunzipped
	lines  []map[string]json.RawMessage
}

func newFakeHEC(t testing.TB, tls bool) *fakeHEC {
	f := &fakeHEC{t: t, tokens: map[string]bool{"good-token-0001": true, "disabled-token": false},
		acks: map[string]map[int64]*fakeAck{}, nextAck: map[string]int64{}, ackAfterPolls: 0}
	if tls {
		f.srv = httptest.NewTLSServer(f)
	} else {
		f.srv = httptest.NewServer(f)
	}
	t.Cleanup(f.srv.Close)
	return f
}

// gate counts the requests in flight and holds each until hold of them
// are (see hold); the function it returns ends the request's count.
func (f *fakeHEC) gate() func() {
	f.gateMu.Lock()
	if f.release == nil {
		f.release = make(chan struct{})
	}
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	if f.inFlight == f.hold && !f.released {
		f.released = true
		close(f.release)
	}
	ch := f.release
	f.gateMu.Unlock()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
	}
	return func() {
		f.gateMu.Lock()
		f.inFlight--
		f.gateMu.Unlock()
	}
}

func reply(w http.ResponseWriter, status int, text string, code int, extra ...any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	m := map[string]any{"text": text, "code": code}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	json.NewEncoder(w).Encode(m)
}

// auth answers a refused token as Splunk does and reports whether it did.
func (f *fakeHEC) auth(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		reply(w, 401, "Token is required", 2)
		return true
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || scheme != "Splunk" || tok == "" || strings.Contains(tok, " ") {
		reply(w, 401, "Invalid authorization", 3)
		return true
	}
	enabled, known := f.tokens[tok]
	switch {
	case !known:
		reply(w, 403, "Invalid token", 4)
		return true
	case !enabled:
		reply(w, 403, "Token disabled", 1)
		return true
	}
	return false
}

func (f *fakeHEC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is read before the lock, so that concurrent requests
	// overlap as they do on a real HEC.
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if f.hold > 0 && r.URL.Path == "/services/collector/event" {
		defer f.gate()()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/services/collector/health":
		if f.unhealthy {
			reply(w, 503, "HEC is unhealthy, queues are full", 18)
			return
		}
		reply(w, 200, "HEC is healthy", 17)
	case "/services/collector/event":
		f.event(w, r)
	case "/services/collector/ack":
		f.ackPoll(w, r)
	default:
		w.WriteHeader(404)
		io.WriteString(w, `{"text":"The requested URL was not found on this server.","code":404}`)
	}
}

func (f *fakeHEC) event(w http.ResponseWriter, r *http.Request) {
	if f.auth(w, r) {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	body := raw
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			reply(w, 400, "Invalid data format", 6)
			return
		}
		if body, err = io.ReadAll(zr); err != nil {
			reply(w, 400, "Invalid data format", 6)
			return
		}
	}
	req := &hecRequest{header: r.Header.Clone(), body: body}
	if !f.light {
		f.requests = append(f.requests, req)
	}
	if f.busy != nil {
		if status, after := f.busy(len(f.requests)); status != 0 {
			if after != "" {
				w.Header().Set("Retry-After", after)
			}
			if status == 503 {
				reply(w, 503, "Server is busy", 9)
			} else {
				w.WriteHeader(status)
				io.WriteString(w, `{"text":"Too Many Requests"}`)
			}
			return
		}
	}
	channel := r.Header.Get("X-Splunk-Request-Channel")
	if f.ack {
		if channel == "" {
			reply(w, 400, "Data channel is missing", 10)
			return
		}
		if !guidRE.MatchString(channel) {
			reply(w, 400, "Invalid data channel", 11)
			return
		}
	}
	if f.maxBody > 0 && len(body) > f.maxBody {
		w.WriteHeader(413)
		fmt.Fprintf(w, `{"text":"Content-Length of %d too large (maximum is %d)"}`, len(body), f.maxBody)
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		reply(w, 400, "No data", 5)
		return
	}
	count := bytes.Count(body, []byte("\n"))
	if f.light {
		f.lightCount += count
		f.accepted(w, channel, count, nil)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var evs []map[string]any
	for n := 0; ; n++ {
		var line map[string]json.RawMessage
		if err := dec.Decode(&line); err == io.EOF {
			break
		} else if err != nil {
			reply(w, 400, "Invalid data format", 6, "invalid-event-number", n)
			return
		}
		req.lines = append(req.lines, line)
		ev, ok := line["event"]
		if !ok {
			reply(w, 400, "Event field is required", 12, "invalid-event-number", n)
			return
		}
		if s := string(bytes.TrimSpace(ev)); s == `""` || s == "null" {
			reply(w, 400, "Event field cannot be blank", 13, "invalid-event-number", n)
			return
		}
		var fields map[string]string
		json.Unmarshal(line["fields"], &fields)
		if f.badHashes[fields["event.hash"]] {
			reply(w, 400, "Invalid data format", 6, "invalid-event-number", n)
			return
		}
		var full map[string]any
		json.Unmarshal(mustJSON(line), &full)
		evs = append(evs, full)
	}
	f.stored = append(f.stored, evs...) // all or nothing
	var hashes []string
	for _, ev := range evs {
		if fields, ok := ev["fields"].(map[string]any); ok {
			h, _ := fields["event.hash"].(string)
			hashes = append(hashes, h)
		}
	}
	f.accepted(w, channel, count, hashes)
}

// accepted answers a stored request: with ack on, with its ackId.
func (f *fakeHEC) accepted(w http.ResponseWriter, channel string, n int, hashes []string) {
	if !f.ack {
		reply(w, 200, "Success", 0)
		return
	}
	id := f.nextAck[channel]
	f.nextAck[channel]++
	if f.acks[channel] == nil {
		f.acks[channel] = map[int64]*fakeAck{}
	}
	f.acks[channel][id] = &fakeAck{accepted: time.Now(), lines: n, hashes: hashes}
	reply(w, 200, "Success", 0, "ackId", id)
}

func (f *fakeHEC) ackPoll(w http.ResponseWriter, r *http.Request) {
	if f.auth(w, r) {
		return
	}
	if !f.ack {
		reply(w, 400, "ACK is disabled", 14)
		return
	}
	channel := r.Header.Get("X-Splunk-Request-Channel")
	if channel == "" {
		reply(w, 400, "Data channel is missing", 10)
		return
	}
	if !guidRE.MatchString(channel) {
		reply(w, 400, "Invalid data channel", 11)
		return
	}
	var q struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		reply(w, 400, "Invalid data format", 6)
		return
	}
	f.ackPolls++
	if !f.light {
		f.ackQueries = append(f.ackQueries, q.Acks)
	}
	if f.resetChannel {
		reply(w, 400, "Invalid data channel", 11)
		return
	}
	if f.forgetAcks {
		defer func() { f.acks = map[string]map[int64]*fakeAck{} }()
	}
	out := map[string]bool{}
	for _, id := range q.Acks {
		a := f.acks[channel][id]
		if a == nil || a.released {
			out[strconv.FormatInt(id, 10)] = false
			continue
		}
		a.polls++
		indexed := f.ackAfterPolls >= 0 && a.polls >= f.ackAfterPolls
		if f.ackRule != nil {
			indexed = f.ackRule(id, a.polls, time.Since(a.accepted))
		}
		if indexed {
			a.ackedAt = time.Now()
			a.released = true // Splunk forgets an ack once it has answered true
			out[strconv.FormatInt(id, 10)] = true
		} else {
			out[strconv.FormatInt(id, 10)] = false
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"acks": out})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// storedEvents0 is storedEvents with f.mu held.
func (f *fakeHEC) storedEvents0() []map[string]any { return f.stored }

func (f *fakeHEC) storedEvents() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.stored...)
}

func (f *fakeHEC) calls() []*hecRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*hecRequest(nil), f.requests...)
}
