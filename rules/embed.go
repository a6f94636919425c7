// Package rules is auditfwd's Sigma rule pack, as content: the YAML rules
// for WSS audit events under wss_audit/ and for WSS access (proxy) events
// under wss_access/, their README, the pySigma pipelines that convert them
// for a SIEM, and the Sigma JSON schemas they are checked against
// (rules_test.go). Nothing here evaluates a rule; the detection engine
// (internal/detect) does.
//
// FS embeds the rules so that the agent ships the pack inside its binary:
// a deployment with no rules directory still has every detection, at the
// version that was tested with the binary.
package rules

import "embed"

// FS holds the pack's rule files, at <one of Dirs>/<file>.yml.
//
//go:embed wss_audit/*.yml wss_access/*.yml
var FS embed.FS

// Dir is the directory of FS to load the pack from: its root, so that
// loading it (detect.LoadFS(FS, Dir)) reads every directory of Dirs and
// names each rule by its path (wss_audit/..., wss_access/...).
const Dir = "."

// Dirs are the pack's rule directories, one per logsource: wss_audit for
// {product: broadcom_wss, service: audit}, wss_access for {category: proxy,
// product: broadcom_wss}.
var Dirs = []string{"wss_audit", "wss_access"}
