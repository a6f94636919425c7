package kafka

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// bloated is an event whose document is about size bytes.
func bloated(t testing.TB, source string, size int) event.Event {
	t.Helper()
	e := makeEvents(t, 1, source, 99)[0]
	doc := string(e.Doc)
	pad := `"message":"` + strings.Repeat("x", size) + `",`
	e.Doc = []byte(strings.Replace(doc, `"message":`, pad+`"message0":`, 1))
	return e
}

// An event over max_message_bytes is refused for good at its index; the
// others are delivered.
func TestOversizeEventIsPermanent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.SeedTopics(3, "sized"))
	cfg := testConfig(c, "sized")
	cfg.MaxMessageBytes = 8192
	o := mustNew(t, cfg)

	batch := makeEvents(t, 40, "tenant-a", 40)
	big := bloated(t, "tenant-a", 9000)
	const at = 17
	batch = append(batch[:at], append([]event.Event{big}, batch[at:]...)...)

	err := o.Write(context.Background(), batch)
	var be *outputs.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a BatchError", err)
	}
	if len(be.Retry) != 0 || len(be.Permanent) != 1 || be.Permanent[at] == nil {
		t.Fatalf("retry %v, permanent %v; want only %d permanent", be.Retry, be.Permanent, at)
	}
	if !strings.Contains(be.Permanent[at].Error(), "over max_message_bytes 8192") {
		t.Errorf("reason: %v", be.Permanent[at])
	}
	msgs := consumePartitions(t, c.ListenAddrs(), "sized", nil, len(batch)-1, 30*time.Second)
	n := byHash(msgs)
	for i, e := range batch {
		want := 1
		if i == at {
			want = 0
		}
		if n[e.HashHex()] != want {
			t.Errorf("event %d read %d times, want %d", i, n[e.HashHex()], want)
		}
	}
}

// The broker's own limit (message.max.bytes) below the output's: the broker
// refuses whole produce requests; the output sends their events one by one,
// delivers those that fit and refuses only the event that does not.
func TestBrokerMessageLimitSplits(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.SeedTopics(1, "small"), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "6000"}))
	o := mustNew(t, testConfig(c, "small"))

	batch := makeEvents(t, 30, "tenant-a", 41)
	big := bloated(t, "tenant-a", 7000)
	batch = append(batch, big)

	err := o.Write(context.Background(), batch)
	var be *outputs.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a BatchError", err)
	}
	last := len(batch) - 1
	if len(be.Retry) != 0 || len(be.Permanent) != 1 || be.Permanent[last] == nil {
		t.Fatalf("retry %v, permanent %v; want only %d permanent", be.Retry, be.Permanent, last)
	}
	if !errors.Is(be.Permanent[last], kafka.MessageSizeTooLarge) {
		t.Errorf("reason: %v", be.Permanent[last])
	}
	msgs := consumePartitions(t, c.ListenAddrs(), "small", nil, last, 30*time.Second)
	if n := byHash(msgs); len(msgs) != last || n[big.HashHex()] != 0 {
		t.Errorf("read %d messages (want %d), big one %d times", len(msgs), last, n[big.HashHex()])
	}
}

// Per-partition broker errors are read per message: a retriable one
// (NOT_LEADER) asks to retry exactly that partition's events, a permanent
// one (INVALID_RECORD) refuses exactly that partition's events, the rest is
// delivered; the retry then delivers, and nothing is written twice.
func TestPartitionErrorsPerMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const topic = "partial"
	c := newCluster(t, kfake.SeedTopics(3, topic))
	o := mustNew(t, testConfig(c, topic))
	batch := makeEvents(t, 300, "tenant-a", 42)

	retryFault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{0}, Err: kerr.NotLeaderForPartition, Count: -1})
	permFault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.InvalidRecord, Count: -1})
	err := o.Write(context.Background(), batch)
	retryFault.Remove()
	permFault.Remove()
	var be *outputs.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a BatchError", err)
	}
	if len(be.Retry) == 0 || len(be.Permanent) == 0 || len(be.Retry)+len(be.Permanent) >= len(batch) {
		t.Fatalf("retry %d, permanent %d of %d", len(be.Retry), len(be.Permanent), len(batch))
	}
	for i, perr := range be.Permanent {
		if !errors.Is(perr, kafka.InvalidRecord) {
			t.Fatalf("event %d refused with %v", i, perr)
		}
	}
	var again []event.Event
	for _, i := range be.Retry {
		again = append(again, batch[i])
	}
	if err := o.Write(context.Background(), again); err != nil {
		t.Fatalf("retry: %v", err)
	}

	msgs := consumePartitions(t, c.ListenAddrs(), topic, nil, len(batch)-len(be.Permanent), 30*time.Second)
	partOf := map[string]int{}
	for _, m := range msgs {
		if _, dup := partOf[m.key]; dup {
			t.Errorf("event %s written twice", m.key)
		}
		partOf[m.key] = m.partition
	}
	for i, e := range batch {
		p, ok := partOf[e.HashHex()]
		_, refused := be.Permanent[i]
		switch {
		case refused && ok:
			t.Errorf("refused event %d was written (partition %d)", i, p)
		case !refused && !ok:
			t.Errorf("event %d was not written", i)
		}
	}
	for _, i := range be.Retry {
		if p := partOf[batch[i].HashHex()]; p != 0 {
			t.Errorf("retried event %d is on partition %d, the fault was on 0", i, p)
		}
	}
	for _, m := range msgs {
		if m.partition == 1 {
			t.Errorf("partition 1 holds %s although every produce to it failed", m.key)
		}
	}
}

