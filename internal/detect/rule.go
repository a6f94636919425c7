package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rule is one Sigma rule (a detection or a correlation) as loaded, with
// where it came from.
type Rule struct {
	File string // as given to ParseFile
	Line int    // of the YAML document

	Title          string
	ID             string
	Name           string
	Status         string
	Description    string
	Author         string
	Date           string
	Modified       string
	References     []string
	Tags           []string
	Falsepositives []string
	Level          string // informational, low, medium, high, critical; "" if not given
	Logsource      Logsource
	Generate       bool // correlation: the rules it references still alert on their own

	// Custom is the rule's `custom:` map as decoded; Extra holds any other
	// attribute the specification does not define, by name. The engine
	// acts on neither, except on custom.auditfwd, whose engine options
	// are checked at load and parsed into NewValue and
	// OutsideBusinessHours.
	Custom map[string]any
	Extra  map[string]any

	// NewValue is custom.auditfwd.new_value, nil when absent.
	NewValue *NewValue
	// OutsideBusinessHours is custom.auditfwd.outside_business_hours:
	// the rule fires only outside Options.BusinessHours.
	OutsideBusinessHours bool
	optLine              int // of custom.auditfwd

	Correlation *Correlation // nil for a detection rule

	detection *yaml.Node // the detection map, compiled by New
	detLine   int        // of the detection key
}

// Logsource is a rule's logsource.
type Logsource struct {
	Category, Product, Service, Definition string
}

// Correlation is a correlation rule's `correlation:` section.
type Correlation struct {
	Type     string // event_count, value_count, temporal, temporal_ordered
	Rules    []string
	GroupBy  []string
	Timespan time.Duration
	// Threshold is the count that fires: events (event_count), distinct
	// values of Field (value_count), distinct referenced rules (temporal,
	// all of them unless the condition says fewer), the whole ordered
	// sequence (temporal_ordered).
	Threshold int
	Field     string // value_count

	ruleLines []int // line of each entry of Rules
	line      int
}

// Option returns custom.auditfwd.<name>, the home of the rule pack's
// engine options (new_value, outside_business_hours ...).
func (r *Rule) Option(name string) (any, bool) {
	m, ok := r.Custom["auditfwd"].(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// LoadError is a rule refused at load: its file and line, and why.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

func loadErr(file string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &LoadError{File: file, Line: le.line, Msg: le.msg}
	}
	var ye *yaml.TypeError
	if errors.As(err, &ye) {
		return &LoadError{File: file, Msg: strings.Join(ye.Errors, "; ")}
	}
	msg := err.Error()
	// yaml syntax errors read "yaml: line N: ..."; keep the line as ours.
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &LoadError{File: file, Line: n, Msg: "YAML: " + m[2]}
	}
	return &LoadError{File: file, Msg: msg}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ParseFile parses every YAML document of a rule file. Each rule is
// checked as far as it can be alone (its detection compiles, its
// correlation is well formed); references between rules are checked by
// New. Every problem is returned, each as a *LoadError, joined.
func ParseFile(file string, data []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var rules []*Rule
	var errs []error
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, loadErr(file, err))
			break // the decoder cannot resynchronise after a syntax error
		}
		if len(doc.Content) == 0 {
			continue
		}
		r, err := parseRule(file, doc.Content[0])
		if err != nil {
			errs = append(errs, loadErr(file, err))
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

// LoadFS parses every *.yml and *.yaml file under root in fsys (in name
// order, so loading is deterministic).
func LoadFS(fsys fs.FS, root string) ([]*Rule, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := path.Ext(p); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var rules []*Rule
	var errs []error
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, &LoadError{File: f, Msg: err.Error()})
			continue
		}
		rs, err := ParseFile(f, data)
		if err != nil {
			errs = append(errs, err)
		}
		rules = append(rules, rs...)
	}
	return rules, errors.Join(errs...)
}

var levels = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

