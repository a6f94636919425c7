//go:build !linux

package syslog

import (
	"errors"
	"syscall"
)

// tcpProbe is Linux-only (SIOCOUTQ, TCP_INFO). Elsewhere a batch counts as
// delivered once written to the socket.
func tcpProbe(syscall.RawConn) (int, bool, error) {
	return 0, false, errors.New("not supported")
}

const canConfirm = false