// The whole cluster goes away: Write fails within its timeout with an error
// the pipeline retries (never nil, never permanent). Once the cluster is
// back (same ports, same data), the retry delivers.
func TestClusterDownAndBack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const topic = "outage"
	ports := freePorts(t, 3)
	dir := t.TempDir()
	c1, err := kfake.NewCluster(kfake.Ports(ports...), kfake.DataDir(dir), kfake.SeedTopics(4, topic))
	if err != nil {
		t.Fatal(err)
	}
	brokers := c1.ListenAddrs()
	cfg := Config{Brokers: brokers, Topic: topic, Timeout: 2 * time.Second}
	o := mustNew(t, cfg)

	before := makeEvents(t, 200, "tenant-a", 50)
	during := makeEvents(t, 200, "tenant-a", 51)
	if refused, _ := deliver(t, o, before, 20*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	c1.Close()

	for attempt := 0; attempt < 3; attempt++ { // with the old connection, then fresh ones
		start := time.Now()
		err := o.Write(context.Background(), during)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("attempt %d: Write with the cluster down returned nil", attempt)
		}
		if outputs.IsPermanent(err) {
			t.Fatalf("attempt %d: Write with the cluster down is permanent: %v", attempt, err)
		}
		var be *outputs.BatchError
		if errors.As(err, &be) && (len(be.Permanent) > 0 || len(be.Retry) != len(during)) {
			t.Fatalf("attempt %d: %d retried, %d refused; want all retried", attempt, len(be.Retry), len(be.Permanent))
		}
		if took > 3*cfg.Timeout+30*time.Second {
			t.Errorf("attempt %d: Write took %s with a %s timeout", attempt, took, cfg.Timeout)
		}
		t.Logf("attempt %d (%s): %v", attempt, took.Round(time.Millisecond), err)
	}
	if err := o.Check(context.Background()); err == nil {
		t.Error("Check with the cluster down returned nil")
	}

	c2, err := kfake.NewCluster(kfake.Ports(ports...), kfake.DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if refused, _ := deliver(t, o, during, 30*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	msgs := consumePartitions(t, brokers, topic, nil, len(before)+len(during), 30*time.Second)
	n := byHash(msgs)
	for _, e := range append(append([]event.Event{}, before...), during...) {
		if n[e.HashHex()] != 1 {
			t.Errorf("event %s read %d times, want once", e.HashHex(), n[e.HashHex()])
		}
	}
}

// killableListener lets a test stop a broker the hard way: its listener and
// every connection it accepted are closed at once, as when the process dies.
type killableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *killableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *killableListener) kill() {
	l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

type listeners struct {
	mu     sync.Mutex
	byPort map[int]*killableListener
}

func (ls *listeners) listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	kl := &killableListener{Listener: ln}
	ls.mu.Lock()
	ls.byPort[ln.Addr().(*net.TCPAddr).Port] = kl
	ls.mu.Unlock()
	return kl, nil
}

func (ls *listeners) kill(port int) {
	ls.mu.Lock()
	kl := ls.byPort[port]
	ls.mu.Unlock()
	kl.kill()
}

