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
// to a query on a field the SIEM does not have. The ECS pipeline maps each
// field to itself; both refuse exactly the rules that need auditfwd's
// engine.
func TestPipelinesMapEveryField(t *testing.T) {
	p := checkPack(os.DirFS("."), mustSchemas(t))
	var engineOnly []string
	for _, r := range p.rules {
		if _, ok := r.val["custom"]; ok {
			engineOnly = append(engineOnly, r.val["id"].(string))
		}
	}
	sort.Strings(engineOnly)
	for _, file := range []string{"pipelines/auditfwd-ecs.yml", "pipelines/auditfwd-splunk-cim.yml"} {
		t.Run(path.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var pl struct {
				Name            string `yaml:"name"`
				Transformations []struct {
					ID      string            `yaml:"id"`
					Type    string            `yaml:"type"`
					Mapping map[string]string `yaml:"mapping"`
					Conds   []struct {
						Type      string `yaml:"type"`
						Attribute string `yaml:"attribute"`
						Value     string `yaml:"value"`
					} `yaml:"rule_conditions"`
				} `yaml:"transformations"`
			}
			if err := yaml.Unmarshal(b, &pl); err != nil {
				t.Fatal(err)
			}
			mapping := map[string]string{}
			var refused []string
			for _, tr := range pl.Transformations {
				switch tr.Type {
				case "field_name_mapping":
					for k, v := range tr.Mapping {
						mapping[k] = v
					}
				case "rule_failure":
					for _, c := range tr.Conds {
						if c.Type == "rule_attribute" && c.Attribute == "id" {
							refused = append(refused, c.Value)
						}
					}
				}
			}
			for f := range p.fields {
				to, ok := mapping[f]
				switch {
				case !ok:
					t.Errorf("field %s is read by a rule but not mapped", f)
				case strings.HasSuffix(file, "-ecs.yml") && to != f:
					t.Errorf("ECS pipeline maps %s to %s; the fields already are ECS", f, to)
				}
			}
			sort.Strings(refused)
			if strings.Join(refused, ",") != strings.Join(engineOnly, ",") {
				t.Errorf("pipeline refuses rules %v; the rules with custom.auditfwd are %v", refused, engineOnly)
			}
		})
	}
}

// TestEmbedHoldsEveryRule: the binary ships what the directory holds.
func TestEmbedHoldsEveryRule(t *testing.T) {
	onDisk, err := fs.Glob(os.DirFS("."), Dir+"/*")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := fs.Glob(FS, Dir+"/*")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(onDisk, "\n") != strings.Join(embedded, "\n") {
		t.Errorf("embedded %v; on disk %v", embedded, onDisk)
	}
	if len(embedded) == 0 {
		t.Error("nothing embedded")
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
