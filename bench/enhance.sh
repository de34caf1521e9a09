#!/usr/bin/env bash
# Cost of each enhancement stage from `go test -bench`: CPU time (all
# threads: Go, OpenCV, ONNX Runtime, GStreamer) per 640x360 video frame and
# per 10 ms audio frame (48 kHz mono), the share of one core each needs in
# real time (video at 25 fps: 40 ms per frame; audio: 10 ms per frame) and
# how many streams one core could carry. Wall time per frame is shown too;
# on a loaded machine it is inflated, CPU time much less so.
#
# Each benchmark runs COUNT times and the fastest run is shown: on a shared
# machine the minimum is the closest to the stage's own cost.
#
#   bench/enhance.sh [BENCHTIME] [COUNT]      (default 100x 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bt=${1:-100x}
count=${2:-3}
# libpng warns on stderr (merged into go test's output) while test photos
# load, which can split a benchmark's name from its result: rejoin them.
out=$(GOMAXPROCS=1 go test -run '^$' -bench 'BenchmarkStage|BenchmarkSegment|BenchmarkDenoise' -benchtime "$bt" -count "$count" \
  ./enhance/video/ ./enhance/audio/ 2>&1 | sed -e 's/libpng warning:.*$//' | awk '
    /^Benchmark/ && !/ns\/op/ { pending = $1; next }
    /ns\/op/ { if ($0 !~ /^Benchmark/) { $0 = pending " " $0 }; pending = ""; print }')
printf '%-42s %12s %10s %12s %12s\n' stage "cpu ms/frame" "wall ms" "core share" "streams/core"
echo "$out" | awk '
  { name = $1; sub(/-[0-9]+$/, "", name)
    c = 0; for (i = 4; i <= NF; i++) if ($i == "cpu-ms/op") c = $(i-1)
    if (!(name in best) || c < best[name]) best[name] = c
    if (!(name in wall) || $3 < wall[name]) wall[name] = $3
    if (!(name in seen)) { seen[name] = 1; order[++n] = name } }
  END { for (i = 1; i <= n; i++) { name = order[i]; ns = best[name] * 1e6; w = wall[name]
    budget = (name ~ /^BenchmarkDenoise/) ? 10e6 : 40e6
    kind = (name ~ /^BenchmarkDenoise/) ? "audio 10ms" : "video 640x360"
    sub(/^Benchmark(Stage|Denoise)\//, "", name); sub(/^BenchmarkSegment$/, "segmentation mask only", name)
    printf "%-42s %12.3f %10.3f %11.1f%% %12.1f\n", name " (" kind ")", ns / 1e6, w / 1e6, 100 * ns / budget, budget / ns
  } }'
