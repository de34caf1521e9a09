#!/usr/bin/env bash
# bench/analyze.sh: analyzer throughput per core and live alert latency.
#
# 1. face + light (face luma) on 640x360 I420 frames of the scripted photo
#    clip (analyzers/testclip), one goroutine, GOMAXPROCS=1, ONNX Runtime on
#    one thread: frames per second per core, against the target of 200, and
#    how many live streams one core can watch at 5 fps. Two variants: the
#    default change-gated detection (the detector runs when the picture
#    changed or every 5th frame) and detection on every frame (worst case).
# 2. live alert latency: the clip where the customer leaves is played in
#    real time into the live Host; face events are published on an embedded
#    NATS server; p95 from the confirming frame to the subscriber (target
#    < 300 ms; the business debounce, min_duration, comes on top).
#
# Usage (from anywhere in the repo): bench/analyze.sh
# Environment: FRAMES (1400 frames per variant), RUNS (1 latency run of 13 s).
set -euo pipefail

FRAMES=${FRAMES:-1400}
RUNS=${RUNS:-1}
TARGET_FPS=200

die() { echo "analyze.sh: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "go not found in PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[[ -f go.mod && -d analyzers/face ]] || die "cannot find the repository root from $0"

echo "face + light, 640x360, one core ($FRAMES frames per variant)..."
out=$(GOMAXPROCS=1 go test -run '^$' -bench 'FaceLight' -benchtime "${FRAMES}x" ./analyzers/face 2>&1 | grep -v libpng) ||
	die "benchmark failed: $out"
echo "$out" | grep -E '^Benchmark' | while read -r name _ _ _ fps _ streams _; do
	ratio=$(awk -v f="$fps" -v t="$TARGET_FPS" 'BEGIN { printf "%.2f", f / t }')
	printf '  %-34s %8.1f frames/s per core  (%sx the %d target)  %6.1f streams at 5 fps\n' "$name" "$fps" "$ratio" "$TARGET_FPS" "$streams"
done

echo "live alert latency over NATS ($RUNS real-time run(s) of 13 s)..."
out=$(go test -run '^$' -bench 'AlertLatency' -benchtime "${RUNS}x" ./analyzers/natsevents 2>&1 | grep -v libpng) ||
	die "latency benchmark failed: $out"
p95=$(echo "$out" | awk '/^BenchmarkAlertLatency/ { for (i = 1; i <= NF; i++) if ($(i+1) == "p95_ms") print $i }')
[[ -n "$p95" ]] || die "no p95 in: $out"
ratio=$(awk -v p="$p95" 'BEGIN { printf "%.3f", p / 300 }')
echo "  p95 confirming frame -> NATS subscriber: ${p95} ms (${ratio}x the 300 ms budget)"
