package rules

// The pack checker: everything rules_test.go asserts about a rule file, in
// one function over an fs.FS so that the same code checks the shipped pack
// and the deliberately broken packs under testdata/broken/.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// problem is one finding, located as precisely as the checker can.
type problem struct {
	file string
	line int // 0: the whole file
	msg  string
}

func (p problem) String() string {
	if p.line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg)
	}
	return p.file + ": " + p.msg
}

// emittedFields are the fields auditfwd's ECS documents can carry: the
// audit events' (docs/ecs.md, internal/event) and the access events'
// (internal/source/wssaccess/decode_doc.go; wss.access.<column> for the
// columns of the public access-log field lists that no ECS field takes). A
// rule on any other field would never match, so a misspelt field is an
// error, not a silent dead rule.
var emittedFields = set(
	"@timestamp", "message",
	"event.kind", "event.category", "event.type", "event.action", "event.outcome",
	"event.id", "event.hash", "event.dataset", "event.module", "event.created",
	"event.original", "event.reason",
	"user.name", "user.email", "user.target.name", "user.target.email",
	"source.ip", "source.port", "host.name", "rule.name", "rule.ruleset", "group.name",
	"related.ip", "related.user", "user_agent.original", "organization.id",
	"labels.source", "observer.vendor", "observer.product",
	"wss.audit.object_type", "wss.audit.object_name", "wss.audit.operation_type",
	"wss.audit.status", "wss.audit.source_ip",
	// access events
	"event.risk_score", "event.duration",
	"url.full", "url.domain", "url.scheme", "url.port", "url.path", "url.query", "url.extension",
	"http.request.method", "http.request.referrer", "http.request.bytes",
	"http.response.status_code", "http.response.bytes", "http.response.mime_type",
	"user.group.name", "source.geo.country_iso_code", "destination.ip", "destination.domain",
	"destination.port", "observer.ip", "observer.name", "observer.type", "tls.cipher", "tls.version",
	"tls.version_protocol", "tls.server.x509.subject.common_name", "threat.software.name",
	"rule.category", "related.hosts",
	"wss.access.sc_filter_result", "wss.access.x_data_leak_detected",
	"wss.access.x_rs_certificate_validate_status", "wss.access.x_rs_certificate_observed_errors",
	"wss.access.x_cs_ocsp_error", "wss.access.x_rs_ocsp_error",
	"wss.access.x_rs_certificate_hostname_category", "wss.access.x_bluecoat_application_name",
	"wss.access.x_bluecoat_application_operation", "wss.access.x_client_device_id",
	"wss.access.x_client_os", "wss.access.x_client_agent_type",
	"wss.access.x_client_security_posture_risk_score", "wss.access.cs_userdn",
)

// modifiers are the value modifiers the pack may use: the ones issue 16 asks
// auditfwd's engine to support. A rule using another one would be refused
// at load, so it is refused here first.
var modifiers = set("contains", "startswith", "endswith", "re", "cidr", "all", "exists", "lt", "lte", "gt", "gte")

var (
	levels   = set("informational", "low", "medium", "high", "critical")
	statuses = set("stable", "test", "experimental", "deprecated", "unsupported")
	// ATT&CK tactics as Sigma tags name them (sigma-appendix-tags.md).
	tactics = set("reconnaissance", "resource-development", "initial-access", "execution",
		"persistence", "privilege-escalation", "defense-evasion", "stealth", "defense-impairment",
		"credential-access", "discovery", "lateral-movement", "collection",
		"command-and-control", "exfiltration", "impact")
	correlationTypes = set("event_count", "value_count", "temporal", "temporal_ordered")
	countOps         = set("gt", "gte", "lt", "lte", "eq")
)

var (
	uuidV4        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	snake         = regexp.MustCompile(`^[a-z0-9_]+$`)
	fileName      = regexp.MustCompile(`^[a-z0-9_]+\.yml$`)
	techniqueTag  = regexp.MustCompile(`^attack\.t[0-9]{4}(\.[0-9]{3})?$`)
	otherTag      = regexp.MustCompile(`^(cve\.[0-9]{4}-[0-9]{4,}|car\.[0-9]{4}-[0-9]{2}-[0-9]{3}|detection\.(threat-hunting|emerging-threats|dfir)|tlp\.(red|amber|amber-strict|green|clear))$`)
	duration      = regexp.MustCompile(`^[1-9][0-9]*[smhd]$`)
	conditionWord = regexp.MustCompile(`[A-Za-z0-9_*]+|[()]|\S`)
)