// One broker dies in the middle of a run and comes back later. Writes keep
// returning within their timeout, the failed items are retried the way the
// pipeline retries them, and every event arrives.
func TestBrokerDiesMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const topic = "flaky"
	ls := &listeners{byPort: map[int]*killableListener{}}
	c := newCluster(t, kfake.ListenFn(ls.listen), kfake.SeedTopics(6, topic))
	brokers := c.ListenAddrs()
	victimPort, _ := strconv.Atoi(brokers[1][strings.LastIndexByte(brokers[1], ':')+1:])
	cfg := Config{Brokers: brokers, Topic: topic, Timeout: 2 * time.Second}
	o := mustNew(t, cfg)

	var all []event.Event
	var failures []error
	for b := 0; b < 30; b++ {
		switch b {
		case 8:
			ls.kill(victimPort)
			if err := c.RemoveNode(1); err != nil {
				t.Fatal(err)
			}
			for p := int32(0); p < 6; p++ {
				if c.LeaderFor(topic, p) == 1 {
					t.Fatalf("partition %d still led by the dead broker", p)
				}
			}
		case 20:
			if _, _, err := c.AddNode(1, victimPort); err != nil {
				t.Fatal(err)
			}
		}
		batch := makeEvents(t, 100, "tenant-a", 1000+b)
		all = append(all, batch...)
		refused, seen := deliver(t, o, batch, 30*time.Second)
		if len(refused) > 0 {
			t.Fatalf("batch %d: refused %v", b, refused)
		}
		failures = append(failures, seen...)
	}
	t.Logf("%d failed writes were retried; first: %v", len(failures), first(failures))
	if len(failures) == 0 {
		t.Error("no Write failed although a broker died: the test did not test anything")
	}

	msgs := consumePartitions(t, c.ListenAddrs(), topic, nil, len(all), 60*time.Second)
	n := byHash(msgs)
	dups := 0
	for _, e := range all {
		switch k := n[e.HashHex()]; {
		case k == 0:
			t.Errorf("event %s lost", e.HashHex())
		case k > 1:
			dups += k - 1
		}
	}
	t.Logf("%d events, %d messages read, %d duplicates (at-least-once)", len(all), len(msgs), dups)
}

func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// A broker that accepts produce requests and never answers: Write gives
// up at its timeout with a retryable error that says so, and once the
// broker answers again the retry delivers.
func TestUnansweredProduceTimesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const topic = "silent"
	c := newCluster(t, kfake.SeedTopics(2, topic))
	var silent atomic.Bool
	silent.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if silent.Load() {
			return nil, nil, true // swallow the request: no answer ever
		}
		return nil, nil, false
	})
	cfg := Config{Brokers: c.ListenAddrs(), Topic: topic, Timeout: time.Second}
	o := mustNew(t, cfg)
	batch := makeEvents(t, 50, "tenant-a", 60)

	start := time.Now()
	err := o.Write(context.Background(), batch)
	took := time.Since(start)
	if err == nil || outputs.IsPermanent(err) {
		t.Fatalf("Write to a silent broker: %v, want a retryable error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no acknowledgement within timeout 1s") {
		t.Errorf("error does not name the timeout: %v", err)
	}
	if took < cfg.Timeout || took > 3*cfg.Timeout+30*time.Second {
		t.Errorf("Write took %s with a %s timeout", took, cfg.Timeout)
	}

	silent.Store(false)
	if refused, _ := deliver(t, o, batch, 20*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	msgs := consumePartitions(t, c.ListenAddrs(), topic, nil, len(batch), 30*time.Second)
	n := byHash(msgs)
	for _, e := range batch {
		if n[e.HashHex()] < 1 {
			t.Errorf("event %s lost", e.HashHex())
		}
	}
}

// SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 against a cluster that
// requires them; a wrong password is a clear, retryable error within the
// timeout, not a hang and not a dead letter.
func TestSASL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for i, mech := range saslMechanism {
		t.Run(mech, func(t *testing.T) {
			const topic = "secured"
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "auditfwd", "s3cret=,pass"), kfake.SeedTopics(2, topic))
			pwFile := filepath.Join(t.TempDir(), "password")
			if err := os.WriteFile(pwFile, []byte("s3cret=,pass\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(c, topic)
			cfg.SASL = SASL{Mechanism: mech, Username: "auditfwd", PasswordFile: pwFile}
			o := mustNew(t, cfg)
			if err := o.Check(context.Background()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			batch := makeEvents(t, 100, "tenant-a", 70+i)
			if refused, _ := deliver(t, o, batch, 20*time.Second); len(refused) > 0 {
				t.Fatalf("refused: %v", refused)
			}
			mechanism, err := cfg.SASL.mechanism()
			if err != nil {
				t.Fatal(err)
			}
			msgs := consumePartitions(t, c.ListenAddrs(), topic, mechanism, len(batch), 30*time.Second)
			if len(msgs) != len(batch) {
				t.Errorf("read %d, want %d", len(msgs), len(batch))
			}

			bad := testConfig(c, topic)
			bad.Timeout = 2 * time.Second
			bad.SASL = SASL{Mechanism: mech, Username: "auditfwd", Password: "wrong"}
			ob := mustNew(t, bad)
			start := time.Now()
			err = ob.Write(context.Background(), batch[:10])
			if err == nil || outputs.IsPermanent(err) {
				t.Fatalf("Write with a wrong password: %v", err)
			}
			t.Logf("wrong password: %v", err)
			if !strings.Contains(err.Error(), "authentication as \"auditfwd\" failed") {
				t.Errorf("unclear error for a wrong password: %v", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("the error shows the password: %v", err)
			}
			if took := time.Since(start); took > 3*bad.Timeout+30*time.Second {
				t.Errorf("Write with a wrong password took %s", took)
			}
			if err := ob.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "authentication") {
				t.Errorf("Check with a wrong password: %v", err)
			}

			// No SASL at all against a cluster that requires it.
			none := mustNew(t, testConfig(c, topic))
			none.cfg.Timeout = 2 * time.Second
			if err := none.Check(context.Background()); err == nil {
				t.Error("Check without SASL against a SASL cluster returned nil")
			}
		})
	}
}

// What goes on the wire: each codec's attribute bits in the record
// batches, and the acks the produce requests ask for (-1 = all unless
// required_acks says otherwise).
func TestProduceRequestsOnTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := newCluster(t, kfake.SeedTopics(1, "wire"))
	var mu sync.Mutex
	codecs := map[int]int{}
	acks := map[int16]int{}
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.ProduceRequest)
		mu.Lock()
		defer mu.Unlock()
		acks[req.Acks]++
		for _, tp := range req.Topics {
			for _, p := range tp.Partitions {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(p.Records); err == nil {
					codecs[int(b.Attributes&0x07)]++
				}
			}
		}
		return nil, nil, false
	})
	observed := func() ([]int, []int16) {
		mu.Lock()
		defer mu.Unlock()
		var cs []int
		for k := range codecs {
			cs = append(cs, k)
		}
		var as []int16
		for k := range acks {
			as = append(as, k)
		}
		clear(codecs)
		clear(acks)
		sort.Ints(cs)
		return cs, as
	}
	for id, codec := range compressions {
		cfg := testConfig(c, "wire")
		cfg.Compression = codec
		observed()
		if err := mustNew(t, cfg).Write(context.Background(), makeEvents(t, 20, "tenant-a", 80+id)); err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		cs, as := observed()
		if len(cs) != 1 || cs[0] != id {
			t.Errorf("%s: record batches used codec ids %v, want [%d]", codec, cs, id)
		}
		if len(as) != 1 || as[0] != -1 {
			t.Errorf("%s: produce requests with acks %v, want [-1] (all)", codec, as)
		}
	}
	cfg := testConfig(c, "wire")
	cfg.RequiredAcks = "one"
	observed()
	if err := mustNew(t, cfg).Write(context.Background(), makeEvents(t, 5, "tenant-a", 90)); err != nil {
		t.Fatal(err)
	}
	if _, as := observed(); len(as) != 1 || as[0] != 1 {
		t.Errorf("required_acks: one: produce requests with acks %v, want [1]", as)
	}
}

