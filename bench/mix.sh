#!/usr/bin/env bash
# witness mix against the ffmpeg CLI at equal settings, in one run:
# the same generated input files, 1280x720 25 fps, x264 veryfast 1.5 Mbit/s
# (GOP 50), AAC 96 kbit/s, fragmented MP4, and the same four watermarks
# (text, timestamp, location, PNG logo), for the 2-split, PiP and 4-split
# layouts (ffmpeg: scale/crop + xstack/overlay + drawtext + overlay + amix).
# Both sides scale bilinearly and run x264 with the same rate control
# (x264enc's default is ABR with a VBV of 1500 kbit/s max rate and a
# 600 ms buffer, so ffmpeg gets -maxrate 1500k -bufsize 900k); the x264
# option strings of the two outputs are compared and printed.
# Each layout runs REPS times (default 3), witness and ffmpeg interleaved;
# prints the median wall and CPU seconds, the speed ratio (ffmpeg wall /
# witness wall, >1 = witness faster) and CPU-seconds per recorded minute.
#
#   [REPS=3] [WITNESS=binary] bench/mix.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
reps=${REPS:-3}
command -v ffmpeg >/dev/null || { echo "ffmpeg not found: run deploy/setup.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${WITNESS:-}" ]; then # another build to compare, e.g. WITNESS=/tmp/old/witness
  cp "$WITNESS" "$tmp/witness"
else
  go build -o "$tmp/witness" ./cmd/witness
fi
font=$(fc-match "Noto Sans CJK SC" --format='%{file}')

# Inputs: four participants of different sizes/rates, each with its own tone.
gen() { # name lavfi-video freq
  ffmpeg -nostdin -v error -y -f lavfi -i "$2" -f lavfi -i "sine=frequency=$3:sample_rate=48000:duration=$secs" \
    -t "$secs" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 96k "$tmp/$1.mp4"
}
gen agent "smptebars=size=640x480:rate=25" 440 &
gen customer "testsrc2=size=1280x720:rate=30" 660 &
wait
gen screen "testsrc=size=1280x720:rate=15" 880 &
gen guest "mandelbrot=size=640x360:rate=25" 1100 &
wait
ffmpeg -nostdin -v error -y -f lavfi -i "color=c=red@0.6:s=160x80,format=rgba" -frames:v 1 "$tmp/logo.png"

start=1714543402 # 2024-05-01 14:03:22 +08:00
cat >"$tmp/wm.yaml" <<EOF
watermarks:
  - {type: text, text: "某银行 双录 Witness", position: bottom-right, size: 24}
  - {type: timestamp, start: "2024-05-01T14:03:22+08:00", timezone: Asia/Shanghai, format: "%Y-%m-%d %H:%M:%S", size: 24}
  - {type: location, text: "天津市河西区 39.10N 117.20E", size: 24}
  - {type: image, path: "$tmp/logo.png", position: top-right}
EOF
# The built-in layouts without name labels (ffmpeg draws none either).
for l in side-by-side pip grid-4; do
  sed 's/^labels: true.*/labels: false/' "mixer/layouts/$l.yaml" >"$tmp/$l.yaml"
done