// kind is what a directory of the pack holds: its rules' one logsource,
// and the file name prefixes of its detections and correlations.
type kind struct {
	name      string
	logsource map[string]string
	detection string // SigmaHQ's file prefix for the logsource
	corr      string // the correlation specification's "mr_" best practice, then the same
}

var (
	auditKind = &kind{"audit", map[string]string{"product": "broadcom_wss", "service": "audit"},
		"wss_audit_", "mr_wss_audit_"} // SigmaHQ's <product>_<service>_ convention
	proxyKind = &kind{"proxy", map[string]string{"category": "proxy", "product": "broadcom_wss"},
		"proxy_wss_", "mr_proxy_wss_"} // SigmaHQ's proxy_ prefix (rules/web/proxy_generic), then the product
)

// kindOf: the rules under wss_access/ are proxy rules; every other
// directory (wss_audit/, the broken packs of testdata) holds audit rules.
func kindOf(file string) *kind {
	if strings.HasPrefix(file, "wss_access/") {
		return proxyKind
	}
	return auditKind
}

func (k *kind) logsourceString() string {
	var parts []string
	for _, a := range []string{"category", "product", "service"} {
		if v, ok := k.logsource[a]; ok {
			parts = append(parts, a+": "+v)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// schemas are the two vendored Sigma JSON schemas, compiled.
type schemas struct{ detection, correlation *jsonschema.Schema }

func loadSchemas() (*schemas, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat() // "format": "uuid" is an assertion, not a comment
	var out schemas
	for _, s := range []struct {
		file string
		dst  **jsonschema.Schema
	}{
		{"schema/sigma-detection-rule-schema.json", &out.detection},
		{"schema/sigma-correlation-rules-schema.json", &out.correlation},
	} {
		f, err := os.Open(s.file)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		url := "file:///auditfwd/rules/" + s.file
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		if *s.dst, err = c.Compile(url); err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
	}
	return &out, nil
}

// rule is one parsed rule file.
type rule struct {
	file string
	root *yaml.Node     // the document's mapping
	val  map[string]any // the same, as JSON values
}

func (r *rule) correlation() bool { _, ok := r.val["correlation"]; return ok }

// line is where key starts in the rule's top-level mapping (or inside the
// mapping at path), 0 when absent.
func (r *rule) line(keys ...string) int {
	n, line := r.root, r.root.Line
	for _, k := range keys {
		kn, vn := mapEntry(n, k)
		if kn == nil {
			return line
		}
		n, line = vn, kn.Line
	}
	return line
}

// pack is the result of checking a directory of rules.
type pack struct {
	rules    []*rule
	problems []problem
	fields   map[string]bool           // every field a rule reads
	byKind   map[*kind]map[string]bool // the same, by the rule's kind
}

func (p *pack) addf(file string, line int, format string, args ...any) {
	p.problems = append(p.problems, problem{file, line, fmt.Sprintf(format, args...)})
}

// checkPack checks every .yml file of fsys outside schema/, pipelines/ and
// testdata/.
func checkPack(fsys fs.FS, sch *schemas) *pack {
	p := &pack{fields: map[string]bool{}, byKind: map[*kind]map[string]bool{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch name {
			case "schema", "pipelines", "testdata":
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".yaml") {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if r := p.parse(name, b); r != nil {
			p.rules = append(p.rules, r)
		}
		return nil
	})
	if err != nil {
		p.addf(".", 0, "walking the pack: %v", err)
	}
	for _, r := range p.rules {
		p.checkSchema(r, sch)
		p.checkMeta(r)
		if r.correlation() {
			p.checkCorrelation(r)
		} else {
			p.checkDetection(r)
		}
	}
	p.checkCrossFile()
	sort.Slice(p.problems, func(i, j int) bool { return p.problems[i].String() < p.problems[j].String() })
	return p
}

// parse reads one file: exactly one YAML document holding a mapping.
func (p *pack) parse(name string, b []byte) *rule {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.addf(name, 0, "not YAML: %v", err)
			return nil
		}
		docs = append(docs, &n)
	}
	switch {
	case len(docs) == 0:
		p.addf(name, 0, "empty file")
		return nil
	case len(docs) > 1:
		p.addf(name, docs[1].Line, "%d YAML documents: the pack holds one rule per file", len(docs))
		return nil
	}
	root := docs[0]
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.addf(name, root.Line, "a rule is a YAML mapping")
		return nil
	}
	v, err := toJSON(root)
	if err != nil {
		p.addf(name, 0, "%v", err)
		return nil
	}
	return &rule{file: name, root: root, val: v.(map[string]any)}
}

func (p *pack) checkSchema(r *rule, sch *schemas) {
	s, which := sch.detection, "detection"
	if r.correlation() {
		s, which = sch.correlation, "correlation"
	}
	// Validate wants plain JSON values: a round trip through encoding/json
	// with UseNumber gives exactly the types jsonschema.UnmarshalJSON does.
	b, err := json.Marshal(r.val)
	if err != nil {
		p.addf(r.file, 0, "not representable as JSON: %v", err)
		return
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		p.addf(r.file, 0, "not representable as JSON: %v", err)
		return
	}
	if err := s.Validate(inst); err != nil {
		msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
		p.addf(r.file, 0, "invalid against the Sigma %s schema: %s", which, msg)
	}
}

// checkMeta checks what every rule of the pack carries, detection or
// correlation.
func (p *pack) checkMeta(r *rule) {
	base := path.Base(r.file)
	prefix := kindOf(r.file).detection
	if r.correlation() {
		prefix = kindOf(r.file).corr
	}
	switch {
	case !fileName.MatchString(base):
		p.addf(r.file, 0, "file name: lower-case letters, digits and _ only, ending in .yml")
	case len(base) < 10 || len(base) > 70:
		p.addf(r.file, 0, "file name: %d characters, the specification allows 10 to 70", len(base))
	case !strings.HasPrefix(base, prefix):
		p.addf(r.file, 0, "file name: must start with %q", prefix)
	}

	for _, k := range []string{"id", "title", "status", "description", "references", "author", "date", "level", "tags", "falsepositives"} {
		if _, ok := r.val[k]; !ok {
			p.addf(r.file, 0, "missing %q", k)
		}
	}
	if id, _ := r.val["id"].(string); id != "" && !uuidV4.MatchString(id) {
		p.addf(r.file, r.line("id"), "id %q is not a lower-case UUID v4", id)
	}
	if name, ok := r.val["name"].(string); ok && !snake.MatchString(name) {
		p.addf(r.file, r.line("name"), "name %q: lower-case snake case only", name)
	}
	if lv, ok := r.val["level"].(string); ok && !levels[lv] {
		p.addf(r.file, r.line("level"), "level %q is none of the specification's", lv)
	}
	if st, ok := r.val["status"].(string); ok && !statuses[st] {
		p.addf(r.file, r.line("status"), "status %q is none of the specification's", st)
	}
	if d, _ := r.val["description"].(string); d != "" && !strings.Contains(d, "Vocabulary:") {
		p.addf(r.file, r.line("description"), "description: say which words Broadcom documents and which are assumed, in a \"Vocabulary:\" paragraph")
	}
	if refs, ok := r.val["references"].([]any); ok && len(refs) == 0 {
		p.addf(r.file, r.line("references"), "references: empty")
	}
	if fp, ok := r.val["falsepositives"].([]any); !ok || len(fp) == 0 {
		if _, present := r.val["falsepositives"]; present {
			p.addf(r.file, r.line("falsepositives"), "falsepositives: a non-empty list")
		}
	}
	p.checkTags(r)
	fields, _ := r.val["fields"].([]any)
	for _, f := range fields {
		s, _ := f.(string)
		p.useField(r, r.line("fields"), "fields", s)
	}
}

func (p *pack) checkTags(r *rule) {
	tags, _ := r.val["tags"].([]any)
	var technique, tactic bool
	for _, t := range tags {
		s, _ := t.(string)
		switch {
		case techniqueTag.MatchString(s):
			technique = true
		case strings.HasPrefix(s, "attack.") && tactics[strings.TrimPrefix(s, "attack.")]:
			tactic = true
		case otherTag.MatchString(s):
		default:
			p.addf(r.file, r.line("tags"), "tag %q: not attack.<tactic>, attack.tNNNN[.NNN], cve.*, car.*, detection.* or tlp.*", s)
		}
	}
	if _, ok := r.val["tags"]; ok && (!technique || !tactic) {
		p.addf(r.file, r.line("tags"), "tags: need at least one ATT&CK technique (attack.tNNNN) and one tactic (attack.<tactic>)")
	}
}

func (p *pack) checkDetection(r *rule) {
	ls, _ := r.val["logsource"].(map[string]any)
	k := kindOf(r.file)
	exact := len(ls) == len(k.logsource)
	for a, v := range k.logsource {
		exact = exact && ls[a] == v
	}
	if !exact {
		p.addf(r.file, r.line("logsource"), "logsource must be exactly %s (the logsource of the %s rules' directory)", k.logsourceString(), k.name)
	}
	det, _ := r.val["detection"].(map[string]any)
	ids := map[string]bool{}
	for id, body := range det {
		if id == "condition" {
			continue
		}
		ids[id] = true
		line := r.line("detection", id)
		switch b := body.(type) {
		case map[string]any:
			p.checkItems(r, line, id, b)
		case []any:
			for _, e := range b {
				m, ok := e.(map[string]any)
				if !ok {
					p.addf(r.file, line, "detection %s: keyword lists are not used in this pack; match a field", id)
					continue
				}
				p.checkItems(r, line, id, m)
			}
		default:
			p.addf(r.file, line, "detection %s: a map or a list of maps", id)
		}
	}
	cond, ok := det["condition"].(string)
	if !ok {
		return // the schema has said so
	}
	p.checkCondition(r, cond, ids)
	p.checkCustom(r)
}

// checkItems checks one map of a search identifier: field|modifiers: values.
func (p *pack) checkItems(r *rule, line int, id string, m map[string]any) {
	for key, v := range m {
		parts := strings.Split(key, "|")
		field := parts[0]
		p.useField(r, line, fmt.Sprintf("detection %s", id), field)
		for _, mod := range parts[1:] {
			if !modifiers[mod] {
				p.addf(r.file, line, "detection %s: modifier %q is not one auditfwd's engine supports (%s)", id, mod, strings.Join(keys(modifiers), ", "))
			}
		}
		vals, isList := v.([]any)
		if !isList {
			vals = []any{v}
		}
		if isList && len(vals) == 0 {
			p.addf(r.file, line, "detection %s: %s has an empty list of values", id, key)
		}
		for _, x := range vals {
			switch x.(type) {
			case string, json.Number, bool, nil:
			default:
				p.addf(r.file, line, "detection %s: %s: values are scalars", id, key)
			}
		}
	}
}

// checkCondition checks that the condition names only search identifiers
// that exist, and that every identifier is used: a selection nobody reads
// is a rule that does not do what its author thought.
func (p *pack) checkCondition(r *rule, cond string, ids map[string]bool) {
	line := r.line("detection", "condition")
	used := map[string]bool{}
	depth := 0
	for _, w := range conditionWord.FindAllString(cond, -1) {
		switch w {
		case "and", "or", "not", "of", "all", "1":
			continue
		case "(":
			depth++
			continue
		case ")":
			depth--
			if depth < 0 {
				p.addf(r.file, line, "condition: unbalanced parentheses")
			}
			continue
		case "them":
			for id := range ids {
				if !strings.HasPrefix(id, "_") {
					used[id] = true
				}
			}
			continue
		}
		if strings.Contains(w, "*") {
			re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(w), `\*`, ".*") + "$")
			n := 0
			for id := range ids {
				if re.MatchString(id) {
					used[id] = true
					n++
				}
			}
			if n == 0 {
				p.addf(r.file, line, "condition: pattern %q matches no search identifier", w)
			}
			continue
		}
		if !ids[w] {
			p.addf(r.file, line, "condition: %q is no search identifier of this rule", w)
			continue
		}
		used[w] = true
	}
	if depth > 0 {
		p.addf(r.file, line, "condition: unbalanced parentheses")
	}
	for id := range ids {
		if !used[id] {
			p.addf(r.file, r.line("detection", id), "detection %s: not used by the condition", id)
		}
	}
}