// A principal without WRITE on the topic: retried (an operator grants the
// ACL; nothing is dead-lettered meanwhile), with an error that says what to
// grant; once granted, delivered.
func TestNotAuthorizedIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const topic = "guarded"
	describe := kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: topic, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationDescribe, Allow: true}
	c := newCluster(t, kfake.EnableSASL(), kfake.EnableACLs(), kfake.SeedTopics(2, topic),
		kfake.Superuser("PLAIN", "admin", "admin"), kfake.User("PLAIN", "writer", "pw", describe))
	cfg := testConfig(c, topic)
	cfg.SASL = SASL{Mechanism: "PLAIN", Username: "writer", Password: "pw"}
	o := mustNew(t, cfg)
	batch := makeEvents(t, 30, "tenant-a", 110)
	err := o.Write(context.Background(), batch)
	var be *outputs.BatchError
	if err == nil || outputs.IsPermanent(err) || errors.As(err, &be) {
		t.Fatalf("Write without WRITE permission: %v, want the whole batch retried", err)
	}
	if !errors.Is(err, kafka.TopicAuthorizationFailed) || !strings.Contains(err.Error(), "grant WRITE") {
		t.Errorf("error does not say what to grant: %v", err)
	}

	admin := &kafka.Client{Addr: kafka.TCP(c.ListenAddrs()...), Timeout: 5 * time.Second,
		Transport: &kafka.Transport{SASL: plainMech("admin", "admin")}}
	res, err := admin.CreateACLs(context.Background(), &kafka.CreateACLsRequest{ACLs: []kafka.ACLEntry{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ResourcePatternType: kafka.PatternTypeLiteral,
		Principal: "User:writer", Host: "*", Operation: kafka.ACLOperationTypeWrite, PermissionType: kafka.ACLPermissionTypeAllow,
	}}})
	if err != nil || len(res.Errors) != 1 || res.Errors[0] != nil {
		t.Fatalf("grant WRITE: %v %v", err, res)
	}
	if refused, _ := deliver(t, o, batch, 20*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
}
