#!/usr/bin/env bash
# Side-by-side: the witness demo job (GStreamer capture -> Go pipeline core ->
# x264/AAC fragmented MP4) against the ffmpeg CLI doing the same composite
# (two test sources side by side, two tones mixed, x264 veryfast + AAC,
# fragmented MP4). Prints wall and CPU seconds for each and the ratios.
#
#   bench/composite.sh [SECONDS] [WIDTH] [HEIGHT]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
w=${2:-1280}
h=${3:-720}
fps=25
command -v ffmpeg >/dev/null || { echo "ffmpeg not found: run deploy/setup.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/witness" ./cmd/witness

measure() { # name, command... ; prints "name wall cpu"
  local name=$1; shift
  local start end t0 t1
  t0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$tmp/$name.err" || { cat "$tmp/$name.err" >&2; exit 1; }
  end=$(date +%s.%N)
  t1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  echo "$name $(echo "$end - $start" | bc -l) $(echo "($t1 - $t0) / $(getconf CLK_TCK)" | bc -l)"
}

half=$((w / 2))
ff() {
  ffmpeg -y -v error \
    -f lavfi -i "smptebars=size=${half}x${h}:rate=$fps:duration=$secs" \
    -f lavfi -i "testsrc2=size=${half}x${h}:rate=$fps:duration=$secs" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$secs" \
    -f lavfi -i "sine=frequency=660:sample_rate=48000:duration=$secs" \
    -filter_complex "[0:v][1:v]hstack[v];[2:a][3:a]amix=inputs=2[a]" -map "[v]" -map "[a]" \
    -c:v libx264 -preset veryfast -b:v 1000k -g $((2 * fps)) -pix_fmt yuv420p -c:a aac -b:a 96k \
    -movflags +frag_keyframe+empty_moov -frag_duration 1000000 "$tmp/ffmpeg.mp4"
}

echo "composite ${w}x${h} ${fps} fps, ${secs}s, 3 runs each (wall s, cpu s)"
for i in 1 2 3; do
  measure witness "$tmp/witness" demo --width "$w" --height "$h" --fps $fps --duration "${secs}s" --out "$tmp/witness.mp4"
  measure ffmpeg ff
done | tee "$tmp/results"
awk '{wall[$1]+=$2; cpu[$1]+=$3; n[$1]++}
  END {
    printf "mean witness: wall %.2f s cpu %.2f s\n", wall["witness"]/n["witness"], cpu["witness"]/n["witness"];
    printf "mean ffmpeg:  wall %.2f s cpu %.2f s\n", wall["ffmpeg"]/n["ffmpeg"], cpu["ffmpeg"]/n["ffmpeg"];
    printf "ratio witness/ffmpeg: wall %.2f cpu %.2f\n", wall["witness"]/wall["ffmpeg"], cpu["witness"]/cpu["ffmpeg"];
  }' "$tmp/results"
