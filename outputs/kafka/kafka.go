package kafka

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// Header names added to every message unless headers: false.
const (
	HeaderSource  = "auditfwd-source"  // labels.source: the WSS tenant
	HeaderDataset = "auditfwd-dataset" // event.dataset
	HeaderHash    = "auditfwd-hash"    // the record hash, hex
)

// Producer tuning that is not worth a setting. kafka-go retries a failed
// produce request itself, but against the metadata it has cached (up to
// 6 s old), so its retries rarely help once a broker is gone; a few quick
// ones ride out a blip, and the pipeline's back-off, with a fresh
// connection, does the rest.
const (
	writerAttempts   = 3
	writerBackoffMin = 50 * time.Millisecond
	writerBackoffMax = 250 * time.Millisecond
)

// Output is the Kafka output. Write is safe to call from one goroutine at a
// time (the pipeline's drainer); Check may run beside it.
type Output struct {
	name     string
	cfg      Config
	topic    template
	static   string // the topic when it has no field reference
	key      template
	hashKey  bool // the key is the record hash: no need to read the document
	acks     kafka.RequiredAcks
	codec    kafka.Compression
	maxBytes int
	headers  bool
	tls      *tls.Config
	mech     sasl.Mechanism
	auth     authTracker

	mu     sync.Mutex
	closed bool
	w      *kafka.Writer
	tr     *kafka.Transport
	bg     sync.WaitGroup // writers being closed after a failed write
	fields fieldCache
	buf    []byte
	topics map[string]topicName // rendered topic -> its checked name
}

type topicName struct {
	name string
	err  error
}

// maxCachedTopics bounds the rendered-topic cache; a template over a field
// with many values just renders again.
const maxCachedTopics = 1024

// New builds the output from a validated Config. It reads the TLS and
// password files but does not connect: the first Write does.
func New(name string, cfg Config) (*Output, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o := &Output{
		name:     name,
		cfg:      cfg,
		maxBytes: cfg.maxMessageBytes(),
		headers:  cfg.headers(),
		topics:   make(map[string]topicName),
	}
	var err error
	if o.topic, err = parseTemplate(cfg.Topic); err != nil {
		return nil, fmt.Errorf("topic: %w", err)
	}
	if o.topic.static() {
		o.static = cfg.Topic
	}
	keySrc := cfg.Key
	if keySrc == "" {
		keySrc = DefaultKey
	}
	if o.key, err = parseKey(keySrc); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	o.hashKey = len(o.key.parts) == 1 && o.key.parts[0].field == hashField
	switch cfg.RequiredAcks {
	case "", "all":
		o.acks = kafka.RequireAll
	case "one":
		o.acks = kafka.RequireOne
	case "none":
		o.acks = kafka.RequireNone
	}
	switch cfg.Compression {
	case "gzip":
		o.codec = kafka.Gzip
	case "snappy":
		o.codec = kafka.Snappy
	case "lz4":
		o.codec = kafka.Lz4
	case "zstd":
		o.codec = kafka.Zstd
	}
	if cfg.TLSEnabled() {
		if o.tls, err = cfg.TLS.Config(); err != nil {
			return nil, err
		}
	}
	mech, err := cfg.SASL.mechanism()
	if err != nil {
		return nil, err
	}
	if mech != nil {
		o.mech = tracked{Mechanism: mech, t: &o.auth}
	}
	return o, nil
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

func (o *Output) newTransport() *kafka.Transport {
	tr := &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: o.cfg.timeout(), KeepAlive: 30 * time.Second}).DialContext,
		DialTimeout: o.cfg.timeout(),
		ClientID:    o.cfg.clientID(),
		TLS:         o.tls,
		SASL:        o.mech,
	}
	if o.static != "" {
		// Only this topic's metadata, not the whole cluster's.
		tr.MetadataTopics = []string{o.static}
	}
	return tr
}

// writer returns the producer, making it on first use and after a failure.
func (o *Output) writer() *kafka.Writer {
	if o.w != nil {
		return o.w
	}
	o.tr = o.newTransport()
	o.w = &kafka.Writer{
		Addr:                   kafka.TCP(o.cfg.Brokers...),
		Balancer:               &kafka.Hash{}, // one key, one partition
		MaxAttempts:            writerAttempts,
		WriteBackoffMin:        writerBackoffMin,
		WriteBackoffMax:        writerBackoffMax,
		BatchSize:              o.cfg.batchSize(),
		BatchBytes:             int64(o.maxBytes),
		BatchTimeout:           o.cfg.batchTimeout(),
		ReadTimeout:            o.cfg.timeout(),
		WriteTimeout:           o.cfg.timeout(),
		RequiredAcks:           o.acks,
		Compression:            o.codec,
		Transport:              o.tr,
		AllowAutoTopicCreation: o.cfg.AutoCreateTopics,
		// Async stays false: an async writer drops its errors.
	}
	return o.w
}