// checkCustom checks the custom attributes auditfwd's engine honours. Any
// other key under custom.auditfwd is a typo the engine would refuse.
func (p *pack) checkCustom(r *rule) {
	c, ok := r.val["custom"]
	if !ok {
		return
	}
	line := r.line("custom")
	cm, _ := c.(map[string]any)
	for k := range cm {
		if k != "auditfwd" {
			p.addf(r.file, line, "custom.%s: only custom.auditfwd is used in this pack", k)
		}
	}
	a, _ := cm["auditfwd"].(map[string]any)
	if len(a) == 0 {
		p.addf(r.file, line, "custom.auditfwd: empty")
	}
	for k, v := range a {
		switch k {
		case "new_value":
			nv, _ := v.(map[string]any)
			for kk := range nv {
				if kk != "field" && kk != "group-by" && kk != "learn" && kk != "history" {
					p.addf(r.file, line, "custom.auditfwd.new_value.%s: unknown (field, group-by, learn, history)", kk)
				}
			}
			f, _ := nv["field"].(string)
			p.useField(r, line, "custom.auditfwd.new_value.field", f)
			gb, _ := nv["group-by"].([]any)
			if len(gb) == 0 {
				p.addf(r.file, line, "custom.auditfwd.new_value.group-by: a non-empty list")
			}
			for _, g := range gb {
				s, _ := g.(string)
				p.useField(r, line, "custom.auditfwd.new_value.group-by", s)
			}
			if l, _ := nv["learn"].(string); !duration.MatchString(l) {
				p.addf(r.file, line, "custom.auditfwd.new_value.learn: %q is not a duration like 14d", l)
			}
			if h, ok := nv["history"]; ok {
				if hs, _ := h.(string); !duration.MatchString(hs) {
					p.addf(r.file, line, "custom.auditfwd.new_value.history: %v is not a duration like 90d", h)
				}
			}
		case "outside_business_hours":
			if v != true {
				p.addf(r.file, line, "custom.auditfwd.outside_business_hours: true or absent")
			}
		default:
			p.addf(r.file, line, "custom.auditfwd.%s: unknown engine option (new_value, outside_business_hours)", k)
		}
	}
}

