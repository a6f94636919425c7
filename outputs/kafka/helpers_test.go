package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// newCluster starts a 3-broker kfake cluster on 127.0.0.1 (random ports).
// kfake speaks Kafka's wire protocol in-process; it is a stand-in for
// Apache Kafka, not Kafka itself.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var (
	objectTypes = []string{"PolicyRule", "User", "Report", "Agent", "Tenant", "Location", "ApiKey"}
	operations  = []string{"Create", "Update", "Delete", "Login", "Logout", "Run", "Disable"}
	statuses    = []string{"Success", "Failure"}
)

// makeEvents maps n synthetic WSS audit records to ECS events, the way the
// pipeline does, for the given source (labels.source). seed varies them so
// that two calls give different hashes.
func makeEvents(t testing.TB, n int, source string, seed int) []event.Event {
	t.Helper()
	m := event.NewMapper(event.Fields{}, source)
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	ingested := base.Add(30 * 24 * time.Hour)
	evs := make([]event.Event, 0, n)
	for i := 0; i < n; i++ {
		k := seed*1_000_003 + i
		rec := fmt.Sprintf(`{"id":"%s-%08d","timestamp":"%s","userName":"admin%d@example.com",`+
			`"sourceIp":"203.0.113.%d","objectType":"%s","objectName":"object %d","operationType":"%s",`+
			`"status":"%s","description":"%s of %s 'object %d' by admin%d","tenantId":"t-%d",`+
			`"details":{"policy":"Default Web Policy","position":%d}}`,
			source, k, base.Add(time.Duration(k%2_000_000)*time.Second).Format(time.RFC3339Nano), k%17,
			k%250+1, objectTypes[k%len(objectTypes)], k, operations[k%len(operations)],
			statuses[k%len(statuses)], operations[k%len(operations)], objectTypes[k%len(objectTypes)], k, k%17,
			k%3, k%40)
		p, err := event.Parse([]byte(rec))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		ev, err := m.Map(&p, ingested)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// testConfig is a Config for the cluster c.
func testConfig(c *kfake.Cluster, topic string) Config {
	return Config{Brokers: c.ListenAddrs(), Topic: topic, Timeout: 5 * time.Second}
}

func mustNew(t testing.TB, cfg Config) *Output {
	t.Helper()
	o, err := New("kafka-test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// deliver writes batch the way the pipeline does: items to retry are
// retried after a pause until every item is delivered or refused for good,
// or patience runs out. It returns the refused items and every error seen.
func deliver(t testing.TB, o *Output, batch []event.Event, patience time.Duration) (map[int]error, []error) {
	t.Helper()
	deadline := time.Now().Add(patience)
	pending := make([]int, len(batch))
	for i := range pending {
		pending[i] = i
	}
	refused := map[int]error{}
	var seen []error
	for len(pending) > 0 {
		evs := make([]event.Event, len(pending))
		for j, i := range pending {
			evs[j] = batch[i]
		}
		start := time.Now()
		err := o.Write(context.Background(), evs)
		// Generous: this checks that a Write cannot hang past its timeout,
		// not how fast a loaded machine runs it.
		if took := time.Since(start); took > 3*o.cfg.timeout()+30*time.Second {
			t.Errorf("Write took %s, over its timeout %s", took, o.cfg.timeout())
		}
		if err == nil {
			return refused, seen
		}
		seen = append(seen, err)
		var be *outputs.BatchError
		switch {
		case errors.As(err, &be):
			for j, perr := range be.Permanent {
				refused[pending[j]] = perr
			}
			next := make([]int, 0, len(be.Retry))
			for _, j := range be.Retry {
				next = append(next, pending[j])
			}
			pending = next
		case outputs.IsPermanent(err):
			t.Fatalf("whole batch refused for good: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still undelivered after %s; last error: %v", len(pending), patience, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return refused, seen
}

// consumed is one message as read back.
type consumed struct {
	partition int
	offset    int64
	key       string
	value     string
	headers   map[string]string
	time      time.Time
}

// consumeGroup reads topic in a consumer group until it has want messages
// and then a quiet second more (to catch duplicates), or fails after wait.
func consumeGroup(t testing.TB, brokers []string, topic, group string, mech sasl.Mechanism, want int, wait time.Duration) []consumed {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        brokers,
		GroupID:        group,
		Topic:          topic,
		StartOffset:    kafka.FirstOffset,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		MaxWait:        100 * time.Millisecond,
		CommitInterval: 0,
		Dialer:         &kafka.Dialer{Timeout: 5 * time.Second, SASLMechanism: mech, ClientID: "auditfwd-test-reader"},
	})
	defer r.Close()
	return readAll(t, r, want, wait)
}

func readAll(t testing.TB, r *kafka.Reader, want int, wait time.Duration) []consumed {
	t.Helper()
	var out []consumed
	deadline := time.Now().Add(wait)
	for {
		limit := deadline
		if len(out) >= want {
			limit = time.Now().Add(time.Second)
		}
		ctx, cancel := context.WithDeadline(context.Background(), limit)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			if len(out) >= want && errors.Is(err, context.DeadlineExceeded) {
				return out
			}
			t.Fatalf("read %d of %d messages: %v", len(out), want, err)
		}
		h := make(map[string]string, len(m.Headers))
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		out = append(out, consumed{partition: m.Partition, offset: m.Offset, key: string(m.Key), value: string(m.Value), headers: h, time: m.Time})
		// wait bounds a silence, not the whole read: a busy machine may
		// take long over thousands of messages, a dead one stops sending.
		deadline = time.Now().Add(wait)
	}
}

// consumePartitions reads every partition of topic from the start without
// a group, until want messages and a quiet second, or fails after wait.
func consumePartitions(t testing.TB, brokers []string, topic string, mech sasl.Mechanism, want int, wait time.Duration) []consumed {
	t.Helper()
	dialer := &kafka.Dialer{Timeout: 5 * time.Second, SASLMechanism: mech}
	var parts []kafka.Partition
	for start := time.Now(); ; {
		conn, err := dialer.Dial("tcp", brokers[0])
		if err == nil {
			parts, err = conn.ReadPartitions(topic)
			conn.Close()
		}
		if err == nil && len(parts) > 0 {
			break
		}
		if time.Since(start) > wait {
			t.Fatalf("partitions of %s: %v", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var (
		mu  sync.Mutex
		out []consumed
		wg  sync.WaitGroup
	)
	total := func() int { mu.Lock(); defer mu.Unlock(); return len(out) }
	// wait bounds a silence of every partition, not the whole read.
	deadline := time.Now().Add(wait)
	expired := func() bool { mu.Lock(); defer mu.Unlock(); return time.Now().After(deadline) }
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: brokers, Topic: topic, Partition: p.ID, Dialer: dialer,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
			})
			defer r.Close()
			quietSince := time.Time{}
			for {
				if total() >= want {
					if quietSince.IsZero() {
						quietSince = time.Now()
					} else if time.Since(quietSince) > time.Second {
						return
					}
				}
				if expired() {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				m, err := r.ReadMessage(ctx)
				cancel()
				if err != nil {
					continue
				}
				quietSince = time.Time{}
				h := make(map[string]string, len(m.Headers))
				for _, x := range m.Headers {
					h[x.Key] = string(x.Value)
				}
				mu.Lock()
				out = append(out, consumed{partition: m.Partition, offset: m.Offset, key: string(m.Key), value: string(m.Value), headers: h, time: m.Time})
				deadline = time.Now().Add(wait)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(out) < want {
		t.Fatalf("read %d of %d messages from %s", len(out), want, topic)
	}
	return out
}

// byHash counts the messages read per auditfwd-hash header.
func byHash(msgs []consumed) map[string]int {
	n := make(map[string]int, len(msgs))
	for _, m := range msgs {
		n[m.headers[HeaderHash]]++
	}
	return n
}

// freePorts reserves n ports on 127.0.0.1 and frees them for the caller.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func plainMech(user, pass string) sasl.Mechanism {
	return plain.Mechanism{Username: user, Password: pass}
}