// dropWriter forgets the producer after a failure, so that the next Write
// starts from fresh connections and fresh metadata instead of retrying a
// dead broker from a cache. Closing the old one waits for its in-flight
// requests, which can take a few timeouts: that happens in the background.
func (o *Output) dropWriter() {
	w, tr := o.w, o.tr
	o.w, o.tr = nil, nil
	if w == nil {
		return
	}
	o.bg.Add(1)
	go func() {
		defer o.bg.Done()
		w.Close()
		tr.CloseIdleConnections()
	}()
}

// Close closes the producer. It waits up to timeout for requests still in
// flight; the queue still holds their events, so none is lost either way.
func (o *Output) Close() error {
	o.mu.Lock()
	o.closed = true
	o.dropWriter()
	o.mu.Unlock()
	done := make(chan struct{})
	go func() { o.bg.Wait(); close(done) }()
	t := time.NewTimer(o.cfg.timeout())
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	return nil
}

// Write sends the batch and waits until the brokers acknowledged every
// message (acks=all by default) or timeout passed. See the package doc for
// how failures are reported.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errors.New("kafka output is closed")
	}

	out := newOutcome(len(batch))
	msgs := make([]kafka.Message, len(batch))
	groups := make(map[string][]int) // topic -> batch indexes
	for i := range batch {
		m, err := o.message(&batch[i])
		if err != nil {
			out.set(i, classPermanent, err)
			continue
		}
		msgs[i] = m
		groups[m.Topic] = append(groups[m.Topic], i)
	}
	if len(groups) > 0 {
		ctx, cancel := context.WithTimeout(ctx, o.cfg.timeout())
		defer cancel()
		o.send(ctx, o.writer(), msgs, groups, out)
		if out.retries > 0 {
			o.dropWriter()
		}
	}
	return out.result()
}

// send writes each topic's messages with one WriteMessages call, the topics
// side by side: kafka-go fails a whole call when its topic's metadata is
// bad, and one missing topic must not hold back the others.
func (o *Output) send(ctx context.Context, w *kafka.Writer, msgs []kafka.Message, groups map[string][]int, out *outcome) {
	gen := o.auth.begin()
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for _, idx := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms := make([]kafka.Message, len(idx))
			for j, i := range idx {
				ms[j] = msgs[i]
			}
			err := w.WriteMessages(ctx, ms...)
			var we kafka.WriteErrors
			switch {
			case err == nil:
			case errors.As(err, &we) && len(we) == len(idx):
				for j, i := range idx {
					errs[i] = we[j]
				}
			default: // the call failed as a whole: metadata, context
				for _, i := range idx {
					errs[i] = err
				}
			}
		}()
	}
	wg.Wait()

	for topic, idx := range groups {
		for _, i := range idx {
			err := errs[i]
			if err == nil {
				continue
			}
			c := classify(err)
			if c == classSplit {
				if len(idx) > 1 {
					// The broker refused a produce request holding this
					// event and others; only alone can it say whether this
					// one is too big.
					err = w.WriteMessages(ctx, msgs[i])
					if err == nil {
						continue
					}
					var we kafka.WriteErrors
					if errors.As(err, &we) && len(we) == 1 && we[0] != nil {
						err = we[0]
					}
					c = classify(err)
				}
				if c == classSplit {
					c = classPermanent
				}
			}
			out.set(i, c, o.describe(topic, err, gen))
		}
	}
}

// message builds the Kafka message of one event.
func (o *Output) message(e *event.Event) (kafka.Message, error) {
	o.fields.reset(e)
	topic, err := o.topicFor()
	if err != nil {
		return kafka.Message{}, err
	}
	hash := hex.AppendEncode(make([]byte, 0, 64), e.Hash[:])
	key := hash
	if !o.hashKey {
		if key, err = o.key.render(nil, &o.fields); err != nil {
			return kafka.Message{}, fmt.Errorf("key %s: %w", o.key.src, err)
		}
	}
	m := kafka.Message{Topic: topic, Key: key, Value: e.Doc, Time: e.Time}
	if o.headers {
		m.Headers = make([]kafka.Header, 0, 3)
		// An event without labels.source or event.dataset still goes: the
		// headers are a convenience, the document has everything.
		if v, err := o.fields.get("labels.source", []string{"labels", "source"}); err == nil {
			m.Headers = append(m.Headers, kafka.Header{Key: HeaderSource, Value: []byte(v)})
		}
		if v, err := o.fields.get("event.dataset", []string{"event", "dataset"}); err == nil {
			m.Headers = append(m.Headers, kafka.Header{Key: HeaderDataset, Value: []byte(v)})
		}
		m.Headers = append(m.Headers, kafka.Header{Key: HeaderHash, Value: hash})
	}
	if n := messageSize(&m); n > o.maxBytes {
		return kafka.Message{}, fmt.Errorf("event is %d bytes as a Kafka message, over max_message_bytes %d", n, o.maxBytes)
	}
	return m, nil
}

