//go:build !linux

package queue

import (
	"errors"
	"os"
)

// punchHole is not available: delivered space is freed by whole segments.
func punchHole(f *os.File, off, n int64) error { return errors.ErrUnsupported }
