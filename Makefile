.PHONY: test test-short demo build install bench bench-e2e fuzz

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

build:
	go build -ldflags "-X main.version=$(VERSION)" -o bin/auditfwd ./cmd/auditfwd

install:
	go install -ldflags "-X main.version=$(VERSION)" ./cmd/auditfwd

# The whole suite, with the real peers it needs (see scripts/test.sh).
test:
	./scripts/test.sh

# Unit tests only, no peers.
test-short:
	go test -short ./...

demo:
	go run ./cmd/auditfwd demo

bench:
	go test -run='^$$' -bench=. -benchmem ./...

# End to end: the real binary, run --once over one simulated day of
# RECORDS records, first pass and re-poll (see README, Performance).
RECORDS ?= 200000
bench-e2e: build
	bin/auditfwd bench --records $(RECORDS)

fuzz:
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=60s ./internal/event/
	go test -run='^$$' -fuzz=FuzzParseTime -fuzztime=60s ./internal/event/
	go test -run='^$$' -fuzz=FuzzCanonicalText -fuzztime=60s ./internal/event/
	go test -run='^$$' -fuzz=FuzzDecode -fuzztime=60s ./internal/source/wss/
	go test -run='^$$' -fuzz=FuzzLookup -fuzztime=60s ./outputs/kafka/
	go test -run='^$$' -fuzz=FuzzCEF -fuzztime=60s ./outputs/syslog/
	go test -run='^$$' -fuzz=FuzzLEEF -fuzztime=60s ./outputs/syslog/
	go test -run='^$$' -fuzz=Fuzz5424 -fuzztime=60s ./outputs/syslog/
	go test -run='^$$' -fuzz=FuzzTruncateJSON -fuzztime=60s ./outputs/syslog/
	go test -run='^$$' -fuzz=FuzzDecodeMatchesStdlib -fuzztime=60s ./internal/event/
	go test -run='^$$' -fuzz=FuzzCondition -fuzztime=60s ./internal/detect/
	go test -run='^$$' -fuzz=FuzzRule -fuzztime=60s ./internal/detect/
	go test -run='^$$' -fuzz=FuzzScan -fuzztime=60s ./internal/detect/
