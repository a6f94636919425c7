package config

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Builtin names the rule pack embedded in the binary in detections.rules.
const Builtin = "builtin"

// Detections configures the in-agent detection engine. Absent from the
// file, it is off: alerts are new documents in every output, and an
// operator who upgrades must ask for them.
type Detections struct {
	// Enabled defaults to true once the section is present.
	Enabled *bool `yaml:"enabled"`
	// Rules are directories of Sigma rules (read recursively, *.yml and
	// *.yaml) and the word "builtin" for the shipped pack. Default
	// [builtin].
	Rules []string `yaml:"rules"`
	// Outputs receive the alerts; default all.
	Outputs []string `yaml:"outputs"`
	// MaxLateness: how far behind the newest event an event may arrive
	// and still correlate fully; default 15m.
	MaxLateness   Duration      `yaml:"max_lateness"`
	BusinessHours BusinessHours `yaml:"business_hours"`
	// Overrides per rule, keyed by rule id or file name without .yml.
	Overrides map[string]RuleOverride `yaml:"overrides"`
}

// BusinessHours are the deployment's working hours, for rules marked
// custom.auditfwd.outside_business_hours.
type BusinessHours struct {
	Timezone string   `yaml:"timezone"` // IANA name, default UTC
	Days     []string `yaml:"days"`     // mon..sun and ranges mon-fri; default [mon-fri]
	Hours    string   `yaml:"hours"`    // "08:00-18:00" (default); may cross midnight
}

// RuleOverride turns one rule off or changes its level.
type RuleOverride struct {
	Disabled bool   `yaml:"disabled"`
	Level    string `yaml:"level"`
}

// On reports whether detections run.
func (d *Detections) On() bool { return d != nil && (d.Enabled == nil || *d.Enabled) }

// sigmaLevels are the levels a Sigma rule may have.
var sigmaLevels = []string{"informational", "low", "medium", "high", "critical"}

func (d *Detections) setDefaults() {
	if len(d.Rules) == 0 {
		d.Rules = []string{Builtin}
	}
	defD(&d.MaxLateness, 15*time.Minute)
	def(&d.BusinessHours.Timezone, "UTC")
	if len(d.BusinessHours.Days) == 0 {
		d.BusinessHours.Days = []string{"mon-fri"}
	}
	def(&d.BusinessHours.Hours, "08:00-18:00")
}

// validate checks what needs no rule loaded; the rules themselves (and
// which ids overrides may name, and the business hours' syntax) are
// checked where they are compiled, by package detect.
func (d *Detections) validate(c *Config, add func(path, format string, a ...any)) {
	for i, r := range d.Rules {
		if strings.TrimSpace(r) == "" {
			add(fmt.Sprintf("detections.rules[%d]", i), "is empty: a directory of Sigma rules, or %q for the shipped pack", Builtin)
		}
	}
	for i, name := range d.Outputs {
		if !hasOutputNamed(c, name) {
			add(fmt.Sprintf("detections.outputs[%d]", i), "no output is named %q (outputs: %s)", name, strings.Join(outputNames(c), ", "))
		}
	}
	if d.MaxLateness.D() < 0 {
		add("detections.max_lateness", "must not be negative")
	}
	keys := make([]string, 0, len(d.Overrides))
	for k := range d.Overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if l := d.Overrides[k].Level; l != "" && !oneOf(l, sigmaLevels...) {
			add("detections.overrides."+k+".level", "must be one of %s (got %q)", strings.Join(sigmaLevels, ", "), l)
		}
	}
}

func hasOutputNamed(c *Config, name string) bool {
	for _, o := range c.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

func outputNames(c *Config) []string {
	var n []string
	for _, o := range c.Outputs {
		n = append(n, o.Name)
	}
	return n
}