func parseRule(file string, n *yaml.Node) (*Rule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "a rule must be a YAML map, not a %s", nodeKind(n))
	}
	r := &Rule{File: file, Line: n.Line}
	var logsource, corr *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return nil, errAt(k, "%s appears twice", k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "title":
			r.Title, err = str(k, v)
		case "id":
			r.ID, err = str(k, v)
		case "name":
			r.Name, err = str(k, v)
		case "status":
			r.Status, err = str(k, v)
		case "description":
			r.Description, err = str(k, v)
		case "author":
			r.Author, err = str(k, v)
		case "date":
			r.Date, err = str(k, v)
		case "modified":
			r.Modified, err = str(k, v)
		case "license", "taxonomy":
			_, err = str(k, v)
		case "level":
			r.Level, err = str(k, v)
			if err == nil && !levels[r.Level] {
				err = errAt(v, "level %q: must be informational, low, medium, high or critical", r.Level)
			}
		case "references":
			r.References, err = strList(k, v, false)
		case "tags":
			r.Tags, err = strList(k, v, false)
		case "falsepositives":
			r.Falsepositives, err = strList(k, v, true)
		case "fields", "scope":
			_, err = strList(k, v, false)
		case "related":
			if v.Kind != yaml.SequenceNode {
				err = errAt(v, "related must be a list")
			}
		case "logsource":
			logsource = v
		case "detection":
			r.detection, r.detLine = v, k.Line
		case "correlation":
			corr = v
		case "generate":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
				err = errAt(v, "generate must be true or false")
			} else {
				r.Generate = v.Value == "true"
			}
		case "custom":
			// The engine options first: their errors have the lines.
			if err = parseEngineOptions(r, v); err == nil {
				var m map[string]any
				if err = v.Decode(&m); err != nil {
					err = errAt(v, "custom must be a map: %v", err)
				}
				r.Custom = m
			}
		case "action":
			err = errAt(k, "action (Sigma v1 rule collections) is not supported: write each rule in full")
		case "filter":
			err = errAt(k, "Sigma filters are not supported")
		default:
			var x any
			if err = v.Decode(&x); err == nil {
				if r.Extra == nil {
					r.Extra = map[string]any{}
				}
				r.Extra[k.Value] = x
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if r.Title == "" {
		return nil, errAt(n, "title is missing")
	}
	if r.ID == "" {
		return nil, errAt(n, "id is missing: alerts and correlation state key on it")
	}
	switch {
	case corr != nil && r.detection != nil:
		return nil, errAt(corr, "a rule has either detection or correlation, not both")
	case corr != nil && (r.NewValue != nil || r.OutsideBusinessHours):
		return nil, &lineError{line: r.optLine, msg: "custom.auditfwd engine options apply to detection rules, not correlations"}
	case corr != nil:
		c, err := parseCorrelation(corr)
		if err != nil {
			return nil, err
		}
		r.Correlation = c
	case r.detection != nil:
		if logsource == nil {
			return nil, errAt(n, "logsource is missing")
		}
		ls, err := parseLogsource(logsource)
		if err != nil {
			return nil, err
		}
		r.Logsource = ls
		// Compile once alone, so a bad detection is refused here with
		// its line; New compiles again against the engine's field set.
		if _, err := compileDetection(r.detection, r.detLine, &compiler{fs: newFieldSet()}); err != nil {
			return nil, err
		}
	default:
		return nil, errAt(n, "detection is missing")
	}
	return r, nil
}

func str(k, v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", errAt(v, "%s must be a string", k.Value)
	}
	return v.Value, nil
}

