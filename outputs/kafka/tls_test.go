package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditfwd/auditfwd/outputs"
)

// pki is a throw-away CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type pki struct {
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditfwd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	srvDER, srvKey := leaf(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cliDER, cliKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	p := pki{
		caFile:     write("ca.pem", "CERTIFICATE", caDER),
		clientCert: write("client.pem", "CERTIFICATE", cliDER),
		clientKey:  write("client-key.pem", "EC PRIVATE KEY", keyDER(cliKey)),
		pool:       x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	p.server, err = tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER(srvKey)}))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TLS with verification against ca_file and a client certificate (the
// cluster requires one); without the CA the certificate is refused, as it
// must be, with a retryable error; insecure_skip_verify gets through
// verification but not past the required client certificate.
func TestTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	p := newPKI(t)
	c := newCluster(t, kfake.SeedTopics(2, "tls"), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}))

	cfg := testConfig(c, "tls")
	cfg.TLS = outputs.TLS{CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey} // enabled by its keys
	o := mustNew(t, cfg)
	if err := o.Check(context.Background()); err != nil {
		t.Fatalf("Check over TLS: %v", err)
	}
	batch := makeEvents(t, 50, "tenant-a", 95)
	if refused, _ := deliver(t, o, batch, 20*time.Second); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}

	yes := true
	noCA := testConfig(c, "tls")
	noCA.Timeout = 2 * time.Second
	noCA.TLS = outputs.TLS{Enabled: &yes, CertFile: p.clientCert, KeyFile: p.clientKey}
	err := mustNew(t, noCA).Write(context.Background(), batch[:5])
	t.Logf("unknown CA: %v", err)
	if err == nil || outputs.IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Write to a broker with an unknown CA: %v, want a retryable certificate error", err)
	}

	noClientCert := testConfig(c, "tls")
	noClientCert.Timeout = 2 * time.Second
	noClientCert.TLS = outputs.TLS{Enabled: &yes, InsecureSkipVerify: true}
	if err := mustNew(t, noClientCert).Check(context.Background()); err == nil {
		t.Error("Check without the client certificate the cluster requires returned nil")
	}

	plain := testConfig(c, "tls")
	plain.Timeout = 2 * time.Second
	if err := mustNew(t, plain).Check(context.Background()); err == nil {
		t.Error("Check without TLS against a TLS cluster returned nil")
	}
}
