package simulator

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ServeHTTP answers GET {Path}?startDate=..&endDate=..[&format=JSON|CSV]
// [&objectType=..][&operationType=..] with the records whose served time lies
// in the window and which are visible at Now().
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	entry := Request{
		Time:   s.cfg.Now(),
		Method: r.Method,
		Path:   r.URL.Path,
		Start:  q.Get(s.cfg.StartParam),
		End:    q.Get(s.cfg.EndParam),
		Query:  q,
	}
	// The log entry is complete before a reset reaches the client, so a test
	// that saw the reset also sees the entry.
	var resetConn bool
	defer func() {
		s.logRequest(entry)
		if resetConn {
			abort(w)
		}
	}()

	if r.URL.Path != s.cfg.Path {
		entry.Status = writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	f, faulted := s.takeFault()
	if faulted {
		entry.Fault = f.kind()
		if f.Delay > 0 && !sleepCtx(r.Context(), f.Delay) {
			return // the client gave up; Status stays 0
		}
		if f.RedirectTo != "" {
			entry.Status = redirect(w, r, f)
			return
		}
		if f.Status != 0 || f.Body != "" {
			entry.Status = writeFault(w, f)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		entry.Status = writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="WSS Audit Logs"`)
		entry.Status = writeError(w, http.StatusUnauthorized, "invalid or missing API credentials")
		return
	}
	qry, err := s.parseQuery(q)
	if err != nil {
		entry.Status = writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resetConn = s.stream(w, r, qry, f, &entry)
}

func (s *Simulator) authorized(r *http.Request) bool {
	if s.cfg.Username == "" && s.cfg.Password == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.Username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password)) == 1
	return ok && userOK && passOK
}

func writeError(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := append([]byte(`{"error":`), appendJSONString(nil, http.StatusText(status), false)...)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg, false)
	b = append(b, "}\n"...)
	_, _ = w.Write(b)
	return status
}

func writeFault(w http.ResponseWriter, f Fault) int {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="WSS Audit Logs"`)
	}
	if f.Body == "" {
		return writeError(w, status, "injected fault")
	}
	ct := "application/json"
	if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
		ct = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, f.Body)
	return status
}

// query is a parsed, valid download request.
type query struct {
	startMs, endMs int64 // [startMs, endMs)
	csv            bool
	objectTypes    []string // empty = all
	operations     []string
}

func (s *Simulator) parseQuery(q url.Values) (query, error) {
	var out query
	var errs []error
	rawStart, rawEnd := q.Get(s.cfg.StartParam), q.Get(s.cfg.EndParam)
	var err error
	var endIsDay bool
	if rawStart == "" {
		errs = append(errs, fmt.Errorf("missing %s", s.cfg.StartParam))
	} else if out.startMs, _, err = s.parseBound(rawStart); err != nil {
		errs = append(errs, fmt.Errorf("invalid %s %q: %v", s.cfg.StartParam, rawStart, err))
	}
	if rawEnd == "" {
		errs = append(errs, fmt.Errorf("missing %s", s.cfg.EndParam))
	} else if out.endMs, endIsDay, err = s.parseBound(rawEnd); err != nil {
		errs = append(errs, fmt.Errorf("invalid %s %q: %v", s.cfg.EndParam, rawEnd, err))
	}
	if len(errs) == 0 && out.endMs < out.startMs {
		errs = append(errs, fmt.Errorf("%s is before %s", s.cfg.EndParam, s.cfg.StartParam))
	}
	if endIsDay { // whole days are inclusive: the window ends when the end day does
		out.endMs += (24 * time.Hour).Milliseconds()
	}
	switch format := q.Get("format"); {
	case format == "" || strings.EqualFold(format, "json"):
	case strings.EqualFold(format, "csv"):
		out.csv = true
	default:
		errs = append(errs, fmt.Errorf("unsupported format %q (JSON or CSV)", format))
	}
	out.objectTypes = splitList(q["objectType"])
	out.operations = splitList(q["operationType"])
	return out, errors.Join(errs...)
}

