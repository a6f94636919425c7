package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// 5,000 events through the real output into a 3-broker cluster, read back
// by a consumer group: every event exactly once, keyed by its hash, with
// its headers and time, and one key always on one partition.
func TestRoundTrip5000(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const topic = "wss-audit"
	c := newCluster(t, kfake.SeedTopics(6, topic))
	o := mustNew(t, testConfig(c, topic))

	evs := makeEvents(t, 5000, "tenant-a", 1)
	// Every 10th event goes twice (a redelivery after a crash between the
	// write and the delivery mark): its copies must share a partition.
	var resent []event.Event
	for i := 0; i < len(evs); i += 10 {
		resent = append(resent, evs[i])
	}
	for i := 0; i < len(evs); i += 500 {
		if refused, _ := deliver(t, o, evs[i:i+500], 30*time.Second); len(refused) > 0 {
			t.Fatalf("refused: %v", refused)
		}
	}
	if refused, _ := deliver(t, o, resent, 30*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}

	msgs := consumeGroup(t, c.ListenAddrs(), topic, "round-trip", nil, len(evs)+len(resent), 60*time.Second)

	want := make(map[string]event.Event, len(evs))
	for _, e := range evs {
		want[e.HashHex()] = e
	}
	twice := make(map[string]bool, len(resent))
	for _, e := range resent {
		twice[e.HashHex()] = true
	}
	seen := map[string]int{}
	partitionOf := map[string]int{}
	partitions := map[int]int{}
	for _, m := range msgs {
		e, ok := want[m.key]
		if !ok {
			t.Fatalf("message with unknown key %q", m.key)
		}
		seen[m.key]++
		partitions[m.partition]++
		if p, ok := partitionOf[m.key]; ok && p != m.partition {
			t.Errorf("key %s on partitions %d and %d", m.key, p, m.partition)
		}
		partitionOf[m.key] = m.partition
		if m.value != string(e.Doc) {
			t.Fatalf("value of %s differs from the event's document", m.key)
		}
		if m.headers[HeaderHash] != m.key || m.headers[HeaderSource] != "tenant-a" || m.headers[HeaderDataset] != "wss.audit" {
			t.Fatalf("headers of %s: %v", m.key, m.headers)
		}
		if !m.time.Equal(e.Time.Truncate(time.Millisecond)) {
			t.Fatalf("time of %s: %s, want %s", m.key, m.time, e.Time)
		}
	}
	for h := range want {
		n := 1
		if twice[h] {
			n = 2
		}
		if seen[h] != n {
			t.Errorf("event %s read %d times, want %d", h, seen[h], n)
		}
	}
	if len(partitions) < 6 {
		t.Errorf("events used %d of 6 partitions: %v", len(partitions), partitions)
	}
}

// Every codec round-trips: what is read back is what was sent.
func TestCompressionCodecs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.SeedTopics(3, "codec-none", "codec-gzip", "codec-snappy", "codec-lz4", "codec-zstd"))
	for i, codec := range compressions {
		t.Run(codec, func(t *testing.T) {
			topic := "codec-" + codec
			cfg := testConfig(c, topic)
			cfg.Compression = codec
			o := mustNew(t, cfg)
			evs := makeEvents(t, 300, "tenant-"+codec, 10+i)
			if refused, _ := deliver(t, o, evs, 20*time.Second); len(refused) > 0 {
				t.Fatalf("refused: %v", refused)
			}
			msgs := consumePartitions(t, c.ListenAddrs(), topic, nil, len(evs), 30*time.Second)
			got := map[string]string{}
			for _, m := range msgs {
				got[m.key] = m.value
			}
			for _, e := range evs {
				if got[e.HashHex()] != string(e.Doc) {
					t.Fatalf("event %s did not round-trip", e.HashHex())
				}
			}
			if len(msgs) != len(evs) {
				t.Errorf("read %d messages, want %d", len(msgs), len(evs))
			}
		})
	}
}

