//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// childMaxRSS is a finished child's peak resident set, in bytes.
func childMaxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return maxRSSBytes(ru.Maxrss)
	}
	return 0
}

// selfUsage is this process's peak RSS and CPU (user+sys) so far.
func selfUsage() (int64, time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return maxRSSBytes(ru.Maxrss), time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ru_maxrss is in bytes on macOS, in KiB elsewhere.
func maxRSSBytes(v int64) int64 {
	if runtime.GOOS == "darwin" {
		return v
	}
	return v * 1024
}

// allocated is the space a file takes on disk, as du counts it: a sparse
// bbolt file counts what it really uses.
func allocated(path string) int64 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return int64(st.Blocks) * 512
}
