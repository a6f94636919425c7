package kafka

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	fsasl "github.com/twmb/franz-go/pkg/sasl"
	fscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// mechanism builds the SASL mechanism, nil when SASL is off.
//
// SCRAM comes from franz-go's sasl/scram behind a small adapter, not from
// kafka-go's sasl/scram: kafka-go's needs github.com/xdg-go/scram (and its
// stringprep and golang.org/x/text), a module this build does not carry,
// while franz-go's uses only the standard library and franz-go is already
// a dependency (its kfake is the tests' broker).
func (s *SASL) mechanism() (sasl.Mechanism, error) {
	if s.Mechanism == "" {
		return nil, nil
	}
	pass, err := s.password()
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		return plain.Mechanism{Username: s.Username, Password: pass}, nil
	case "SCRAM-SHA-256":
		return scramMechanism{fscram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism()}, nil
	case "SCRAM-SHA-512":
		return scramMechanism{fscram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism()}, nil
	}
	return nil, fmt.Errorf("sasl.mechanism: %q is not one of %s", s.Mechanism, strings.Join(saslMechanism, ", "))
}

// scramMechanism runs a franz-go SASL mechanism under kafka-go's interface.
type scramMechanism struct{ m fsasl.Mechanism }

func (s scramMechanism) Name() string { return s.m.Name() }

func (s scramMechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	host := ""
	if md := sasl.MetadataFromContext(ctx); md != nil {
		host = md.Host
	}
	sess, first, err := s.m.Authenticate(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	return scramSession{sess}, first, nil
}

type scramSession struct{ s fsasl.Session }

// Next: for SCRAM the server's last message completes the exchange, and
// franz-go then has nothing more to send, which is what kafka-go expects
// (it sends nothing after done).
func (s scramSession) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	return s.s.Challenge(challenge)
}

var _ sasl.Mechanism = scramMechanism{}

// authError makes an authentication failure say what to check. The
// password is never part of it.
func (s *SASL) authError(err error) error {
	return fmt.Errorf("SASL %s authentication as %q failed (check sasl.username and the password, and that the brokers accept this mechanism for the user): %w",
		strings.ToUpper(s.Mechanism), s.Username, err)
}

// authTracker remembers whether recent SASL exchanges completed. A broker
// refusing credentials may answer SASL_AUTHENTICATION_FAILED (Apache Kafka
// does, and kafka-go reports it), or just close the connection; in the
// second case kafka-go reports an EOF, and only the tracker can tell that
// the EOF ended an authentication rather than a request.
type authTracker struct {
	mu       sync.Mutex
	gen      uint64 // bumped at the start of every Write and Check
	sessions []*trackedSession
}

type trackedSession struct {
	gen  uint64
	done atomic.Bool
}

// maxTrackedSessions bounds the memory: a cluster has few brokers, and
// each connection authenticates once.
const maxTrackedSessions = 64

func (t *authTracker) begin() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	return t.gen
}

func (t *authTracker) start() *trackedSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &trackedSession{gen: t.gen}
	if len(t.sessions) == maxTrackedSessions {
		t.sessions = append(t.sessions[:0], t.sessions[1:]...)
	}
	t.sessions = append(t.sessions, s)
	return s
}

// failedSince reports whether an exchange begun since gen never completed.
func (t *authTracker) failedSince(gen uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.sessions {
		if s.gen >= gen && !s.done.Load() {
			return true
		}
	}
	return false
}

// tracked wraps a mechanism so that its exchanges are recorded in t.
type tracked struct {
	sasl.Mechanism
	t *authTracker
}

func (m tracked) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	sm, ir, err := m.Mechanism.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &trackedMachine{sm: sm, s: m.t.start()}, ir, nil
}

type trackedMachine struct {
	sm sasl.StateMachine
	s  *trackedSession
}

func (m *trackedMachine) Next(ctx context.Context, challenge []byte) (bool, []byte, error) {
	done, resp, err := m.sm.Next(ctx, challenge)
	if done && err == nil {
		m.s.done.Store(true)
	}
	return done, resp, err
}
