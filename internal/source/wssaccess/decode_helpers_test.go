package wssaccess

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
)

// accessFields is the field list of docs/wss-sync-api.md (45 columns), in
// its order: what the benchmark and most tests decode.
var accessFields = strings.Fields(`x-bluecoat-request-tenant-id date time x-bluecoat-appliance-name time-taken c-ip cs-userdn
cs-auth-groups x-exception-id sc-filter-result cs-categories cs(Referer) sc-status s-action
cs-method rs(Content-Type) cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query
cs-uri-extension cs(User-Agent) s-ip sc-bytes cs-bytes x-virus-id x-bluecoat-application-name
x-bluecoat-application-operation cs-threat-risk x-rs-certificate-validate-status
x-rs-certificate-observed-errors x-cs-ocsp-error x-rs-ocsp-error x-rs-connection-negotiated-cipher
x-rs-certificate-hostname x-rs-certificate-hostname-category x-cs-client-ip-country
x-cs-connection-negotiated-cipher x-client-device-id x-client-os x-client-agent-type
x-client-security-posture-risk-score x-data-leak-detected x-bluecoat-transaction-uuid`)

func fieldsLine(names []string) string { return "#Fields: " + strings.Join(names, " ") }

// sampleLine is a realistic access-log line for accessFields: line i varies
// the client, host, verdict and so on, so that every line hashes apart.
func sampleLine(i int) string {
	hosts := []string{"www.example.com", "cdn.example.net", "login.example.org", "files.example.io"}
	denied := i%7 == 0
	filter, action, status, exc, virus := "OBSERVED", "TCP_NC_MISS", "200", "-", "-"
	if i%3 == 0 {
		filter = "PROXIED"
	}
	if denied {
		filter, action, status, exc = "DENIED", "TCP_DENIED", "403", "policy_denied"
	}
	if i%101 == 0 {
		virus, exc = "EICAR_Test_File", "malware_detected"
	}
	return fmt.Sprintf(`tenant-7f3a 2026-11-24 10:%02d:%02d DE-FRA-01 %d 10.%d.%d.%d "CN=user%d,OU=Staff,DC=corp,DC=example" "Sales;VPN Users" %s %s "Technology/Internet;Web Ads/Analytics" https://www.example.com/start %s %s GET "text/html; charset=utf-8" https %s 443 /path/%d/index.html ?q=%d&lang=en .html "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36" 198.51.100.%d %d %d %s "Google Drive" Upload %d CERT_VALID - - - ECDHE-RSA-AES256-GCM-SHA384 %s "Technology/Internet" DE TLS_AES_256_GCM_SHA384 dev-%06d "Windows 11" WSSA 3 %s 6f1c2a9e-%04x-4d5e-9c3b-%012x`,
		(i/60)%60, i%60, 20+i%900, i%250, (i/250)%250, 1+i%200, i%5000, exc, filter,
		status, action, hosts[i%len(hosts)], i, i, 1+i%250, 1000+i*7%90000, 300+i%700, virus, i%10,
		hosts[i%len(hosts)], i%20000, map[bool]string{true: "true", false: "false"}[i%50 == 0], i%65536, i)
}

// gzipped compresses text as one gzip member.
func gzipped(t testing.TB, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zipEntry struct {
	name   string
	data   []byte
	method uint16 // zip.Store or zip.Deflate; 0 is Store
}

// zipOf builds a ZIP of the entries (their data already gzip or not, as given).
func zipOf(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleFile is one ELFF file of n sample lines starting at from.
func sampleFile(from, n int) string {
	var sb strings.Builder
	sb.WriteString("#Software: SGOS 7.3.0.1\n#Version: 1.0\n#Date: 2026-11-24 10:00:00\n")
	sb.WriteString(fieldsLine(accessFields) + "\n")
	for i := from; i < from+n; i++ {
		sb.WriteString(sampleLine(i))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// openBytes opens an in-memory archive.
func openBytes(t testing.TB, z []byte) *Archive {
	t.Helper()
	a, err := OpenArchive(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	return a
}
