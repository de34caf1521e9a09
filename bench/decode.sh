#!/usr/bin/env bash
# bench/decode.sh: decode speed of `witness decode` against the ffmpeg CLI.
#
# Generates a 10 s 1280x720 25 fps H.264 + AAC clip, builds ./cmd/witness,
# then decodes the clip RUNS times with each tool and prints wall times and
# the ratio witness/ffmpeg (medians). Both decode with the same number of
# threads (THREADS, default 1, i.e. `--threads 1` and `-threads 1`).
#
# Not quite the same work: witness also converts every picture to I420 with
# swscale and copies it into Go memory, and converts audio to float32; ffmpeg
# writes to the null muxer without pixel conversion.
#
# Usage (from anywhere in the repo): bench/decode.sh
# Environment: RUNS (3), THREADS (1), SECONDS_LONG (10), SIZE (1280x720).
set -euo pipefail

RUNS=${RUNS:-3}
THREADS=${THREADS:-1}
LEN=${SECONDS_LONG:-10}
SIZE=${SIZE:-1280x720}

die() { echo "decode.sh: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null 2>&1 || die "ffmpeg not found in PATH (Debian: apt-get install ffmpeg)"
command -v go >/dev/null 2>&1 || die "go not found in PATH"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[[ -f go.mod && -d cmd/witness ]] || die "cannot find the repository root (go.mod, cmd/witness) from $0"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/witness-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
clip=$tmp/clip.mp4

echo "generating ${LEN}s ${SIZE} H.264+AAC clip..."
ffmpeg -nostdin -v error -y \
	-f lavfi -i "testsrc2=s=${SIZE}:r=25" \
	-f lavfi -i "sine=frequency=440:sample_rate=48000" \
	-t "$LEN" -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac "$clip" ||
	die "ffmpeg could not generate the clip"

echo "building ./cmd/witness..."
go build -o "$tmp/witness" ./cmd/witness || die "go build ./cmd/witness failed"

# now prints a monotonic-enough wall clock in seconds with microseconds.
now() { echo "${EPOCHREALTIME/,/.}"; }

# time_runs NAME CMD...: runs CMD RUNS times, prints each time, and leaves
# the times in the array named NAME.
time_runs() {
	local -n out=$1
	shift
	out=()
	local i t0 t1
	for ((i = 1; i <= RUNS; i++)); do
		t0=$(now)
		"$@" >"$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt" >&2; die "failed: $*"; }
		t1=$(now)
		out+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "decoding $RUNS times each, $THREADS decoder thread(s) for both tools..."
time_runs witness_t "$tmp/witness" decode --format I420 --threads "$THREADS" "$clip"
witness_report=$(cat "$tmp/out.txt")
time_runs ffmpeg_t ffmpeg -nostdin -v error -threads "$THREADS" -i "$clip" -f null -
# The witness binary links GStreamer, OpenCV and more; its start-up is part of
# its wall time, so show it separately.
time_runs startup_t "$tmp/witness" help

echo
echo "witness decode (last run):"
sed 's/^/  /' <<<"$witness_report"
echo
printf '%-44s %s\n' "command" "wall seconds per run"
printf '%-44s %s\n' "witness decode --format I420 --threads $THREADS" "${witness_t[*]}"
printf '%-44s %s\n' "ffmpeg -threads $THREADS -i clip -f null -" "${ffmpeg_t[*]}"
printf '%-44s %s\n' "witness help (process start-up only)" "${startup_t[*]}"
w=$(median "${witness_t[@]}")
f=$(median "${ffmpeg_t[@]}")
awk -v w="$w" -v f="$f" 'BEGIN { printf "median: witness %.3fs, ffmpeg %.3fs, ratio witness/ffmpeg %.2f\n", w, f, (f > 0 ? w / f : 0) }'
echo "note: witness also converts pictures to I420 and copies them into Go memory; ffmpeg -f null does not convert."
