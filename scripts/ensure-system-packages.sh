#!/usr/bin/env bash
# Debian packages the Python install needs: FFmpeg -dev for vpdq, libsodium for private set intersection.
# vpdq (video PDQ) has no wheel: pip builds it from source against Debian's FFmpeg development packages,
# so they must be present before `pip install`. The ffmpeg command itself makes the tests' sample video.
# Skips apt entirely when everything is already installed.
set -euo pipefail
# libsodium23: the ristretto255 group for private set intersection (accord.exchange.sodium loads it with
# ctypes; PyNaCl binds no ristretto255 function).
pkgs=(pkg-config libavformat-dev libavcodec-dev libavdevice-dev libavfilter-dev libswscale-dev
      libswresample-dev libavutil-dev ffmpeg libsodium23)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} (needed to build vpdq)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
