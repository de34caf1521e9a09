#!/usr/bin/env bash
# Cost of each enhancement stage on one core, from `go test -bench`:
# per 640x360 video frame and per 10 ms audio frame (48 kHz mono), with the
# share of one core each needs in real time (video at 25 fps: 40 ms per
# frame; audio: 10 ms per frame) and how many streams one core could carry.
#
#   bench/enhance.sh [BENCHTIME]      (default 200x)
set -euo pipefail
cd "$(dirname "$0")/.."
bt=${1:-200x}
out=$(GOMAXPROCS=1 go test -run '^$' -bench 'BenchmarkStage|BenchmarkDenoise' -benchtime "$bt" \
  ./enhance/video/ ./enhance/audio/ 2>/dev/null | grep '^Benchmark')
printf '%-34s %12s %14s %12s\n' stage "ms/frame" "core share" "streams/core"
echo "$out" | awk '
  {
    name = $1; sub(/-[0-9]+$/, "", name); ns = $3
    budget = (name ~ /^BenchmarkDenoise/) ? 10e6 : 40e6
    kind = (name ~ /^BenchmarkDenoise/) ? "audio 10ms" : "video 640x360"
    sub(/^Benchmark(Stage|Denoise)\//, "", name)
    printf "%-34s %12.3f %13.1f%% %12.1f\n", name " (" kind ")", ns / 1e6, 100 * ns / budget, budget / ns
  }'
