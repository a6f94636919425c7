//go:build !unix

package bench

import (
	"os"
	"time"
)

// Without rusage the peaks are not measured; CPU comes from os.ProcessState.
func childMaxRSS(*os.ProcessState) int64 { return 0 }

func selfUsage() (int64, time.Duration) { return 0, 0 }

func allocated(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}