dt() { # drawtext with the same font, size and margins as the watermark spec
  echo "drawtext=fontfile=$font:fontsize=24:fontcolor=white@0.8:borderw=1:bordercolor=black@0.8:$1"
}
marks="$(dt "text='某银行 双录 Witness':x=w-tw-16:y=h-th-16"),$(dt "text='%{pts\\:localtime\\:$start}':x=16:y=16"),$(dt "text='天津市河西区 39.10N 117.20E':x=16:y=h-th-16")"
cover() { echo "scale=$1:$2:force_original_aspect_ratio=increase:flags=bilinear,crop=$1:$2,setsar=1,fps=25"; }
ff() { # layout
  local v a layout=$1
  case $layout in
  side-by-side)
    v="[0:v]$(cover 640 720)[a];[1:v]$(cover 640 720)[b];[a][b]xstack=inputs=2:layout=0_0|w0_0[m]"
    a="[0:a][1:a]amix=inputs=2:normalize=0[aout]"; set -- agent customer ;;
  pip)
    v="[1:v]$(cover 1280 720)[b];[0:v]$(cover 316 176),pad=320:180:2:2:white[a];[b][a]overlay=W-w-22:H-h-22[m]"
    a="[0:a][1:a]amix=inputs=2:normalize=0[aout]"; set -- agent customer ;;
  grid-4)
    v="[0:v]$(cover 640 360)[a];[1:v]$(cover 640 360)[b];[2:v]$(cover 640 360)[c];[3:v]$(cover 640 360)[d];[a][b][c][d]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[m]"
    a="[0:a][1:a][2:a][3:a]amix=inputs=4:normalize=0[aout]"; set -- agent customer screen guest ;;
  esac
  local n=$# args=()
  for r in "$@"; do args+=(-i "$tmp/$r.mp4"); done
  echo "$v;[$n:v]scale=-1:80[logo];[m]$marks[t];[t][logo]overlay=W-w-16:16,format=yuv420p[vout];$a" >"$tmp/ff.filter"
  TZ=Asia/Shanghai ffmpeg -nostdin -y -v error "${args[@]}" -i "$tmp/logo.png" -filter_complex_script "$tmp/ff.filter" \
    -map "[vout]" -map "[aout]" -c:v libx264 -preset veryfast -b:v 1500k -maxrate 1500k -bufsize 900k -g 50 -r 25 -c:a aac -b:a 96k -ar 48000 \
    -movflags +frag_keyframe+empty_moov -frag_duration 1000000 "$tmp/ff-$layout.mp4"
}
wit() { # layout
  local ins=(--in agent="$tmp/agent.mp4" --in customer="$tmp/customer.mp4")
  [ "$1" = grid-4 ] && ins+=(--in screen="$tmp/screen.mp4" --in guest="$tmp/guest.mp4")
  "$tmp/witness" mix --quiet --layout "$tmp/$1.yaml" "${ins[@]}" --watermark "$tmp/wm.yaml" \
    --size 1280x720 --fps 25 --preset veryfast --bitrate 1500 --gop 50 -o "$tmp/wit-$1.mp4"
}

measure() { # name, command... ; prints "name wall cpu" (cpu = user + sys of the command and its children)
  local name=$1; shift
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null 2>"$tmp/$name.err"; } 2>&1 ) || { cat "$tmp/$name.err" >&2; exit 1; }
  echo "$name $(awk '{print $1, $2 + $3}' <<<"$t")"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "mix 1280x720 25 fps, x264 veryfast 1500 kbit/s, AAC 96k, fMP4, text+timestamp+location+logo; ${secs}s inputs; $(nproc) CPUs; median of $reps"
printf "%-13s %9s %9s %9s %9s %7s %11s %11s\n" layout wit_wall wit_cpu ff_wall ff_cpu speed wit_cpu/min ff_cpu/min
for l in side-by-side pip grid-4; do
  wws="" wcs="" fws="" fcs=""
  for _ in $(seq "$reps"); do
    read -r _ ww wc < <(measure "wit-$l" wit "$l")
    read -r _ fw fc < <(measure "ff-$l" ff "$l")
    wws+=" $ww" wcs+=" $wc" fws+=" $fw" fcs+=" $fc"
  done
  ww=$(median <<<"$wws") wc=$(median <<<"$wcs") fw=$(median <<<"$fws") fc=$(median <<<"$fcs")
  awk -v l="$l" -v ww="$ww" -v wc="$wc" -v fw="$fw" -v fc="$fc" -v s="$secs" 'BEGIN {
    printf "%-13s %9.2f %9.2f %9.2f %9.2f %6.2fx %11.1f %11.1f\n", l, ww, wc, fw, fc, fw/ww, wc*60/s, fc*60/s }'
  for f in "$tmp/wit-$l.mp4" "$tmp/ff-$l.mp4"; do # both outputs are real: same size, same length
    ffprobe -v error -show_entries stream=codec_name,width,height:format=duration -of csv=p=0 "$f" | tr '\n' ' ' >>"$tmp/probe"
    echo >>"$tmp/probe"
  done
done
echo "outputs (codec,w,h / duration):"
cat "$tmp/probe"
x264opts() { strings -n 20 "$1" | grep -m1 -o 'x264 - core.*' | tr ' ' '\n' | grep = | sort; }
if d=$(diff <(x264opts "$tmp/wit-grid-4.mp4") <(x264opts "$tmp/ff-grid-4.mp4")); then
  echo "x264 options: identical ($(x264opts "$tmp/ff-grid-4.mp4" | grep -E '^(rc|bitrate|vbv_maxrate|vbv_bufsize|keyint|threads|trellis|subme|ref)=' | tr '\n' ' '))"
else
  echo "x264 options differ (< witness, > ffmpeg):"; echo "$d"
fi
