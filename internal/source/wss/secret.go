package wss

import (
	"fmt"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret holds a credential. Every way of printing or encoding it yields
// "[REDACTED]", so a Config can be logged whole; Value is the only way out.
type Secret string

// Value returns the secret itself. Call it only where the secret is used.
func (s Secret) Value() string { return string(s) }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format covers the verbs that bypass String (%d, %x on a string type would
// otherwise print the underlying bytes).
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", redacted)
	default:
		_, _ = f.Write([]byte(redacted))
	}
}

func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue keeps the secret out of log/slog output too.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
