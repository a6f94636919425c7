package simulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Hostile answers: what a broken or malicious server sends to an agent
// that must not stall, grow without bound, or follow it elsewhere.

const (
	hugeHead = `{"id":"sim-huge-record","operationType":"Create","pad":"`
	hugeTail = `"}`
	deepHead = `{"id":"sim-deep-record","nest":`
	deepTail = `}`
)

// HugeRecordJSON streams the record Fault{HugeRecord: size} inserts: the
// same bytes on every request, so tests can hash them without holding them.
func HugeRecordJSON(size int) io.Reader {
	pad := max(size-len(hugeHead)-len(hugeTail), 0)
	return io.MultiReader(strings.NewReader(hugeHead), &repeatReader{b: 'x', n: pad}, strings.NewReader(hugeTail))
}

// DeepRecordJSON is the record Fault{DeepRecord: levels} inserts: an object
// holding levels-1 nested arrays.
func DeepRecordJSON(levels int) []byte {
	n := max(levels-1, 0)
	b := make([]byte, 0, len(deepHead)+2*n+1+len(deepTail))
	b = append(b, deepHead...)
	b = append(b, strings.Repeat("[", n)...)
	if n == 0 {
		b = append(b, "null"...)
	}
	b = append(b, strings.Repeat("]", n)...)
	return append(b, deepTail...)
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}

// badRecord writes the fault's huge or deep record as the next element.
func (st *streamer) badRecord(f Fault) {
	switch {
	case f.HugeRecord > 0:
		st.writeElem(nil, false)
		_, _ = io.Copy(st.bw, HugeRecordJSON(f.HugeRecord))
	case f.DeepRecord > 0:
		st.writeElem(DeepRecordJSON(f.DeepRecord), false)
	}
}

// endless writes new valid records, ones past the tenant's last, until the
// client goes away.
func (s *Simulator) endless(ctx context.Context, st *streamer, e *Request) {
	for i := s.cfg.Records; ctx.Err() == nil; i++ {
		s.fill(&st.rec, i)
		st.buf = s.appendRecord(st.buf[:0], &st.rec)
		st.writeElem(st.buf, false)
		e.Records++
		if st.err() != nil {
			return // a write failed: the client is gone
		}
	}
}

// err is the writer's sticky error, if a flush failed.
func (st *streamer) err() error {
	_, err := st.bw.Write(nil)
	return err
}

// slowWriter sends one byte per interval, flushing each, until ctx ends.
type slowWriter struct {
	w     http.ResponseWriter
	every time.Duration
	ctx   context.Context
}

var errClientGone = errors.New("simulator: the client went away")

func (sw *slowWriter) Write(p []byte) (int, error) {
	fl, _ := sw.w.(http.Flusher)
	for i := range p {
		if _, err := sw.w.Write(p[i : i+1]); err != nil {
			return i, err
		}
		if fl != nil {
			fl.Flush()
		}
		if !sleepCtx(sw.ctx, sw.every) {
			return i + 1, errClientGone
		}
	}
	return len(p), nil
}

// bodyWriter is where the body goes: w, or w one byte at a time.
func bodyWriter(w http.ResponseWriter, r *http.Request, f Fault) io.Writer {
	if f.SlowBody > 0 {
		return &slowWriter{w: w, every: f.SlowBody, ctx: r.Context()}
	}
	return w
}

// redirect answers 302 to f.RedirectTo with the request's query.
func redirect(w http.ResponseWriter, r *http.Request, f Fault) int {
	target := f.RedirectTo
	if r.URL.RawQuery != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusFound)
	return http.StatusFound
}
