package detect

import (
	"testing"
)

// matchCase is one detection against one document.
type matchCase struct {
	name string
	det  string // the detection section (YAML)
	doc  string // the event (JSON)
	want bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEngine(t, detRuleYAML("r1", c.det), Options{})
			got := len(e.Evaluate([]byte(c.doc), t0, "h1")) == 1
			if got != c.want {
				t.Errorf("matched %v, want %v\ndetection:\n%s\ndoc: %s", got, c.want, c.det, c.doc)
			}
			if e.Stats().Malformed != 0 {
				t.Fatalf("test document is not valid JSON: %s", c.doc)
			}
		})
	}
}

// The specification's "General", "String Wildcard", "Escaping", "Lists"
// and "Maps" sections, case by case.
func TestMatchPlainValues(t *testing.T) {
	runMatchCases(t, []matchCase{
		// Spec: all values are treated as case-insensitive strings.
		{"spec whoami exact", "selection:\n    Image: 'C:\\Windows\\System32\\whoami.exe'\ncondition: selection",
			`{"Image":"C:\\Windows\\System32\\whoami.exe"}`, true},
		{"spec whoami other case", "selection:\n    Image: 'C:\\Windows\\System32\\whoami.exe'\ncondition: selection",
			`{"Image":"c:\\windows\\system32\\WHOAMI.EXE"}`, true},
		{"plain value is not a substring", "selection:\n    event.action: login\ncondition: selection",
			`{"event":{"action":"login_failed"}}`, false},
		{"unicode case folding", "selection:\n    user.name: 'ÄDMIN'\ncondition: selection",
			`{"user":{"name":"ädmin"}}`, true},
		{"dotted path into nested objects", "selection:\n    wss.audit.object_type: apicredential\ncondition: selection",
			`{"wss":{"audit":{"object_type":"ApiCredential"}}}`, true},
		{"absent field does not match", "selection:\n    user.name: x\ncondition: selection",
			`{"user":{}}`, false},
		{"object value does not match a string", "selection:\n    user: x\ncondition: selection",
			`{"user":{"name":"x"}}`, false},
		{"key with dots in the document", "selection:\n    wss.audit.raw.a.b: v\ncondition: selection",
			`{"wss":{"audit":{"raw":{"a.b":"v"}}}}`, true},
		{"escaped string in document", "selection:\n    message: 'say \"hi\"'\ncondition: selection",
			`{"message":"say \"hi\""}`, true},
		{"unicode escape in document", "selection:\n    message: 'é'\ncondition: selection",
			`{"message":"\u00e9"}`, true},

		// Wildcards.
		{"? one character", "selection:\n    f: 'prog?.exe'\ncondition: selection", `{"f":"progA.exe"}`, true},
		{"? not two", "selection:\n    f: 'prog?.exe'\ncondition: selection", `{"f":"progAB.exe"}`, false},
		{"? not none", "selection:\n    f: 'prog?.exe'\ncondition: selection", `{"f":"prog.exe"}`, false},
		{"? one multibyte character", "selection:\n    f: 'prog?.exe'\ncondition: selection", `{"f":"progé.exe"}`, true},
		{"* any run", "selection:\n    f: 'antivirus_V*.exe'\ncondition: selection", `{"f":"antivirus_V21.2.1.exe"}`, true},
		{"* also none", "selection:\n    f: 'antivirus_V*.exe'\ncondition: selection", `{"f":"antivirus_V.exe"}`, true},
		{"* inner backtracking", "selection:\n    f: 'a*b*c'\ncondition: selection", `{"f":"abxbxcbc"}`, true},
		{"* inner no match", "selection:\n    f: 'a*b*c'\ncondition: selection", `{"f":"abxbxcb"}`, false},
		{"leading * is endswith", "selection:\n    f: '*.exe'\ncondition: selection", `{"f":"X.EXE"}`, true},
		{"trailing * is startswith", "selection:\n    f: 'adm*'\ncondition: selection", `{"f":"Administrator"}`, true},

		// Escaping.
		{`\* is a literal star`, "selection:\n    f: 'a\\*b'\ncondition: selection", `{"f":"a*b"}`, true},
		{`\* is not a wildcard`, "selection:\n    f: 'a\\*b'\ncondition: selection", `{"f":"axxb"}`, false},
		{`\? is a literal question mark`, "selection:\n    f: 'a\\?'\ncondition: selection", `{"f":"a?"}`, true},
		{`\? is not a wildcard`, "selection:\n    f: 'a\\?'\ncondition: selection", `{"f":"ab"}`, false},
		{`single \ before a letter is plain`, "selection:\n    f: 'C:\\Windows'\ncondition: selection", `{"f":"C:\\Windows"}`, true},
		{`\\ not before a wildcard is one backslash`, "selection:\n    f: 'C:\\\\Windows'\ncondition: selection", `{"f":"C:\\Windows"}`, true},
		{`\\* is backslash then wildcard`, "selection:\n    f: 'dir\\\\*'\ncondition: selection", `{"f":"dir\\anything"}`, true},
		{`\\\* is backslash then star`, "selection:\n    f: 'dir\\\\\\*'\ncondition: selection", `{"f":"dir\\*"}`, true},
		{`\\\* does not wildcard`, "selection:\n    f: 'dir\\\\\\*'\ncondition: selection", `{"f":"dir\\x"}`, false},
		{`\\\\ is two backslashes`, "selection:\n    f: 'a\\\\\\\\b'\ncondition: selection", `{"f":"a\\\\b"}`, true},

		// Lists and maps.
		{"value list is OR", "selection:\n    EventID:\n        - 517\n        - 1102\ncondition: selection", `{"EventID":1102}`, true},
		{"value list no match", "selection:\n    EventID:\n        - 517\n        - 1102\ncondition: selection", `{"EventID":4624}`, false},
		{"spec map is AND", "selection:\n    EventLog: Security\n    EventID: 4769\n    TicketOptions: '0x40810000'\n    TicketEncryption: '0x17'\ncondition: selection",
			`{"EventLog":"Security","EventID":4769,"TicketOptions":"0x40810000","TicketEncryption":"0x17"}`, true},
		{"map AND one field off", "selection:\n    EventLog: Security\n    EventID: 4769\ncondition: selection",
			`{"EventLog":"Security","EventID":4768}`, false},
		{"list of maps is OR", "selection:\n    - Image|endswith: '\\example.exe'\n    - Description|contains: 'Test executable'\ncondition: selection",
			`{"Image":"x.exe","Description":"a Test Executable here"}`, true},
		{"list of maps none", "selection:\n    - Image|endswith: '\\example.exe'\n    - Description|contains: 'Test executable'\ncondition: selection",
			`{"Image":"x.exe","Description":"nothing"}`, false},
		{"number equals number text", "selection:\n    EventID: 4624\ncondition: selection", `{"EventID":"4624"}`, true},
		{"number equals number numerically", "selection:\n    EventID: 4624\ncondition: selection", `{"EventID":4624.0}`, true},
		{"bool value", "selection:\n    ok: true\ncondition: selection", `{"ok":true}`, true},
		{"bool value false", "selection:\n    ok: true\ncondition: selection", `{"ok":false}`, false},
		{"quoted yes is a string", "selection:\n    ok: 'yes'\ncondition: selection", `{"ok":"YES"}`, true},

		// Arrays in the event: any element.
		{"array any element", "selection:\n    event.category: authentication\ncondition: selection",
			`{"event":{"category":["iam","authentication"]}}`, true},
		{"array no element", "selection:\n    event.category: authentication\ncondition: selection",
			`{"event":{"category":["iam"]}}`, false},

		// Special values: empty and null.
		{"empty value matches empty", "selection:\n    f: ''\ncondition: selection", `{"f":""}`, true},
		{"empty value not absent", "selection:\n    f: ''\ncondition: selection", `{}`, false},
		{"null matches absent", "selection:\n    f: null\ncondition: selection", `{"g":1}`, true},
		{"null matches null", "selection:\n    f: null\ncondition: selection", `{"f":null}`, true},
		{"null not a value", "selection:\n    f: null\ncondition: selection", `{"f":""}`, false},
		{"spec not null", "selection:\n    EventID: 4738\nfilter:\n    PasswordLastSet: null\ncondition: selection and not filter",
			`{"EventID":4738,"PasswordLastSet":"2024"}`, true},
		{"null in a list", "selection:\n    f:\n        - null\n        - x\ncondition: selection", `{"f":"X"}`, true},
	})
}

