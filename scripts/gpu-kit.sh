#!/usr/bin/env bash
# Builds the GPU kit: everything scripts/gpu-check.sh needs on a machine that has a GPU and torch
# but no Rust and no network (the project's borrowed H100/H200 machines: torch 2.11.0+cu130 under
# /opt/torch/.venv, at most 64 MiB carried along). Into gpu-kit/ (ignored by git):
#   pixelcnn.gz   the release binary built against torch 2.11 (point it at that machine's torch/lib
#                 with LD_LIBRARY_PATH), stripped and gzipped
#   mnist/*.gz    the four MNIST IDX files, gzipped (gpu-check.sh unpacks and verifies them)
#   manifest.txt  commit, torch version, sizes and SHA-256 of the files
#   scripts/gpu-kit.sh [--torch-from PYTHON]     (default: $PIXELCNN_CACHE/torch-2.11.0/bin/python)
# A torch 2.11.0 venv for the build: python3 -m venv ~/.cache/pixelcnn/torch-2.11.0 &&
#   ~/.cache/pixelcnn/torch-2.11.0/bin/pip install torch==2.11.0
# Then, on the GPU machine, from the repository root: bash scripts/gpu-check.sh (here, on the CPU:
# bash scripts/gpu-check.sh --cpu).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PIXELCNN_CACHE:-$HOME/.cache/pixelcnn}
# shellcheck source=scripts/torch.sh
. "$repo/scripts/torch.sh"
python=$cache/torch-2.11.0/bin/python
case ${1:-} in
  --torch-from) python=${2:?--torch-from needs a python interpreter} ;;
  "") ;;
  *) echo "usage: gpu-kit.sh [--torch-from PYTHON]" >&2; exit 2 ;;
esac
kit=$repo/gpu-kit
limit_mib=60 # of the 64 MiB a borrowed machine takes, leaving room for the working tree

[ -x "$python" ] || { echo "gpu-kit: error: $python not found (a venv with torch 2.11.0: see the top of this script)" >&2; exit 1; }
facts=$(probe_torch "$python")
version=$(sed -n 1p <<<"$facts")
lib=$(sed -n 2p <<<"$facts")
case $version in
  2.11.*) ;;
  *) echo "gpu-kit: warning: torch $version; the GPU machines have 2.11.0, and the binary must match their libtorch" >&2 ;;
esac
target=${CARGO_TARGET_DIR:-$repo/target}/$(torch_target_name "$version" "$lib")
echo "gpu-kit: building pixelcnn against torch $version in $target"
build_against_torch "$repo" "$python" "$target" -p pixelcnn

data=$cache/mnist
(cd "$data" && sha256sum --quiet --check "$repo/crates/data/mnist.sha256") ||
  { echo "gpu-kit: error: MNIST in $data is missing or differs from crates/data/mnist.sha256 (run \`just setup\`)" >&2; exit 1; }

rm -rf "$kit.tmp"
mkdir -p "$kit.tmp/mnist"
strip -o "$kit.tmp/pixelcnn" "$target/release/pixelcnn"
gzip -9 "$kit.tmp/pixelcnn"
while read -r _ name; do
  [ -n "$name" ] && gzip -9 -c "$data/$name" >"$kit.tmp/mnist/$name.gz"
done <"$repo/crates/data/mnist.sha256"
{
  echo "commit $(git -C "$repo" rev-parse HEAD)$(git -C "$repo" diff --quiet HEAD || echo ' (with uncommitted changes)')"
  echo "torch $version"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  (cd "$kit.tmp" && find . -type f ! -name manifest.txt | sort | xargs sha256sum)
} >"$kit.tmp/manifest.txt"
rm -rf "$kit"
mv "$kit.tmp" "$kit"

kit_kib=$(du -sk "$kit" | cut -f1)
tree_kib=$(git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 du -ck 2>/dev/null) | tail -n 1 | cut -f1)
echo "gpu-kit: $kit: $((kit_kib / 1024)) MiB (the working tree adds $((tree_kib / 1024)) MiB)"
if [ $((kit_kib + tree_kib)) -gt $((limit_mib * 1024)) ]; then
  echo "gpu-kit: error: the kit and the working tree exceed $limit_mib MiB" >&2
  exit 1
fi
cat "$kit/manifest.txt"
