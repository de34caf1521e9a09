#!/usr/bin/env bash
# The whole test suite. Run deploy/setup.sh first (the README's test command
# does both). Static checks, the race detector on packages with concurrency,
# then every package's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2, supports Go 1.26
GOBIN_DIR="$(go env GOPATH)/bin"
if ! "$GOBIN_DIR/staticcheck" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
  step "installing staticcheck $STATICCHECK_VERSION"
  GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted"; exit 1; }

step "go vet"
go vet ./...

step "staticcheck"
"$GOBIN_DIR/staticcheck" ./...

step "go test -race (core packages with concurrency)"
# Packages with concurrency run under the race detector; the rest, and the
# tests that skip themselves under it (the pipeline leak test and the
# denoiser's SI-SDR measurement, both too slow with -race), run once
# without it; no other package runs twice.
RACE_PKGS=(./pipeline/... ./analyzers/... ./internal/... ./models/ ./qc/ ./mixer/ ./watermark/
  ./signaling/... ./console/... ./markers/... ./enhance/...)
go test -race -count=1 -timeout 15m "${RACE_PKGS[@]}"

step "go test (the other packages, and the tests skipped under -race)"
mapfile -t rest < <(comm -23 <(go list ./... | sort) <(go list "${RACE_PKGS[@]}" | sort))
go test -count=1 -timeout 20m "${rest[@]}" ./pipeline/gst/ ./enhance/audio/
