package syslog

// A real rsyslogd, started by the test in the foreground with its own
// config, work directory and 127.0.0.1 ports, writing every message it
// receives, raw and parsed, as one JSON line to a file.

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyslogd finds the binary: $AUDITFWD_RSYSLOGD, then PATH, then /usr/sbin.
// Missing, it fails the test (a skipped peer test looks green), except with
// -short, which runs no peer test.
func rsyslogd(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no rsyslog peer")
	}
	if p := os.Getenv("AUDITFWD_RSYSLOGD"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("AUDITFWD_RSYSLOGD: %v (scripts/peers/rsyslog.sh installs rsyslogd)", err)
		}
		return p
	}
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd"
	}
	t.Fatal("rsyslogd not found: install the test peer with scripts/peers/rsyslog.sh (Debian: rsyslog rsyslog-gnutls), or set AUDITFWD_RSYSLOGD")
	return ""
}

// use makes t the test that collector failures are reported to (a subtest).
func (c *collector) use(t testing.TB) { c.t = t }

// collector is one rsyslogd with a plain TCP input (both framings), a TLS
// input and a UDP input.
type collector struct {
	t                         testing.TB
	bin, dir, out             string
	tcpPort, tlsPort, udpPort int
	caFile                    string
	maxMessageSize            string
	cmd                       *exec.Cmd
	exited                    chan struct{}
	log                       *os.File
}

func startCollector(t testing.TB) *collector {
	t.Helper()
	c := &collector{t: t, bin: rsyslogd(t), dir: t.TempDir(), maxMessageSize: "256k"}
	c.out = filepath.Join(c.dir, "received.ndjson")
	c.caFile = c.writeCert()
	c.udpPort = freeUDPPort(t)
	c.start()
	t.Cleanup(c.stop)
	return c
}

// freeUDPPort asks the kernel for a free port. imudp has no port file; the
// port could be taken between here and rsyslogd's bind, in which case the
// start fails loudly rather than flakily.
func freeUDPPort(t testing.TB) int {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// writeCert makes a self-signed certificate for 127.0.0.1 and localhost,
// which is also its own CA for the client.
func (c *collector) writeCert() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "auditfwd test collector"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		c.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		c.t.Fatal(err)
	}
	cert := filepath.Join(c.dir, "cert.pem")
	c.writeFile("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	c.writeFile("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return cert
}

