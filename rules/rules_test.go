package rules

import (
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPack validates every rule of the pack: against the Sigma JSON
// schemas, and against what the schemas cannot say (check_test.go): unique
// UUID v4 ids, file names, the exact logsource, ATT&CK tags, levels, fields
// auditfwd really emits, modifiers auditfwd's engine supports, conditions
// that name existing selections, correlations that refer to rules of the
// pack, and the custom attributes auditfwd's engine honours.
func TestPack(t *testing.T) {
	sch := mustSchemas(t)
	p := checkPack(os.DirFS("."), sch)
	for _, pr := range p.problems {
		t.Error(pr)
	}
	if len(p.rules) < 15 {
		t.Errorf("%d rules; the pack promises at least 15", len(p.rules))
	}
	// The correlation types issue 16 asks the pack to exercise.
	types := map[string]int{}
	for _, r := range p.rules {
		if c, ok := r.val["correlation"].(map[string]any); ok {
			typ, _ := c["type"].(string)
			types[typ]++
		}
	}
	for _, want := range []string{"event_count", "value_count", "temporal_ordered"} {
		if types[want] == 0 {
			t.Errorf("no %s correlation in the pack", want)
		}
	}
}

// TestBrokenRulesAreRefused proves the checker fails: each directory under
// testdata/broken is a small pack broken in exactly one way, and every
// problem reported for it must be that one.
func TestBrokenRulesAreRefused(t *testing.T) {
	sch := mustSchemas(t)
	cases := []struct {
		dir  string
		want string
	}{
		{"schema_date", "invalid against the Sigma detection schema"},
		{"schema_correlation", "invalid against the Sigma correlation schema"},
		{"duplicate_id", "is also the id of"},
		{"bad_uuid", "is not a lower-case UUID v4"},
		{"bad_logsource", "logsource must be exactly"},
		{"bad_tag", "tag \"mitre.t1110\""},
		{"bad_filename", "file name"},
		{"unknown_field", "field \"user.nmae\" is not one auditfwd emits"},
		{"unsupported_modifier", "modifier \"base64\""},
		{"condition_typo", "\"selectoin\" is no search identifier"},
		{"dangling_reference", "no rule of the pack has that id or name"},
		{"value_count_fields_differ", "differs from condition.field"},
		{"two_documents", "2 YAML documents"},
		{"duplicate_key", "duplicate key"},
		{"unknown_custom", "unknown engine option"},
		{"no_vocabulary", "\"Vocabulary:\" paragraph"},
		{"proxy_bad_logsource", "logsource must be exactly {category: proxy, product: broadcom_wss}"},
		{"cross_logsource_correlation", "a correlation counts rules of its own directory"},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			fsys := os.DirFS(path.Join("testdata", "broken", tc.dir))
			if _, err := fs.Stat(fsys, "."); err != nil {
				t.Fatal(err)
			}
			p := checkPack(fsys, sch)
			if len(p.problems) == 0 {
				t.Fatalf("no problem found; want one containing %q", tc.want)
			}
			for _, pr := range p.problems {
				t.Log(pr)
				if !strings.Contains(pr.String(), tc.want) {
					t.Errorf("problem %q; want only problems containing %q (is the case broken in more than one way?)", pr, tc.want)
				}
			}
		})
	}
}

