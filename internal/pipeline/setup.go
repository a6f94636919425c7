package pipeline

import (
	"fmt"

	"github.com/auditfwd/auditfwd/internal/config"
)

// SetupError: an output's target cannot be opened at start (a path the
// service user cannot create, say). It is the configuration's to fix, so
// the command exits as for a bad configuration (2), which the shipped
// systemd unit does not restart in a loop.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// outputPath is the key path of the output named name, e.g. outputs[2].
func outputPath(cfg *config.Config, name string) string {
	for i, oc := range cfg.Outputs {
		if oc.Name == name {
			return fmt.Sprintf("outputs[%d]", i)
		}
	}
	return "outputs"
}
