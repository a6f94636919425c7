package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// checkStateDir tells whether this user can create and write state_dir,
// without creating anything: a service user that cannot would fail only
// at its first start.
func checkStateDir(dir string) error {
	d := dir
	for {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil {
				if d == dir {
					return fmt.Errorf("%s is not writable by this user (uid %d): %v", d, os.Getuid(), err)
				}
				return fmt.Errorf("%s does not exist and %s, where it would be created, is not writable by this user (uid %d)", dir, d, os.Getuid())
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return fmt.Errorf("%s: no existing parent directory", dir)
		}
		d = parent
	}
}

// checkMetricsListen tells whether metrics.listen can be bound. A port
// held by a running auditfwd (it answers /healthz) is fine: that is the
// agent this config belongs to.
func checkMetricsListen(addr string) (note string, err error) {
	if addr == "" {
		return "off", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return "free", nil
	}
	c := http.Client{Timeout: 2 * time.Second}
	if resp, herr := c.Get("http://" + addr + "/healthz"); herr == nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"status":"ok"`) {
			return "in use by a running auditfwd", nil
		}
	}
	return "", fmt.Errorf("%s cannot be bound (%v): set metrics.listen to a free host:port, or to \"\" to turn the listener off", addr, err)
}
