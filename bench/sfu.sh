#!/usr/bin/env bash
# SFU forwarding load: N concurrent 1:1 calls through `witness sfu` on
# loopback, each participant publishing 720p VP8 at ~1.5 Mbit/s (30 fps)
# plus Opus and receiving the other's: per call 2 x (1.5 Mbit/s + Opus)
# in and out of the server. Recording is off (forwarding only; recording
# cost is bench/mix.sh's). For each N prints the SFU process's CPU (% of
# one core and of the whole machine, from /proc), the forwarding loss
# measured by the receivers from RTP sequence numbers, and the received
# video rate per stream. The load generator (bench/sfuload, pion clients)
# runs on the same machine and its CPU is reported too: on a small machine
# it competes with the server, so the figures are a lower bound.
#
#   [SECONDS=20] bench/sfu.sh [N...]      (default N: 1 2 4 8)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_PER_RUN:-20}
ns=("$@"); [ ${#ns[@]} -gt 0 ] || ns=(1 2 4 8)
command -v ffmpeg >/dev/null || { echo "ffmpeg not found: run deploy/setup.sh" >&2; exit 1; }
tmp=$(mktemp -d)
sfu_pid=""
trap '[ -n "$sfu_pid" ] && kill "$sfu_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/witness" ./cmd/witness
go build -o "$tmp/sfuload" ./bench/sfuload
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -t 10 -c:v libvpx -b:v 1500k -minrate 1500k -maxrate 1500k \
  -g 60 -deadline realtime -cpu-used 8 -auto-alt-ref 0 "$tmp/v.ivf"
ffmpeg -nostdin -v error -y -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 10 -c:a libopus -b:a 32k -page_duration 20000 "$tmp/a.ogg"
cores=$(nproc)
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
export WITNESS_SIGNALING_SECRET=bench-secret-0123456789
export WITNESS_SIGNALING_LOOPBACK=true WITNESS_SIGNALING_IPS=127.0.0.1 WITNESS_SIGNALING_RECORDING_ENABLED=false
# Forwarding only: no recording and no live analysis (each has its own cost:
# bench/mix.sh, bench/analyze.sh).
export WITNESS_ANALYZERS_PROFILE=off
export WITNESS_DATA_DIR="$tmp/data" WITNESS_LOG_LEVEL=error
printf "%-6s %-12s %-12s %-12s %-12s %-14s %-14s\n" calls sfu_cpu_core sfu_cpu_mach load_cpu_core video_loss_% audio_loss_% video_Mbps/str
for n in "${ns[@]}"; do
  port=$((20000 + RANDOM % 20000))
  "$tmp/witness" sfu --listen 127.0.0.1:$port >"$tmp/sfu.log" 2>&1 &
  sfu_pid=$!
  for _ in $(seq 50); do grep -q listening "$tmp/sfu.log" && break; sleep 0.1; done
  "$tmp/sfuload" -url ws://127.0.0.1:$port/ws -calls "$n" -duration "${secs}s" -video "$tmp/v.ivf" -audio "$tmp/a.ogg" >"$tmp/out.json" &
  load_pid=$!
  sleep 3 # the load generator's warm-up; then measure the same window
  t0=$(ticks $sfu_pid); l0=$(ticks $load_pid); s0=$(date +%s.%N)
  sleep "$secs"
  t1=$(ticks $sfu_pid); l1=$(ticks $load_pid); s1=$(date +%s.%N)
  wait $load_pid
  kill $sfu_pid; wait $sfu_pid 2>/dev/null || true; sfu_pid=""
  el=$(echo "$s1 - $s0" | bc -l)
  core=$(echo "100 * ($t1 - $t0) / $hz / $el" | bc -l)
  lcore=$(echo "100 * ($l1 - $l0) / $hz / $el" | bc -l)
  python3 - "$n" "$core" "$cores" "$lcore" "$tmp/out.json" <<'PY'
import json, sys
n, core, cores, lcore, path = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
r = json.load(open(path))
fail = "" if not (r["join_failures"] or r["publish_failures"]) else f"  ({r['join_failures']} joins, {r['publish_failures']} publishes failed)"
print(f"{n:<6} {core:<12.1f} {core/cores:<12.1f} {lcore:<12.1f} {r['video_loss_pct']:<12.3f} {r['audio_loss_pct']:<14.3f} {r['video_mbps_received_per_stream']:<14.2f}{fail}")
PY
done
echo "machine: $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); sfu_cpu_mach = % of all cores"
