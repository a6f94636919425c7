package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles honours AUDITFWD_CPUPROFILE and AUDITFWD_MEMPROFILE (file
// paths) for any command; `auditfwd bench --profile DIR` sets them for its
// run children. The returned stop writes the heap profile and ends the CPU
// one; main calls it before os.Exit, which skips deferred calls.
func startProfiles(stderr io.Writer) (stop func()) {
	cpuPath, memPath := os.Getenv("AUDITFWD_CPUPROFILE"), os.Getenv("AUDITFWD_MEMPROFILE")
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "auditfwd: AUDITFWD_CPUPROFILE: %v\n", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if memPath == "" {
			return
		}
		f, err := os.Create(memPath)
		if err == nil {
			runtime.GC() // the heap profile shows live data as of the last GC
			err = pprof.WriteHeapProfile(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "auditfwd: AUDITFWD_MEMPROFILE: %v\n", err)
		}
	}
}