// TestPipelinesMapEveryField keeps the two pySigma pipelines in step with
// the rules: a field a rule reads but a pipeline does not map would convert
// to a query on a field the SIEM does not have. A mapping applies to a
// rule's logsource when it has no logsource condition or one naming that
// logsource (the audit and proxy fields map to different CIM data models:
// event.outcome is an Authentication status, not a Web one), and each
// logsource gets its own condition added (event.dataset or sourcetype), so
// that a converted proxy rule does not search the audit events. The ECS
// pipeline maps each field to itself; both refuse exactly the rules that
// need auditfwd's engine.
func TestPipelinesMapEveryField(t *testing.T) {
	p := checkPack(os.DirFS("."), mustSchemas(t))
	var engineOnly []string
	for _, r := range p.rules {
		if _, ok := r.val["custom"]; ok {
			engineOnly = append(engineOnly, r.val["id"].(string))
		}
	}
	sort.Strings(engineOnly)
	if len(p.byKind[auditKind]) == 0 || len(p.byKind[proxyKind]) == 0 {
		t.Fatalf("fields by logsource: %v", p.byKind)
	}
	type cond struct {
		Type      string `yaml:"type"`
		Attribute string `yaml:"attribute"`
		Value     string `yaml:"value"`
		Category  string `yaml:"category"`
		Product   string `yaml:"product"`
		Service   string `yaml:"service"`
	}
	// applies: the transformation's logsource conditions select k (none: all).
	applies := func(conds []cond, k *kind) bool {
		any := false
		for _, c := range conds {
			if c.Type != "logsource" {
				continue
			}
			any = true
			if c.Category == k.logsource["category"] && c.Product == k.logsource["product"] && c.Service == k.logsource["service"] {
				return true
			}
		}
		return !any
	}
	for _, file := range []string{"pipelines/auditfwd-ecs.yml", "pipelines/auditfwd-splunk-cim.yml"} {
		t.Run(path.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var pl struct {
				Name            string `yaml:"name"`
				Transformations []struct {
					ID         string            `yaml:"id"`
					Type       string            `yaml:"type"`
					Mapping    map[string]string `yaml:"mapping"`
					Conditions map[string]string `yaml:"conditions"`
					Conds      []cond            `yaml:"rule_conditions"`
				} `yaml:"transformations"`
			}
			if err := yaml.Unmarshal(b, &pl); err != nil {
				t.Fatal(err)
			}
			var refused []string
			for _, k := range []*kind{auditKind, proxyKind} {
				mapping := map[string]string{}
				added := 0
				for _, tr := range pl.Transformations {
					switch {
					case tr.Type == "rule_failure" && k == auditKind:
						for _, c := range tr.Conds {
							if c.Type == "rule_attribute" && c.Attribute == "id" {
								refused = append(refused, c.Value)
							}
						}
					case !applies(tr.Conds, k):
					case tr.Type == "field_name_mapping":
						for f, to := range tr.Mapping {
							if prev, dup := mapping[f]; dup {
								t.Errorf("%s logsource: %s is mapped twice (%s, %s): the first mapping renames it, the second never sees it", k.name, f, prev, to)
							}
							mapping[f] = to
						}
					case tr.Type == "add_condition" && len(tr.Conds) > 0:
						added++
					}
				}
				for f := range p.byKind[k] {
					to, ok := mapping[f]
					switch {
					case !ok:
						t.Errorf("field %s is read by a %s rule but not mapped for its logsource", f, k.name)
					case strings.HasSuffix(file, "-ecs.yml") && to != f:
						t.Errorf("ECS pipeline maps %s to %s; the fields already are ECS", f, to)
					}
				}
				if added != 1 {
					t.Errorf("%d conditions added for the %s logsource %s; want one (its dataset or sourcetype)", added, k.name, k.logsourceString())
				}
			}
			sort.Strings(refused)
			if strings.Join(refused, ",") != strings.Join(engineOnly, ",") {
				t.Errorf("pipeline refuses rules %v; the rules with custom.auditfwd are %v", refused, engineOnly)
			}
		})
	}
}

// TestEmbedHoldsEveryRule: the binary ships what the directories hold,
// and loading FS at Dir reads every one of them (a directory added on disk
// but not to the embed pattern, or to Dirs, fails here).
func TestEmbedHoldsEveryRule(t *testing.T) {
	var onDisk, embedded []string
	for _, d := range Dirs {
		got, err := fs.Glob(os.DirFS("."), d+"/*")
		if err != nil {
			t.Fatal(err)
		}
		onDisk = append(onDisk, got...)
		if got, err = fs.Glob(FS, d+"/*"); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Errorf("nothing embedded from %s", d)
		}
		embedded = append(embedded, got...)
	}
	if strings.Join(onDisk, "\n") != strings.Join(embedded, "\n") {
		t.Errorf("embedded %v; on disk %v", embedded, onDisk)
	}
	// Every rule directory on disk is one of Dirs.
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch {
		case !e.IsDir(), e.Name() == "schema", e.Name() == "pipelines", e.Name() == "testdata":
			continue
		}
		found := false
		for _, d := range Dirs {
			found = found || d == e.Name()
		}
		if !found {
			t.Errorf("directory %s holds rules but is not in Dirs (nor embedded)", e.Name())
		}
	}
	// What loading at Dir walks is exactly the embedded rule files.
	var walked []string
	err = fs.WalkDir(FS, Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			walked = append(walked, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(walked)
	sort.Strings(embedded)
	if strings.Join(walked, "\n") != strings.Join(embedded, "\n") {
		t.Errorf("walking FS at %q reads %v; embedded %v", Dir, walked, embedded)
	}
}

func mustSchemas(t *testing.T) *schemas {
	t.Helper()
	sch, err := loadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	return sch
}
