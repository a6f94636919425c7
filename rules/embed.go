// Package rules is auditfwd's Sigma rule pack for WSS audit events, as
// content: the YAML rules under wss_audit/, their README, the pySigma
// pipelines that convert them for a SIEM, and the Sigma JSON schemas they are
// checked against (rules_test.go). Nothing here evaluates a rule; the
// detection engine (internal/detect) does.
//
// FS embeds the rules so that the agent ships the pack inside its binary:
// a deployment with no rules directory still has every detection, at the
// version that was tested with the binary.
package rules

import "embed"

// FS holds the pack's rule files, at wss_audit/<file>.yml.
//
//go:embed wss_audit/*.yml
var FS embed.FS

// Dir is the directory of FS that holds the rules.
const Dir = "wss_audit"