// The modifiers appendix, case by case.
func TestMatchModifiers(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"contains", "s:\n    f|contains: Audit\ncondition: s", `{"f":"siem-audit-reader"}`, true},
		{"contains none", "s:\n    f|contains: Audit\ncondition: s", `{"f":"siem-reader"}`, false},
		{"contains keeps inner wildcards", "s:\n    f|contains: 'a?c'\ncondition: s", `{"f":"xxabcxx"}`, true},
		{"startswith", "s:\n    f|startswith: adm\ncondition: s", `{"f":"ADMIN"}`, true},
		{"startswith not inside", "s:\n    f|startswith: adm\ncondition: s", `{"f":"sysadm"}`, false},
		{"endswith", "s:\n    f|endswith: '\\cmd.exe'\ncondition: s", `{"f":"C:\\Windows\\CMD.exe"}`, true},
		{"endswith not inside", "s:\n    f|endswith: .exe\ncondition: s", `{"f":"a.exe.txt"}`, false},
		{"contains|all all present", "s:\n    f|contains|all:\n        - a\n        - b\ncondition: s", `{"f":"xbxa"}`, true},
		{"contains|all one missing", "s:\n    f|contains|all:\n        - a\n        - b\ncondition: s", `{"f":"xa"}`, false},
		{"all over array elements", "s:\n    event.type|all:\n        - user\n        - change\ncondition: s", `{"event":{"type":["user","change"]}}`, true},
		{"all over array one missing", "s:\n    event.type|all:\n        - user\n        - deletion\ncondition: s", `{"event":{"type":["user","change"]}}`, false},
		{"cased matches same case", "s:\n    f|cased: Login\ncondition: s", `{"f":"Login"}`, true},
		{"cased refuses other case", "s:\n    f|cased: Login\ncondition: s", `{"f":"login"}`, false},
		{"contains|cased", "s:\n    f|contains|cased: Key\ncondition: s", `{"f":"apiKey"}`, true},
		{"contains|cased other case", "s:\n    f|contains|cased: Key\ncondition: s", `{"f":"apikey"}`, false},

		{"re", "s:\n    f|re: '^ad[a-z]+@'\ncondition: s", `{"f":"admin@example.com"}`, true},
		{"re is case-sensitive", "s:\n    f|re: '^ad[a-z]+@'\ncondition: s", `{"f":"Admin@example.com"}`, false},
		{"re|i", "s:\n    f|re|i: '^ad[a-z]+@'\ncondition: s", `{"f":"ADMIN@example.com"}`, true},
		{"re unanchored finds inside", "s:\n    f|re: 'min'\ncondition: s", `{"f":"admin"}`, true},
		{"re without m: $ is end of text", "s:\n    f|re: 'a$'\ncondition: s", `{"f":"a\nb"}`, false},
		{"re|m: $ is end of line", "s:\n    f|re|m: 'a$'\ncondition: s", `{"f":"a\nb"}`, true},
		{"re without s: dot stops at newline", "s:\n    f|re: 'a.b'\ncondition: s", `{"f":"a\nb"}`, false},
		{"re|s: dot matches newline", "s:\n    f|re|s: 'a.b'\ncondition: s", `{"f":"a\nb"}`, true},
		{"re on a number", "s:\n    f|re: '^4[0-9]{3}$'\ncondition: s", `{"f":4625}`, true},

		{"cidr v4", "s:\n    source.ip|cidr: 10.0.0.0/8\ncondition: s", `{"source":{"ip":"10.1.2.3"}}`, true},
		{"cidr v4 outside", "s:\n    source.ip|cidr: 10.0.0.0/8\ncondition: s", `{"source":{"ip":"11.1.2.3"}}`, false},
		{"cidr v4 list", "s:\n    source.ip|cidr:\n        - 10.0.0.0/8\n        - 192.168.0.0/16\ncondition: s", `{"source":{"ip":"192.168.9.9"}}`, true},
		{"cidr v6", "s:\n    source.ip|cidr: '2001:db8::/32'\ncondition: s", `{"source":{"ip":"2001:db8:1::7"}}`, true},
		{"cidr v6 outside", "s:\n    source.ip|cidr: '2001:db8::/32'\ncondition: s", `{"source":{"ip":"2001:db9::7"}}`, false},
		{"cidr v4-mapped v6 address", "s:\n    source.ip|cidr: 10.0.0.0/8\ncondition: s", `{"source":{"ip":"::ffff:10.0.0.1"}}`, true},
		{"cidr not an address", "s:\n    source.ip|cidr: 10.0.0.0/8\ncondition: s", `{"source":{"ip":"10.example"}}`, false},
		{"cidr unmasked prefix", "s:\n    source.ip|cidr: 10.1.2.3/8\ncondition: s", `{"source":{"ip":"10.200.0.1"}}`, true},

		{"exists true present", "s:\n    f|exists: true\ncondition: s", `{"f":""}`, true},
		{"exists true present null", "s:\n    f|exists: true\ncondition: s", `{"f":null}`, true},
		{"exists true absent", "s:\n    f|exists: true\ncondition: s", `{"g":1}`, false},
		{"exists false absent", "s:\n    f|exists: false\ncondition: s", `{"g":1}`, true},
		{"exists false present", "s:\n    f|exists: false\ncondition: s", `{"f":1}`, false},
		{"exists on an object", "s:\n    user|exists: true\ncondition: s", `{"user":{"name":"x"}}`, true},

		{"lt", "s:\n    n|lt: 5\ncondition: s", `{"n":4}`, true},
		{"lt equal", "s:\n    n|lt: 5\ncondition: s", `{"n":5}`, false},
		{"lte equal", "s:\n    n|lte: 5\ncondition: s", `{"n":5}`, true},
		{"gt", "s:\n    n|gt: 5\ncondition: s", `{"n":5.5}`, true},
		{"gt equal", "s:\n    n|gt: 5\ncondition: s", `{"n":5}`, false},
		{"gte equal", "s:\n    n|gte: 5\ncondition: s", `{"n":5}`, true},
		{"gte numeric string", "s:\n    n|gte: 5\ncondition: s", `{"n":"10"}`, true},
		{"gte not a number", "s:\n    n|gte: 5\ncondition: s", `{"n":"ten"}`, false},
		{"gte float bound", "s:\n    n|gte: 2.5\ncondition: s", `{"n":2.4}`, false},

		{"base64", "s:\n    f|base64: 'hello'\ncondition: s", `{"f":"aGVsbG8="}`, true},
		{"base64|contains", "s:\n    f|base64|contains: 'hello'\ncondition: s", `{"f":"xxaGVsbG8=yy"}`, true},
		{"base64 is case-sensitive", "s:\n    f|base64: 'hello'\ncondition: s", `{"f":"AGVSBG8="}`, false},
		// "ping" at offsets 0, 1 and 2 of a base64-encoded text.
		{"base64offset|contains offset 0", "s:\n    f|base64offset|contains: 'ping'\ncondition: s", `{"f":"cGluZyAtbiAx"}`, true},
		{"base64offset|contains offset 1", "s:\n    f|base64offset|contains: 'ping'\ncondition: s", `{"f":"IHBpbmcgLW4gMQ=="}`, true},
		{"base64offset|contains offset 2", "s:\n    f|base64offset|contains: 'ping'\ncondition: s", `{"f":"ICBwaW5nIC1uIDE="}`, true},
		{"base64offset|contains other", "s:\n    f|base64offset|contains: 'ping'\ncondition: s", `{"f":"cG9uZyAtbiAx"}`, false},

		// Keywords: searched in message and event.original, as substrings.
		{"spec keywords OR", "keywords:\n    - 'event::clear'\n    - 'event::drop'\ncondition: keywords", `{"message":"mimikatz EVENT::DROP done"}`, true},
		{"keywords in event.original", "keywords:\n    - 'ApiCredential'\ncondition: keywords", `{"event":{"original":"{\"objectType\": \"ApiCredential\"}"}}`, true},
		{"keywords none", "keywords:\n    - 'event::clear'\ncondition: keywords", `{"message":"event clear"}`, false},
		{"keywords not in other fields", "keywords:\n    - 'secret'\ncondition: keywords", `{"user":{"name":"secret"}}`, false},
		{"spec keywords |all", "keywords_cmdlet:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '\ncondition: keywords_cmdlet",
			`{"message":"Set-OabVirtualDirectory -ExternalUrl http://x"}`, true},
		{"keywords |all one missing", "k:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '\ncondition: k",
			`{"message":"Set-OabVirtualDirectory"}`, false},
	})
}