func (o *Output) topicFor() (string, error) {
	if o.static != "" {
		return o.static, nil
	}
	var err error
	o.buf, err = o.topic.render(o.buf[:0], &o.fields)
	if err != nil {
		return "", fmt.Errorf("topic %s: %w", o.topic.src, err)
	}
	t, ok := o.topics[string(o.buf)]
	if !ok {
		t.name = string(o.buf)
		if err := checkTopicName(t.name); err != nil {
			t.err = fmt.Errorf("topic %s: %w", o.topic.src, err)
		}
		if len(o.topics) >= maxCachedTopics {
			clear(o.topics)
		}
		o.topics[t.name] = t
	}
	return t.name, t.err
}

// messageSize is kafka-go's own measure of a message (Message.totalSize,
// unexported): the writer refuses a whole WriteMessages call when one
// message is over BatchBytes, so the output must find such an event first.
func messageSize(m *kafka.Message) int {
	n := 4 + 1 + 1 + 4 + len(m.Key) + 4 + len(m.Value) + 8
	n += varIntLen(len(m.Headers))
	for _, h := range m.Headers {
		n += varIntLen(len(h.Key)) + len(h.Key) + varIntLen(len(h.Value)) + len(h.Value)
	}
	return n
}

// varIntLen is the length of a zig-zag varint, as kafka-go counts it.
func varIntLen(i int) int {
	u := uint64((int64(i) << 1) ^ (int64(i) >> 63))
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// outcome gathers what happened to each event of a batch.
type outcome struct {
	n         int
	retry     []int
	permanent map[int]error
	retries   int
	reasons   map[string]*reason // distinct error text -> how many events
}

type reason struct {
	err error
	n   int
}

func newOutcome(n int) *outcome {
	return &outcome{n: n, reasons: make(map[string]*reason)}
}

func (r *outcome) set(i int, c class, err error) {
	if c == classPermanent {
		if r.permanent == nil {
			r.permanent = make(map[int]error)
		}
		r.permanent[i] = err
	} else {
		r.retry = append(r.retry, i)
		r.retries++
	}
	if x := r.reasons[err.Error()]; x != nil {
		x.n++
	} else {
		r.reasons[err.Error()] = &reason{err: err, n: 1}
	}
}

// result is nil when every event was acknowledged, a plain error when every
// event is to be retried, else a BatchError naming each failed event.
func (r *outcome) result() error {
	if len(r.retry) == 0 && len(r.permanent) == 0 {
		return nil
	}
	sort.Ints(r.retry)
	summary := r.summary()
	if len(r.retry) == r.n {
		return summary
	}
	return &outputs.BatchError{Retry: r.retry, Permanent: r.permanent, Err: summary}
}

// summary names the distinct errors, most frequent first, for the log. It
// wraps the most frequent one, for errors.Is and errors.As.
func (r *outcome) summary() error {
	rs := make([]*reason, 0, len(r.reasons))
	for _, x := range r.reasons {
		rs = append(rs, x)
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].n != rs[j].n {
			return rs[i].n > rs[j].n
		}
		return rs[i].err.Error() < rs[j].err.Error()
	})
	const shown = 3
	var b strings.Builder
	fmt.Fprintf(&b, "kafka: %d of %d events not delivered", len(r.retry)+len(r.permanent), r.n)
	for i, x := range rs {
		if i == shown {
			fmt.Fprintf(&b, "; and %d other errors", len(rs)-shown)
			break
		}
		fmt.Fprintf(&b, "; %d× %s", x.n, x.err)
	}
	return &summaryError{msg: b.String(), err: rs[0].err}
}

type summaryError struct {
	msg string
	err error
}

func (e *summaryError) Error() string { return e.msg }
func (e *summaryError) Unwrap() error { return e.err }

var (
	_ outputs.Output  = (*Output)(nil)
	_ outputs.Checker = (*Output)(nil)
)