func strList(k, v *yaml.Node, scalarOK bool) ([]string, error) {
	if scalarOK && v.Kind == yaml.ScalarNode {
		return []string{v.Value}, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errAt(v, "%s must be a list of strings", k.Value)
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode {
			return nil, errAt(e, "%s must be a list of strings", k.Value)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func parseLogsource(n *yaml.Node) (Logsource, error) {
	var ls Logsource
	if n.Kind != yaml.MappingNode {
		return ls, errAt(n, "logsource must be a map")
	}
	if err := uniqueKeys(n); err != nil {
		return ls, err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		s, err := str(k, v)
		if err != nil {
			return ls, err
		}
		switch k.Value {
		case "category":
			ls.Category = s
		case "product":
			ls.Product = s
		case "service":
			ls.Service = s
		case "definition":
			ls.Definition = s
		default:
			// It picks the events a rule sees: a typo must not widen it.
			return ls, errAt(k, "unknown logsource attribute %q (category, product, service, definition)", k.Value)
		}
	}
	return ls, nil
}

// uniqueKeys refuses a key given twice in map n: yaml.v3 accepts it into
// a Node, and the last value would silently win (dropping, say, the rules
// a first `rules:` named).
func uniqueKeys(n *yaml.Node) error {
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			return errAt(k, "%s appears twice", k.Value)
		}
		seen[k.Value] = true
	}
	return nil
}

// compileDetection compiles a detection map into one test.
func compileDetection(n *yaml.Node, line int, c *compiler) (test, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "detection must be a map")
	}
	var names []string
	tests := map[string]test{}
	var condNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, errAt(k, "a search identifier name must be a plain string, not a %s", nodeKind(k))
		}
		switch k.Value {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			return nil, errAt(k, "timeframe (Sigma v1 aggregation) is not supported: write a correlation rule")
		}
		if _, dup := tests[k.Value]; dup {
			return nil, errAt(k, "search identifier %q appears twice", k.Value)
		}
		if strings.ContainsAny(k.Value, " \t()|") || isKeyword(k.Value) {
			return nil, errAt(k, "%q cannot be a search identifier name", k.Value)
		}
		t, err := c.searchIdent(v)
		if err != nil {
			return nil, err
		}
		names = append(names, k.Value)
		tests[k.Value] = t
	}
	if condNode == nil {
		return nil, &lineError{line: line, msg: "detection has no condition"}
	}
	var conds []*yaml.Node
	switch condNode.Kind {
	case yaml.ScalarNode:
		conds = []*yaml.Node{condNode}
	case yaml.SequenceNode:
		conds = condNode.Content // a list of conditions: any of them
	default:
		return nil, errAt(condNode, "condition must be a string or a list of strings")
	}
	if len(conds) == 0 {
		return nil, errAt(condNode, "condition is empty")
	}
	var ts []test
	for _, cn := range conds {
		if cn.Kind != yaml.ScalarNode {
			return nil, errAt(cn, "condition must be a string")
		}
		ast, err := parseCondition(cn.Value)
		if err != nil {
			return nil, errAt(cn, "condition: %v", err)
		}
		t, err := compileCondition(ast, names, tests)
		if err != nil {
			return nil, errAt(cn, "condition: %v", err)
		}
		ts = append(ts, t)
	}
	return anyOf(ts), nil
}

var timespanRE = regexp.MustCompile(`^([0-9]{1,9})([smhd])$`)