// Topic by field: each event lands in its tenant's topic; an event without
// the field is refused for good at its index, the others are delivered.
func TestTopicTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.SeedTopics(2, "audit-wss.audit-north", "audit-wss.audit-south"))
	o := mustNew(t, testConfig(c, "audit-%{event.dataset}-%{labels.source}"))

	north := makeEvents(t, 50, "north", 20)
	south := makeEvents(t, 70, "south", 21)
	var batch []event.Event
	for i := 0; i < 70; i++ {
		if i < 50 {
			batch = append(batch, north[i])
		}
		batch = append(batch, south[i])
	}
	// An event without labels.source, and one whose source makes an
	// illegal topic name.
	noSource := withoutField(t, makeEvents(t, 1, "x", 22)[0], "labels")
	badName := makeEvents(t, 1, "tenant with spaces", 23)[0]
	batch = append(batch[:10], append([]event.Event{noSource}, batch[10:]...)...)
	batch = append(batch, badName)

	err := o.Write(context.Background(), batch)
	var be *outputs.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a BatchError", err)
	}
	if len(be.Retry) != 0 || len(be.Permanent) != 2 {
		t.Fatalf("retry %v, permanent %v", be.Retry, be.Permanent)
	}
	if e := be.Permanent[10]; e == nil || !strings.Contains(e.Error(), "labels.source is missing") {
		t.Errorf("event without labels.source: %v", e)
	}
	if e := be.Permanent[len(batch)-1]; e == nil || !strings.Contains(e.Error(), "not allowed") && !strings.Contains(e.Error(), "only letters") {
		t.Errorf("event with an illegal topic name: %v", e)
	}

	for topic, evs := range map[string][]event.Event{"audit-wss.audit-north": north, "audit-wss.audit-south": south} {
		msgs := consumePartitions(t, c.ListenAddrs(), topic, nil, len(evs), 30*time.Second)
		n := byHash(msgs)
		for _, e := range evs {
			if n[e.HashHex()] != 1 {
				t.Errorf("%s: event %s read %d times", topic, e.HashHex(), n[e.HashHex()])
			}
		}
		if len(msgs) != len(evs) {
			t.Errorf("%s: %d messages, want %d", topic, len(msgs), len(evs))
		}
	}
}

// withoutField removes a top-level member from the event's document.
func withoutField(t testing.TB, e event.Event, field string) event.Event {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(e.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, field)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.Doc = b
	return e
}

// A static topic that does not exist, with auto-creation off: retried with
// an error that says so, never dead-lettered; once created, delivered.
func TestMissingTopicIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t)
	o := mustNew(t, testConfig(c, "not-yet"))
	evs := makeEvents(t, 20, "tenant-a", 30)
	err := o.Write(context.Background(), evs)
	if err == nil || outputs.IsPermanent(err) {
		t.Fatalf("Write to a missing topic: %v, want a retryable error", err)
	}
	var be *outputs.BatchError
	if errors.As(err, &be) {
		t.Fatalf("Write to a missing topic: %v, want the whole batch retried", err)
	}
	if !strings.Contains(err.Error(), "not-yet does not exist") || !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Errorf("error does not say the topic is missing: %v", err)
	}
	if err := o.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check on a missing topic: %v", err)
	}

	admin := &kafka.Client{Addr: kafka.TCP(c.ListenAddrs()...), Timeout: 5 * time.Second}
	res, err := admin.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: "not-yet", NumPartitions: 3, ReplicationFactor: 1}},
	})
	if err != nil || res.Errors["not-yet"] != nil {
		t.Fatalf("create topic: %v %v", err, res.Errors)
	}
	if refused, _ := deliver(t, o, evs, 20*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	if err := o.Check(context.Background()); err != nil {
		t.Errorf("Check once the topic exists: %v", err)
	}
	msgs := consumePartitions(t, c.ListenAddrs(), "not-yet", nil, len(evs), 30*time.Second)
	if len(msgs) != len(evs) {
		t.Errorf("%d messages, want %d", len(msgs), len(evs))
	}
}

// auto_create_topics: the first write creates the topic, when the cluster
// allows it; Check reports it.
func TestAutoCreateTopics(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(4))
	cfg := testConfig(c, "auto-%{labels.source}")
	cfg.AutoCreateTopics = true
	o := mustNew(t, cfg)
	evs := makeEvents(t, 40, "made", 31)
	if refused, _ := deliver(t, o, evs, 20*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	msgs := consumePartitions(t, c.ListenAddrs(), "auto-made", nil, len(evs), 30*time.Second)
	if len(msgs) != len(evs) {
		t.Errorf("%d messages, want %d", len(msgs), len(evs))
	}

	cfg = testConfig(c, "auto-checked")
	cfg.AutoCreateTopics = true
	if err := mustNew(t, cfg).Check(context.Background()); err != nil {
		t.Errorf("Check with auto-creation allowed: %v", err)
	}
}

func TestCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.SeedTopics(1, "present"))
	if err := mustNew(t, testConfig(c, "present")).Check(context.Background()); err != nil {
		t.Errorf("Check, live cluster and topic: %v", err)
	}
	if err := mustNew(t, testConfig(c, "audit-%{labels.source}")).Check(context.Background()); err != nil {
		t.Errorf("Check, live cluster and a topic template: %v", err)
	}
	if err := mustNew(t, testConfig(c, "absent")).Check(context.Background()); err == nil || !strings.Contains(err.Error(), "absent does not exist") {
		t.Errorf("Check, missing topic: %v", err)
	}

	dead := freePorts(t, 1)[0]
	cfg := Config{Brokers: []string{"127.0.0.1:" + itoa(dead)}, Topic: "present", Timeout: 2 * time.Second}
	start := time.Now()
	err := mustNew(t, cfg).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Check, dead address: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Check on a dead address took %s", took)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