func (p *pack) checkCorrelation(r *rule) {
	for _, k := range []string{"logsource", "detection", "custom"} {
		if _, ok := r.val[k]; ok {
			p.addf(r.file, r.line(k), "a correlation rule has no %s", k)
		}
	}
	c, _ := r.val["correlation"].(map[string]any)
	typ, _ := c["type"].(string)
	if !correlationTypes[typ] {
		p.addf(r.file, r.line("correlation", "type"), "correlation type %q is none of %s", typ, strings.Join(keys(correlationTypes), ", "))
	}
	refs, _ := c["rules"].([]any)
	if len(refs) == 0 {
		p.addf(r.file, r.line("correlation", "rules"), "correlation rules: a non-empty list")
	}
	if typ == "temporal_ordered" || typ == "temporal" {
		if len(refs) < 2 {
			p.addf(r.file, r.line("correlation", "rules"), "a %s correlation needs two or more rules", typ)
		}
	}
	if _, ok := c["aliases"]; ok {
		p.addf(r.file, r.line("correlation", "aliases"), "aliases are not used in this pack (every rule reads the same ECS fields)")
	}
	gb, _ := c["group-by"].([]any)
	if len(gb) == 0 {
		p.addf(r.file, r.line("correlation"), "correlation group-by: a non-empty list")
	}
	for _, g := range gb {
		s, _ := g.(string)
		p.useField(r, r.line("correlation", "group-by"), "correlation group-by", s)
	}
	if ts, _ := c["timespan"].(string); !duration.MatchString(ts) {
		p.addf(r.file, r.line("correlation", "timespan"), "timespan %q: a number and one of s, m, h, d", ts)
	}
	cond, hasCond := c["condition"].(map[string]any)
	if typ == "event_count" || typ == "value_count" {
		if !hasCond {
			p.addf(r.file, r.line("correlation"), "an %s correlation needs a condition", typ)
		}
		ops := 0
		for k, v := range cond {
			switch {
			case k == "field":
			case countOps[k]:
				ops++
				n, ok := v.(json.Number)
				if _, err := n.Int64(); !ok || err != nil {
					p.addf(r.file, r.line("correlation", "condition"), "condition %s: an integer", k)
				}
			default:
				p.addf(r.file, r.line("correlation", "condition"), "condition %q: none of gt, gte, lt, lte, eq, field", k)
			}
		}
		if hasCond && ops == 0 {
			p.addf(r.file, r.line("correlation", "condition"), "condition: no comparison (gt, gte, lt, lte, eq)")
		}
	}
	f, hasField := cond["field"].(string)
	switch {
	case typ == "value_count" && !hasField:
		p.addf(r.file, r.line("correlation", "condition"), "a value_count correlation needs condition.field")
	case typ == "value_count":
		p.useField(r, r.line("correlation", "condition"), "condition.field", f)
		if top, ok := c["field"]; ok && top != f {
			p.addf(r.file, r.line("correlation", "field"), "correlation.field %v differs from condition.field %q", top, f)
		}
	case hasField:
		p.addf(r.file, r.line("correlation", "condition"), "condition.field is for value_count only")
	}
}

