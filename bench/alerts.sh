#!/usr/bin/env bash
# bench/alerts.sh: end-to-end live alert latency through the SFU.
#
# Runs TestLiveAnalysisAlerts (signaling) RUNS times: a pion customer
# publishes a VP8 clip made from a real photograph in which she leaves the
# frame three times; the server decodes it, runs the face/light/occlusion
# profile (600 ms debounce) and pushes alerts to a pion agent over the
# WebSocket. Each alert (an episode's start and its end) gives one sample:
# from the wall time the customer's client sent the first frame showing the
# condition to the alert's arrival at the agent. Prints p50/p95/max raw and
# net of the debounce, against the 300 ms target (net).
#
# Usage (from anywhere in the repo): bench/alerts.sh   Environment: RUNS (3).
set -euo pipefail

RUNS=${RUNS:-3}
TARGET_MS=300
DEBOUNCE_MS=600

die() { echo "alerts.sh: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "go not found in PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[[ -f go.mod && -d signaling ]] || die "cannot find the repository root from $0"

samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
echo "live alerts through the SFU: $RUNS run(s) of about 15 s..."
WITNESS_ALERT_SAMPLES=$samples go test -count="$RUNS" -run '^TestLiveAnalysisAlerts$' ./signaling/ >/dev/null 2>&1 ||
	die "test failed: go test -count=1 -v -run TestLiveAnalysisAlerts ./signaling/"
n=$(wc -l <"$samples")
[[ $n -gt 0 ]] || die "no samples"
stat() { # column percentile
	sort -n -k"$1","$1" "$samples" | awk -v c="$1" -v p="$2" '{ v[NR] = $c } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'
}
printf '  %d alerts   raw (incl. %d ms debounce): p50 %s ms  p95 %s ms  max %s ms\n' "$n" "$DEBOUNCE_MS" "$(stat 1 50)" "$(stat 1 95)" "$(stat 1 100)"
p95=$(stat 2 95)
printf '  net of the debounce:                 p50 %s ms  p95 %s ms  max %s ms   (%s x the %d ms target)\n' \
	"$(stat 2 50)" "$p95" "$(stat 2 100)" "$(awk -v a="$p95" -v b="$TARGET_MS" 'BEGIN { printf "%.2f", a / b }')" "$TARGET_MS"