func parseTimespan(s string) (time.Duration, error) {
	m := timespanRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("timespan %q: must be a number and s, m, h or d (e.g. 10m)", s)
	}
	n, _ := strconv.Atoi(m[1])
	if n == 0 {
		return 0, fmt.Errorf("timespan %q must be more than zero", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	// Nine digits of days overflow a Duration (about 292 years) into a
	// negative or wrapped span, which would silently change the rule.
	if time.Duration(n) > math.MaxInt64/unit {
		return 0, fmt.Errorf("timespan %q is too long (at most about 106000d)", s)
	}
	return time.Duration(n) * unit, nil
}

func parseCorrelation(n *yaml.Node) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "correlation must be a map")
	}
	if err := uniqueKeys(n); err != nil {
		return nil, err
	}
	c := &Correlation{line: n.Line}
	var cond, typeNode, spanNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "type":
			typeNode = v
			c.Type, err = str(k, v)
		case "rules":
			c.Rules, err = strList(k, v, false)
			for _, e := range v.Content {
				c.ruleLines = append(c.ruleLines, e.Line)
			}
		case "group-by":
			c.GroupBy, err = strList(k, v, false)
		case "timespan":
			spanNode = v
			var s string
			if s, err = str(k, v); err == nil {
				if c.Timespan, err = parseTimespan(s); err != nil {
					err = errAt(v, "%v", err)
				}
			}
		case "condition":
			cond = v
		case "field":
			c.Field, err = str(k, v)
		case "aliases":
			err = errAt(k, "correlation aliases are not supported")
		case "generate":
			err = errAt(k, "generate belongs at the top level of the rule, not in correlation")
		default:
			err = errAt(k, "unknown correlation attribute %q", k.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case typeNode == nil:
		return nil, errAt(n, "correlation type is missing")
	case len(c.Rules) == 0:
		return nil, errAt(n, "correlation rules are missing")
	case spanNode == nil:
		return nil, errAt(n, "correlation timespan is missing")
	}
	seen := map[string]bool{}
	for i, r := range c.Rules {
		if seen[r] {
			return nil, &lineError{line: c.ruleLines[i], msg: fmt.Sprintf("rule %q is listed twice", r)}
		}
		seen[r] = true
	}
	switch c.Type {
	case "event_count", "value_count":
		if cond == nil {
			return nil, errAt(n, "%s needs a condition", c.Type)
		}
		if err := c.parseCondition(cond); err != nil {
			return nil, err
		}
		if c.Type == "value_count" && c.Field == "" {
			return nil, errAt(cond, "value_count needs the field whose distinct values it counts")
		}
	case "temporal":
		c.Threshold = len(c.Rules)
		if cond != nil {
			if err := c.parseCondition(cond); err != nil {
				return nil, err
			}
			if c.Threshold > len(c.Rules) {
				return nil, errAt(cond, "temporal: condition asks for %d distinct rules of %d", c.Threshold, len(c.Rules))
			}
		}
	case "temporal_ordered":
		c.Threshold = len(c.Rules)
		if cond != nil {
			// The correlation JSON schema (v2.0.1) asks every type for a
			// condition; for an ordered sequence only "all of them" means
			// anything, so that one is accepted.
			if err := c.parseCondition(cond); err != nil {
				return nil, err
			}
			if c.Threshold != len(c.Rules) {
				return nil, errAt(cond, "temporal_ordered: the whole sequence must occur (condition {gte: %d}, or none)", len(c.Rules))
			}
		}
	case "value_sum", "value_avg", "value_percentile", "value_median":
		return nil, errAt(typeNode, "correlation type %s is not supported", c.Type)
	default:
		return nil, errAt(typeNode, "unknown correlation type %q", c.Type)
	}
	if c.Field != "" && c.Type != "value_count" {
		return nil, errAt(n, "field is for value_count only")
	}
	return c, nil
}

// parseCondition reads {gte: N} or {gt: N} (and field: for value_count).
// Upper bounds (lt, lte, eq) are refused: this engine alerts as soon as a
// threshold is reached, and an upper bound can only be judged once a
// window has closed.
func (c *Correlation) parseCondition(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "a correlation condition must be a map such as {gte: 5} (expressions are not supported)")
	}
	if err := uniqueKeys(n); err != nil {
		return err
	}
	bound := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "gte", "gt":
			if bound {
				return errAt(k, "give one of gte and gt")
			}
			var x int
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&x) != nil || x < 0 || x > 1<<20 {
				return errAt(v, "%s needs a whole number from 0 to %d", k.Value, 1<<20)
			}
			if k.Value == "gt" {
				x++
			}
			c.Threshold = max(x, 1)
			bound = true
		case "lt", "lte", "eq", "neq":
			return errAt(k, "correlation condition %s is not supported: alerts fire when a lower bound (gte, gt) is reached", k.Value)
		case "field":
			if v.Kind == yaml.SequenceNode {
				return errAt(v, "value_count over several fields is not supported")
			}
			f, err := str(k, v)
			if err != nil {
				return err
			}
			if c.Field != "" && c.Field != f {
				return errAt(v, "field given twice, differently")
			}
			c.Field = f
		default:
			return errAt(k, "unknown correlation condition %q", k.Value)
		}
	}
	if !bound {
		return errAt(n, "the condition needs gte or gt")
	}
	return nil
}
