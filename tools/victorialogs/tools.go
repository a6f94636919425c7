//go:build tools

// Package tools pins the VictoriaLogs server that the Elasticsearch output's
// integration test runs as a real bulk-API peer. It lives in its own module so
// that VictoriaLogs' dependencies never enter auditfwd's go.mod; build it with
// scripts/peers/victorialogs.sh.
package tools

import (
	_ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
)
