#!/usr/bin/env bash
# Builds VictoriaLogs, the real Elasticsearch-bulk-API peer of the
# elasticsearch output's integration test, into bin/victoria-logs.
#
# It comes from its own module (tools/victorialogs), so its dependencies stay
# out of auditfwd's go.mod. The build is skipped when bin/victoria-logs is
# already newer than tools/victorialogs/go.mod and go.sum. The test starts
# and stops the server itself (random 127.0.0.1 port, temporary data dir);
# set AUDITFWD_VICTORIALOGS_BIN to use a binary from elsewhere.
#
# Usage: scripts/peers/victorialogs.sh   (prints the binary's path)
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=bin/victoria-logs
mod=tools/victorialogs
if [ -x "$bin" ] && [ "$bin" -nt "$mod/go.mod" ] && [ "$bin" -nt "$mod/go.sum" ]; then
  echo "$PWD/$bin"
  exit 0
fi
mkdir -p bin
echo "== building VictoriaLogs ($mod) into $bin" >&2
(cd "$mod" && go build -o ../../"$bin" github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs)
echo "$PWD/$bin"