func (p *pack) useField(r *rule, line int, where, field string) {
	if !emittedFields[field] {
		p.addf(r.file, line, "%s: field %q is not one auditfwd emits (see docs/ecs.md)", where, field)
		return
	}
	p.fields[field] = true
	k := kindOf(r.file)
	if p.byKind[k] == nil {
		p.byKind[k] = map[string]bool{}
	}
	p.byKind[k][field] = true
}

// checkCrossFile checks ids and names are unique and every correlation
// refers to rules of the pack.
func (p *pack) checkCrossFile() {
	byID := map[string]*rule{}
	byName := map[string]*rule{}
	for _, r := range p.rules {
		if id, _ := r.val["id"].(string); id != "" {
			if o := byID[id]; o != nil {
				p.addf(r.file, r.line("id"), "id %s is also the id of %s", id, o.file)
			}
			byID[id] = r
		}
		if n, _ := r.val["name"].(string); n != "" {
			if o := byName[n]; o != nil {
				p.addf(r.file, r.line("name"), "name %s is also the name of %s", n, o.file)
			}
			byName[n] = r
		}
	}
	for _, r := range p.rules {
		if !r.correlation() {
			continue
		}
		c, _ := r.val["correlation"].(map[string]any)
		refs, _ := c["rules"].([]any)
		for _, ref := range refs {
			s, _ := ref.(string)
			t := byID[s]
			if t == nil {
				t = byName[s]
			}
			switch {
			case t == nil:
				p.addf(r.file, r.line("correlation", "rules"), "correlation refers to %q: no rule of the pack has that id or name", s)
			case t == r:
				p.addf(r.file, r.line("correlation", "rules"), "correlation refers to itself")
			case kindOf(t.file) != kindOf(r.file):
				// Its group-by and field are read from the other logsource's
				// events; and the pipelines add one logsource's condition.
				p.addf(r.file, r.line("correlation", "rules"), "correlation refers to %q of %s, a rule of the %s logsource: a correlation counts rules of its own directory", s, t.file, kindOf(t.file).name)
			}
		}
	}
}

// toJSON converts a YAML node to the values encoding/json produces, keeping
// plain scalars as YAML typed them, except timestamps: Sigma's date is the
// string YYYY-MM-DD, and a YAML timestamp would otherwise become a time.
// Duplicate keys are an error: YAML decoders disagree on which one wins.
func toJSON(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return toJSON(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toJSON(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: keys are plain strings (no merge keys)", k.Line)
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := toJSON(vn)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return b, nil
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), nil
		default: // !!str, !!timestamp, !!binary: their text
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// mapEntry finds key in the mapping m: its key node and value node.
func mapEntry(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
