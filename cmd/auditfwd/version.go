package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at link time by `make build` (-X main.version=...); a
// `go install` or `go build` without it falls back to the build info.
var version = ""

// versionInfo reads what the Go toolchain recorded in the binary: the
// module version (a tag with go install pkg@v), the VCS commit and whether
// the tree had uncommitted changes.
func versionInfo() (ver, commit, built string, dirty bool) {
	ver, commit = version, "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orDevel(ver), commit, "", false
	}
	if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			built = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	return orDevel(ver), commit, built, dirty
}

func orDevel(v string) string {
	if v == "" {
		return "devel"
	}
	return v
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "version", stderr)
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	ver, commit, built, dirty := versionInfo()
	if dirty {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(stdout, "auditfwd %s\ncommit:  %s\n", ver, commit)
	if built != "" {
		fmt.Fprintf(stdout, "commit time: %s\n", built)
	}
	fmt.Fprintf(stdout, "go:      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
