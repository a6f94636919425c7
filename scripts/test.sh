#!/usr/bin/env bash
# The whole test suite: installs and starts the real peers the tests need,
# then runs every test with the race detector. `make test` and .ci/run call it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go version: $(go version)"
echo "== peers (install / build what the tests need)"
for peer in scripts/peers/*.sh; do
  [ -f "$peer" ] || continue
  echo "-- $peer"
  bash "$peer"
done
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go build"
go build -o bin/auditfwd ./cmd/auditfwd
echo "== go test -race (full suite, real peers)"
# The log stays in the clone (bin/ is ignored by git): no fixed path
# outside it that two checkouts would share.
mkdir -p bin
go test -race -count=1 -timeout 40m ./... 2>&1 | tee bin/test.log
echo "== fuzz seed corpora ran as part of go test; short fuzz smoke:"
for target in "FuzzParse ./internal/event/" "FuzzParseTime ./internal/event/" "FuzzCanonicalText ./internal/event/" "FuzzDecode ./internal/source/wss/" "FuzzLookup ./outputs/kafka/" "FuzzCEF ./outputs/syslog/" "FuzzLEEF ./outputs/syslog/" "Fuzz5424 ./outputs/syslog/" "FuzzTruncateJSON ./outputs/syslog/" "FuzzDecodeMatchesStdlib ./internal/event/" "FuzzCondition ./internal/detect/" "FuzzRule ./internal/detect/" "FuzzScan ./internal/detect/" "FuzzBusinessHours ./internal/detect/" "FuzzTrailer ./internal/source/wssaccess/" "FuzzELFFLine ./internal/source/wssaccess/" "FuzzArchive ./internal/source/wssaccess/ 300"; do
  set -- $target
  # A count, not a duration: with a duration the fuzz engine's deadline
  # also covers gathering the corpus's baseline coverage, and on a slow
  # machine a large corpus ends in "context deadline exceeded".
  go test -run='^$' -fuzz="^$1\$" -fuzztime="${3:-20000}x" "$2"
done
