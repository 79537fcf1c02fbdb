#!/usr/bin/env bash
# Installs what layerfs needs on Debian 12, builds it and installs `layerfs` and
# `layerfs-mount` into /usr/local/bin. Run as root. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang and its runtimes (libFuzzer, which clang only recommends) are for scripts/fuzz.sh.
packages=(
  build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
  libfuse3-dev fuse3 liburing-dev libxxhash-dev libssl-dev libspdlog-dev catch2
  libarchive-dev nlohmann-json3-dev libcli11-dev
  fuse-overlayfs attr kmod util-linux passwd busybox-static zstd
  umoci skopeo podman buildah runc uidmap debootstrap
  fio gnuplot-nox xxhash git python3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc)
cmake --preset release >/dev/null
cmake --build build -j "$jobs"
cmake --install build --prefix /usr/local >/dev/null
echo "setup: installed $(command -v layerfs) and $(command -v layerfs-mount)"