// parseBound reads one window bound and reports whether it was a whole day
// (UTC midnight of that day is returned).
func (s *Simulator) parseBound(v string) (ms int64, isDay bool, err error) {
	format := s.cfg.DateFormat
	if format == "auto" {
		switch {
		case len(v) == 10 && v[4] == '-' && v[7] == '-':
			format = "date"
		case allDigits(v):
			format = "epoch_ms"
		default:
			format = "rfc3339"
		}
	}
	switch format {
	case "date":
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return 0, false, errors.New("want a date like 2026-11-24")
		}
		return t.UnixMilli(), true, nil
	case "epoch_ms":
		if !allDigits(v) {
			return 0, false, errors.New("want epoch milliseconds")
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false, errors.New("want epoch milliseconds")
		}
		return ms, false, nil
	default:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, false, errors.New("want an RFC 3339 time like 2026-11-24T10:15:02Z")
		}
		return t.UnixMilli(), false, nil
	}
}

func allDigits(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// splitList accepts repeated and comma-joined values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func matches(v string, set []string) bool {
	if len(set) == 0 {
		return true
	}
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// streamer holds the per-response buffers; pooled so a response costs a
// handful of allocations whatever its size.
type streamer struct {
	bw         *bufio.Writer
	rec        rec
	buf, extra []byte
	elems      int // array elements (or CSV rows) written so far
}

var streamers = sync.Pool{New: func() any {
	return &streamer{bw: bufio.NewWriterSize(nil, 32<<10), buf: make([]byte, 0, 2048)}
}}

// stream writes the response body; it reports whether the connection must
// now be reset (a ResetAfter fault).
func (s *Simulator) stream(w http.ResponseWriter, r *http.Request, q query, f Fault, e *Request) (reset bool) {
	h := w.Header()
	if q.csv {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	e.Status = http.StatusOK
	if r.Method == http.MethodHead {
		return false
	}

	st := streamers.Get().(*streamer)
	st.bw.Reset(bodyWriter(w, r, f))
	st.elems = 0
	defer func() {
		st.bw.Reset(nil)
		if cap(st.buf) > 1<<20 { // do not keep huge hostile records around
			st.buf = make([]byte, 0, 2048)
		}
		streamers.Put(st)
	}()

	seq := atomic.AddUint64(&s.reqSeq, 1)
	lo, hi := s.searchMs(q.startMs), s.searchMs(q.endMs)
	nowMs := s.cfg.Now().UnixMilli()
	ord := s.orderFor(hi-lo, seq)
	cutAt := -1 // the k-th record in the response's order is cut
	if f.Truncate {
		cutAt = (hi - lo) / 2
	}
	if q.csv {
		st.bw.WriteString("timestamp,id,userName,sourceIp,objectType,objectName,operationType,status,description\n")
	} else if s.cfg.Shape != "array" {
		st.bw.WriteString(`{"requestId":"sim-`)
		st.bw.Write(strconv.AppendUint(st.buf[:0], seq, 10))
		st.bw.WriteString(`","`)
		st.bw.WriteString(s.cfg.Shape)
		st.bw.WriteString(`":`)
	}

	filtered := len(q.objectTypes) > 0 || len(q.operations) > 0
	bad := !q.csv && (f.HugeRecord > 0 || f.DeepRecord > 0)
	for k := 0; k < hi-lo; k++ {
		i := lo + ord.at(k)
		if ms, _ := s.timeOf(i); ms+s.lateMs(i) > nowMs {
			continue // not visible yet
		}
		s.fill(&st.rec, i)
		if filtered && (!matches(st.rec.objType, q.objectTypes) || !matches(st.rec.op, q.operations)) {
			continue
		}
		if q.csv {
			st.buf = appendCSVRecord(st.buf[:0], &st.rec)
		} else {
			st.buf = s.appendRecord(st.buf[:0], &st.rec)
		}
		if cutAt >= 0 && k >= cutAt {
			st.writeElem(st.buf[:len(st.buf)/2], q.csv)
			e.Truncated = true
			st.finish(w)
			return false
		}
		if bad && st.elems >= f.At {
			st.badRecord(f)
			bad = false
		}
		st.writeElem(st.buf, q.csv)
		e.Records++
		if st.rec.dup {
			st.writeElem(st.buf, q.csv)
			e.Records++
			e.Duplicates++
		}
		if st.rec.malformed {
			if q.csv {
				st.extra = appendCSVMalformed(st.extra[:0], &st.rec)
			} else {
				st.extra = s.appendMalformed(st.extra[:0], &st.rec)
			}
			st.writeElem(st.extra, q.csv)
			e.Malformed++
		}
		if f.ResetAfter > 0 && e.Records >= f.ResetAfter {
			break
		}
	}
	if bad {
		st.badRecord(f)
	}
	if f.Endless && !q.csv {
		s.endless(r.Context(), st, e)
	}
	if f.ResetAfter > 0 {
		e.Aborted = true
		st.finish(w)
		return true
	}
	if cutAt >= 0 { // nothing reached the cut: cut a stand-in record
		st.writeElem([]byte(`{"timestamp":"2026-11-24T10:1`), q.csv)
		e.Truncated = true
		st.finish(w)
		return false
	}

	if !q.csv {
		switch {
		case st.elems > 0:
			st.bw.WriteByte(']')
		case s.cfg.Shape != "array" && seq%2 == 0:
			st.bw.WriteString("null")
		default:
			st.bw.WriteString("[]")
		}
		if s.cfg.Shape != "array" {
			st.bw.WriteString(`,"meta":{"count":`)
			st.bw.Write(strconv.AppendInt(st.buf[:0], int64(e.Records+e.Malformed), 10))
			st.bw.WriteString(`,"startDate":`)
			st.bw.Write(appendJSONString(st.buf[:0], e.Start, false))
			st.bw.WriteString(`,"endDate":`)
			st.bw.Write(appendJSONString(st.buf[:0], e.End, false))
			st.bw.WriteString(`,"timeZone":"UTC"}}`)
		}
		st.bw.WriteByte('\n')
	}
	st.finish(w)
	return false
}

func (st *streamer) writeElem(b []byte, csv bool) {
	if !csv {
		if st.elems == 0 {
			st.bw.WriteByte('[')
		} else {
			st.bw.WriteByte(',')
		}
	}
	st.bw.Write(b)
	st.elems++
}

// finish pushes everything written so far to the client. Flushing the
// ResponseWriter too keeps even small answers chunked, without Content-Length.
func (st *streamer) finish(w http.ResponseWriter) {
	_ = st.bw.Flush()
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// abort cuts the connection mid-body: the client sees a reset (or an
// unexpected EOF) instead of the end of the chunked body.
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST rather than FIN
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func appendCSVRecord(b []byte, r *rec) []byte {
	t := appendTime(nil, r.ms, fmtRFC3339Milli)
	b = append(b, t[1:len(t)-1]...)
	b = append(b, ',')
	b = appendID(b, r.id)
	for _, v := range [...]string{r.user, string(r.ip), r.objType, r.objName, r.op, r.status} {
		b = append(b, ',')
		b = appendCSVField(b, v)
	}
	b = append(b, ',')
	b = appendCSVField(b, r.desc)
	return append(b, '\n')
}

func appendCSVMalformed(b []byte, r *rec) []byte {
	b = append(b, "not a date,bad-"...)
	b = appendID(b, r.malSeed)
	return append(b, ",,,,,,,entry the upstream could not render\n"...)
}

func appendCSVField[T string | []byte](b []byte, v T) []byte {
	if !strings.ContainsAny(string(v), ",\"\r\n") && (len(v) == 0 || v[0] != ' ') {
		return append(b, v...)
	}
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}
