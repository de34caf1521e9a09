#!/usr/bin/env bash
# bench/qc.sh: `witness qc` against the ffmpeg CLI doing the same checks.
#
# Generates a 720p25 H.264 + AAC recording (10 minutes by default; this
# takes a few minutes on 2 cores and is done once per run, or reused with
# CLIP=path), builds ./cmd/witness, then times in one run:
#
#   1. ffmpeg decode only:   ffmpeg -i clip -f null -
#   2. witness qc:           every check of the default policy, one pass
#   3. ffmpeg filter chain:  blackdetect, freezedetect, blockdetect on the
#                            picture; silencedetect, ebur128, astats on the
#                            sound (the checks ops teams script today)
#   4. ffmpeg subsampled:    the same filters on 5 fps at 640 px wide
#                            (how such scripts are usually sped up)
#
# and prints wall times, speed (x real time) and the ratios the issue sets
# targets for: witness/decode-only <= 1.3 and filter-chain/witness >= 3,
# plus the CPU time (user + sys) of the decode-only and witness runs.
# Every tool uses its default thread count (FFmpeg picks from the CPUs).
#
# Not quite the same work: witness also hashes the file (sha256), measures
# white, stutter, clipping, per-channel silence and A/V sync, and writes a
# report; ffmpeg's filters see full-resolution pictures while witness scales
# them to 640x360 inside the decoder.
#
# Shared machines are noisy (the same decode varies by +-30% here), so the
# decode-only pass and witness qc run RUNS times, interleaved, and their
# medians are compared; the slow filter chains run once.
#
# Usage (from anywhere in the repo): bench/qc.sh
# Environment: SECONDS_LONG (600), SIZE (1280x720), RUNS (3), CLIP (reuse a
#              file), KEEP=1 (keep the generated clip and print its path).
set -euo pipefail

LEN=${SECONDS_LONG:-600}
RUNS=${RUNS:-3}
SIZE=${SIZE:-1280x720}

die() { echo "qc.sh: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null 2>&1 || die "ffmpeg not found in PATH (Debian: apt-get install ffmpeg)"
command -v go >/dev/null 2>&1 || die "go not found in PATH"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[[ -f go.mod && -d cmd/witness ]] || die "cannot find the repository root (go.mod, cmd/witness) from $0"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/witness-qc-bench.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
	trap 'echo "kept $tmp"' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

if [[ -n ${CLIP:-} ]]; then
	clip=$CLIP
	[[ -f $clip ]] || die "CLIP=$clip does not exist"
else
	clip=$tmp/recording.mp4
	echo "generating ${LEN}s ${SIZE} 25 fps H.264 + AAC recording (once)..."
	t0=$(now)
	ffmpeg -nostdin -v error -y \
		-f lavfi -i "testsrc2=s=${SIZE}:r=25" \
		-f lavfi -i "sine=frequency=440:sample_rate=48000" \
		-t "$LEN" -ac 2 -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 128k \
		-movflags +faststart "$clip" || die "ffmpeg could not generate the clip"
	echo "  generated in $(since "$t0")s"
fi
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$clip")

echo "building ./cmd/witness..."
go build -o "$tmp/witness" ./cmd/witness || die "go build ./cmd/witness failed"

# Warm the page cache so the first timed tool does not pay for the disk.
cat "$clip" >/dev/null

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run NAME CMD...: times CMD once, keeps its output in $tmp/NAME.txt and
# appends the wall time to all[NAME] and the CPU time (user + sys, which
# another process's load disturbs less) to cpu[NAME].
declare -A secs all cpu
run() {
	local name=$1
	shift
	echo "timing: $name"
	local t0 rc=0 TIMEFORMAT='%U %S'
	t0=$(now)
	{ time "$@" >"$tmp/$name.txt" 2>&1 || rc=$?; } 2>"$tmp/$name.cpu"
	secs[$name]=$(since "$t0")
	all[$name]="${all[$name]:-} ${secs[$name]}"
	cpu[$name]="${cpu[$name]:-} $(awk '{ printf "%.2f", $1 + $2 }' "$tmp/$name.cpu")"
	# witness qc exits 3 on a warning verdict and 1 on fail; both are
	# results, not tool failures (the report says what it found).
	if [[ $rc -ne 0 && ! ($name == witness && ($rc -eq 1 || $rc -eq 3)) ]]; then
		cat "$tmp/$name.txt" >&2
		die "failed: $*"
	fi
}

vfilters="blackdetect=d=2:pix_th=0.10,freezedetect=n=0.001:d=2,blockdetect"
afilters="silencedetect=n=-60dB:d=2,ebur128,astats"

for ((i = 1; i <= RUNS; i++)); do
	run decode ffmpeg -nostdin -hide_banner -i "$clip" -f null -
	run witness "$tmp/witness" qc --progress=false --json "$tmp" "$clip"
done
# shellcheck disable=SC2086 # word splitting of the time lists is wanted
secs[decode]=$(median ${all[decode]})
# shellcheck disable=SC2086
secs[witness]=$(median ${all[witness]})
run filters ffmpeg -nostdin -hide_banner -i "$clip" -vf "$vfilters" -af "$afilters" -f null -
run subsampled ffmpeg -nostdin -hide_banner -i "$clip" -vf "fps=5,scale=640:-2,$vfilters" -af "$afilters" -f null -

echo
echo "witness qc said:"
sed 's/^/  /' "$tmp/witness.txt"
echo
echo "runs: decode-only${all[decode]} s; witness qc${all[witness]} s (medians below)"
# shellcheck disable=SC2086
cd_=$(median ${cpu[decode]})
# shellcheck disable=SC2086
cw_=$(median ${cpu[witness]})
echo "CPU (user+sys): decode-only${cpu[decode]} s; witness qc${cpu[witness]} s;" \
	"medians $cd_ / $cw_ s, ratio $(awk -v w="$cw_" -v d="$cd_" 'BEGIN { printf "%.2f", w / d }')"
printf '%-58s %9s %9s\n' "tool (${dur%.*}s of ${SIZE} 25 fps H.264 + AAC)" "seconds" "x realtime"
for name in decode witness filters subsampled; do
	case $name in
	decode) label="ffmpeg decode only (-f null)" ;;
	witness) label="witness qc (all checks, sha256, JSON report)" ;;
	filters) label="ffmpeg black/freeze/blockdetect+silence/ebur128/astats" ;;
	subsampled) label="ffmpeg same filters on fps=5,scale=640" ;;
	esac
	awk -v l="$label" -v s="${secs[$name]}" -v d="$dur" 'BEGIN { printf "%-58s %9.2f %9.1f\n", l, s, d / s }'
done
echo
awk -v w="${secs[witness]}" -v d="${secs[decode]}" -v f="${secs[filters]}" -v s="${secs[subsampled]}" 'BEGIN {
	printf "witness / decode-only      = %.2f  (target <= 1.30: %s)\n", w / d, (w / d <= 1.3 ? "met" : "MISSED")
	printf "filter chain / witness     = %.2f  (target >= 3.00: %s)\n", f / w, (f / w >= 3 ? "met" : "MISSED")
	printf "subsampled filters / witness = %.2f\n", s / w
}'
