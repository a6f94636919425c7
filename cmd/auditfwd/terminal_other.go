//go:build !linux

package main

import "os"

// isTerminal reports whether w is a character device other than /dev/null
// (a good enough guess off Linux).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || f.Name() == os.DevNull {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
