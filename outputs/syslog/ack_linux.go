//go:build linux

package syslog

import (
	"syscall"
	"unsafe"
)

// TCP states from the kernel's tcp_states.h.
const (
	tcpEstablished = 1
	tcpCloseWait   = 8
)

// tcpProbe reads, from the kernel, how many bytes of the connection's send
// queue the peer has not acknowledged yet (SIOCOUTQ) and whether the
// connection still stands: ESTABLISHED, or CLOSE_WAIT (the peer closed after
// reading what it had: a peer closing with unread data resets instead).
func tcpProbe(rc syscall.RawConn) (unacked int, open bool, err error) {
	cerr := rc.Control(func(fd uintptr) {
		var q int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q))); e != 0 {
			err = e
			return
		}
		var info syscall.TCPInfo
		size := uint32(unsafe.Sizeof(info))
		if _, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0); e != 0 {
			err = e
			return
		}
		unacked = int(q)
		open = info.State == tcpEstablished || info.State == tcpCloseWait
	})
	if err == nil {
		err = cerr
	}
	return unacked, open, err
}

// canConfirm reports whether tcpProbe works on this system.
const canConfirm = true