func (c *collector) writeFile(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(c.dir, name), data, 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// config is rsyslog.conf. The template writes each message as one JSON
// object: the raw bytes received and what rsyslog parsed out of them. No
// imuxsock, no imklog: rsyslogd touches nothing outside c.dir. Control
// characters are kept as received, so rawmsg is byte-exact.
func (c *collector) config() string {
	port := func(p int) string {
		if p == 0 {
			return "0"
		}
		return strconv.Itoa(p)
	}
	q := func(s string) string { return strconv.Quote(s) }
	return fmt.Sprintf(`
global(workDirectory=%[1]s
       maxMessageSize=%[9]s
       parser.escapeControlCharactersOnReceive="off"
       defaultNetstreamDriverCAFile=%[2]s
       defaultNetstreamDriverCertFile=%[2]s
       defaultNetstreamDriverKeyFile=%[3]s)
module(load="imtcp" maxSessions="100")
module(load="imudp")

template(name="record" type="list") {
  constant(value="{\"input\":\"")     property(name="inputname" format="json")
  constant(value="\",\"pri\":\"")     property(name="pri")
  constant(value="\",\"ts\":\"")      property(name="timereported" dateFormat="rfc3339")
  constant(value="\",\"host\":\"")    property(name="hostname" format="json")
  constant(value="\",\"app\":\"")     property(name="app-name" format="json")
  constant(value="\",\"procid\":\"")  property(name="procid" format="json")
  constant(value="\",\"msgid\":\"")   property(name="msgid" format="json")
  constant(value="\",\"tag\":\"")     property(name="syslogtag" format="json")
  constant(value="\",\"sd\":\"")      property(name="structured-data" format="json")
  constant(value="\",\"msg\":\"")     property(name="msg" format="json")
  constant(value="\",\"raw\":\"")     property(name="rawmsg" format="json")
  constant(value="\"}\n")
}

ruleset(name="received") {
  action(type="omfile" file=%[4]s template="record" flushOnTXEnd="on")
}

input(type="imtcp" name="tcp" address="127.0.0.1" port=%[5]s listenPortFileName=%[6]s
      supportOctetCountedFraming="on" ruleset="received")
input(type="imtcp" name="tls" address="127.0.0.1" port=%[7]s listenPortFileName=%[8]s
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"
      supportOctetCountedFraming="on" ruleset="received")
input(type="imudp" name="udp" address="127.0.0.1" port="%[10]d" rcvBufSize="8m" ruleset="received")

# rsyslogd's own messages, for the failure report.
action(type="omfile" file=%[11]s)
`, q(c.dir), q(c.caFile), q(filepath.Join(c.dir, "key.pem")), q(c.out),
		q(port(c.tcpPort)), q(filepath.Join(c.dir, "tcp.port")),
		q(port(c.tlsPort)), q(filepath.Join(c.dir, "tls.port")),
		q(c.maxMessageSize), c.udpPort, q(filepath.Join(c.dir, "internal.log")))
}

// start runs rsyslogd and waits until every input takes messages. The TCP
// ports are the kernel's choice on the first start and the same ones after
// a restart.
func (c *collector) start() {
	c.t.Helper()
	for _, f := range []string{"tcp.port", "tls.port"} {
		os.Remove(filepath.Join(c.dir, f))
	}
	conf := filepath.Join(c.dir, "rsyslog.conf")
	c.writeFile("rsyslog.conf", []byte(c.config()))
	log, err := os.OpenFile(filepath.Join(c.dir, "rsyslogd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	c.log = log
	cmd := exec.Command(c.bin, "-n", "-f", conf, "-i", filepath.Join(c.dir, "rsyslogd.pid"))
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET=")
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", c.bin, err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()

	deadline := time.Now().Add(20 * time.Second)
	c.tcpPort = c.waitPort("tcp.port", c.tcpPort, deadline)
	c.tlsPort = c.waitPort("tls.port", c.tlsPort, deadline)
	c.waitUDP(deadline)
}

// waitPort waits until the input listens: on the port rsyslogd writes to
// file when it chose it, or on the known one (rsyslogd writes no port file
// for a port it was given).
func (c *collector) waitPort(file string, known int, deadline time.Time) int {
	c.t.Helper()
	for {
		p := known
		if p == 0 {
			b, _ := os.ReadFile(filepath.Join(c.dir, file))
			p, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if p > 0 {
			if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second); err == nil {
				conn.Close()
				return p
			}
		}
		select {
		case <-c.exited:
			c.t.Fatalf("rsyslogd exited at start:\n%s", c.diagnostics())
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("rsyslogd did not open its %s input:\n%s", strings.TrimSuffix(file, ".port"), c.diagnostics())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitUDP sends probes until one is written: imudp says nothing when it is
// ready. Probes carry app-name "probe" and are left out by records().
func (c *collector) waitUDP(deadline time.Time) {
	c.t.Helper()
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.udpPort)))
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; ; i++ {
		fmt.Fprintf(conn, "<14>1 2026-01-01T00:00:00.000Z test probe - - - probe %d", i)
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile(c.out)
		if bytes.Contains(b, []byte(`"app":"probe"`)) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("rsyslogd's udp input took no probe:\n%s", c.diagnostics())
		}
	}
}

// stop ends rsyslogd with SIGTERM (it writes what it has read and exits),
// or SIGKILL after 10 s.
func (c *collector) stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
	c.log.Close()
}

// restart stops rsyslogd and starts it again on the same ports.
func (c *collector) restart() {
	c.t.Helper()
	c.stop()
	c.start()
}

func (c *collector) diagnostics() string {
	var b strings.Builder
	for _, f := range []string{"rsyslogd.log", "internal.log"} {
		data, _ := os.ReadFile(filepath.Join(c.dir, f))
		fmt.Fprintf(&b, "--- %s\n%s\n", f, data)
	}
	return b.String()
}

func (c *collector) addr(network string) string {
	p := map[string]int{"tcp": c.tcpPort, "tls": c.tlsPort, "udp": c.udpPort}[network]
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// record is one message as rsyslog received and parsed it.
type record struct {
	Input, Pri, TS, Host, App, ProcID, MsgID, Tag, SD, Msg, Raw string
	line                                                        int
}

// records reads every message received so far, probes left out. A line
// that is not JSON fails the test.
func (c *collector) records() []record {
	c.t.Helper()
	f, err := os.Open(c.out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		var r struct {
			Input, Pri, TS, Host, App, ProcID, MsgID, Tag, SD, Msg, Raw string
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			c.t.Fatalf("%s line %d is not JSON (%v): %q", c.out, n, err, sc.Bytes())
		}
		if r.App == "probe" {
			continue
		}
		recs = append(recs, record{r.Input, r.Pri, r.TS, r.Host, r.App, r.ProcID, r.MsgID, r.Tag, r.SD, r.Msg, r.Raw, n})
	}
	if err := sc.Err(); err != nil {
		c.t.Fatal(err)
	}
	return recs
}

// waitRecords waits until at least n messages (probes left out) were
// written, then a little more for strays, and returns them.
func (c *collector) waitRecords(n int, timeout time.Duration) []record {
	c.t.Helper()
	c.waitCount(n, timeout)
	time.Sleep(200 * time.Millisecond) // anything extra (a split message) shows up too
	return c.records()
}

// waitCount waits until at least n messages (probes left out) were written.
// It counts lines as they come, without parsing the file again and again.
func (c *collector) waitCount(n int, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var offset int64
	count := 0
	for {
		if f, err := os.Open(c.out); err == nil {
			data, _ := io.ReadAll(io.NewSectionReader(f, offset, 1<<40))
			f.Close()
			if end := bytes.LastIndexByte(data, '\n'); end >= 0 {
				data = data[:end+1]
				offset += int64(len(data))
				count += bytes.Count(data, []byte("\n")) - bytes.Count(data, []byte(`"app":"probe"`))
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("rsyslog wrote %d of %d messages in %s\n%s", count, n, timeout, c.diagnostics())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
