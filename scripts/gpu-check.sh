#!/usr/bin/env bash
# The GPU check, for a short borrowed GPU machine (no Rust, no network), from the repository root
# with the kit of scripts/gpu-kit.sh in gpu-kit/:
#   bash scripts/gpu-check.sh          on CUDA (fails when no CUDA device is usable)
#   bash scripts/gpu-check.sh --cpu    the same steps on libtorch CPU, with 1-epoch sweeps on a few
#                                      hundred images, to check the kit here
# Steps, each with its log in $OUT (default gpu-check-out/):
#   doctor        the kit's binary on this machine's torch (and, on CUDA, a usable CUDA device)
#   levels        the quick levels sweep (6 runs) on the device, its report in $OUT/reports/
#   architectures the quick architectures sweep (18 runs, both families) on the device
#   rerun         one levels run again: identical, or within CUDA's 1e-3 relative tolerance
#   sampling      the cached and the naive sampler on one checkpoint, same seed: the same pictures
#   timing        training images/s at full size (15 blocks, h = 64; gated 15 layers x 52 channels;
#                 batch 128; q = 2 and 256), ours and the PyTorch reference (bench/reference/),
#                 same device, same call
# and writes $OUT/gpu-check.json (machine, driver, torch, every step's status and seconds, the
# figures). It stops within a 500 s budget (PIXELCNN_GPU_CHECK_BUDGET), recording the steps it had
# to skip. Exits non-zero when a step failed or was skipped.
# PIXELCNN_PYTHON names the python whose torch to use (default /opt/torch/.venv/bin/python, else
# the cache's torch-2.11.0 venv, else python3).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
mode=cuda
case ${1:-} in
  --cpu) mode=cpu ;;
  "") ;;
  *) echo "usage: gpu-check.sh [--cpu]" >&2; exit 2 ;;
esac
OUT=${OUT:-$repo/gpu-check-out}
mkdir -p "$OUT"
kit=$repo/gpu-kit
say() { echo "gpu-check: $*" | tee -a "$OUT/gpu-check.log" >&2; }

python=${PIXELCNN_PYTHON:-}
for candidate in /opt/torch/.venv/bin/python "${PIXELCNN_CACHE:-$HOME/.cache/pixelcnn}/torch-2.11.0/bin/python" python3; do
  [ -n "$python" ] && break
  command -v "$candidate" >/dev/null 2>&1 && python=$(command -v "$candidate")
done
[ -f "$kit/pixelcnn.gz" ] || { say "error: no kit in $kit (run scripts/gpu-kit.sh on a machine with Rust)"; exit 1; }
torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') ||
  { say "error: $python cannot import torch"; exit 1; }
torch_version=$("$python" -c 'import torch; print(torch.__version__)')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gunzip -c "$kit/pixelcnn.gz" >"$work/pixelcnn" && chmod 755 "$work/pixelcnn"
mkdir -p "$work/cache/mnist"
for f in "$kit"/mnist/*.gz; do gunzip -c "$f" >"$work/cache/mnist/$(basename "$f" .gz)"; done
export PIXELCNN_CACHE=$work/cache
export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PIXELCNN_DB=$work/check.db
pixelcnn=$work/pixelcnn
: >"$OUT/steps.tsv"
say "mode $mode, torch $torch_version ($torch_lib), kit $(sed -n 1p "$kit/manifest.txt")"
if [ "$mode" = cuda ]; then
  device=cuda
  parallel=3
  small=""
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$OUT/nvidia-smi.txt" 2>&1 || true
else
  device=cpu
  parallel=1
  # Here only the steps are checked, not speed: sweeps shrink to a minute or two on two cores.
  small="--set train.epochs=1 --set data.train_limit=384 --set data.test_limit=128 --set sample.count=10 --set sample.complete=2"
fi

# step NAME SECONDS FUNCTION ARGS...: runs one of the functions below under a time limit (timeout
# signals the whole process group: a sweep's workers too), its output in $OUT/NAME.log.
# The whole check stays within a budget (a borrowed machine allows 10 minutes a call): a step gets
# at most what is left, and steps past it are recorded as skipped, so the JSON is always written.
budget=${PIXELCNN_GPU_CHECK_BUDGET:-500}
began=$(date +%s)
failed=0
step() {
  local name=$1 limit=$2 start rc left
  shift 2
  left=$((budget - ($(date +%s) - began)))
  if [ "$left" -lt 15 ]; then
    printf '%s\t%s\t%s\n' "$name" skipped 0 >>"$OUT/steps.tsv"
    say "$name: SKIPPED (the ${budget} s budget is spent)"
    failed=1
    return 1
  fi
  [ "$limit" -le "$left" ] || limit=$left
  start=$(date +%s%N)
  timeout "$limit" bash -c '"$@"' step "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( ($(date +%s%N) - start) / 1000000 ))" >>"$OUT/steps.tsv"
  if [ "$rc" -eq 0 ]; then say "$name: ok"; else say "$name: FAILED (exit $rc; $OUT/$name.log)"; failed=1; fi
  return "$rc"
}

doctor() {
  "$pixelcnn" doctor || return 1
  [ "$mode" = cpu ] || "$pixelcnn" doctor | grep -q '^CUDA *usable' || { echo "no usable CUDA device"; return 1; }
}
sweep() { # experiment-file
  "$pixelcnn" sweep "$1" --profile quick --set device="$device" $small \
    --runs-dir "$work/runs" --reports-dir "$OUT/reports" --parallel "$parallel"
}
rerun() {
  local id
  id=$("$pixelcnn" runs --experiment levels --json | "$python" -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])') || return 1
  "$pixelcnn" rerun "$id" --runs-dir "$work/runs"
}
sampling() {
  local ckpt
  ckpt=$(find "$work/runs/levels" -name 'epoch-*.ckpt' | sort | tail -n 1)
  [ -n "$ckpt" ] || { echo "no checkpoint under $work/runs/levels"; return 1; }
  echo "checkpoint $ckpt"
  for sampler in cached naive; do
    "$pixelcnn" sample --checkpoint "$ckpt" --n 20 --seed 7 --sampler "$sampler" --device "$device" \
      --out "$OUT/sample-$sampler.png" || return 1
  done
  "$python" "$repo/scripts/png_agreement.py" "$OUT/sample-cached.png" "$OUT/sample-naive.png"
}
# timing FAMILY LEVELS: our training images/s (the second epoch's; the first warms up) and the
# reference's, at full size.
timing() {
  local family=$1 levels=$2 images epochs=2 warmup=10 steps=40 reps=3 model=()
  images=$((128 * 40))
  if [ "$mode" = cpu ]; then images=256; epochs=1; warmup=1; steps=1; reps=1; fi
  if [ "$family" = gated ]; then
    model=(--set model.family=gated --set model.gated.layers=15 --set model.gated.channels=52 --set model.gated.kernel=3)
    ref=(--family gated --layers 15 --channels 52 --kernel 3)
  else
    model=(--set model.blocks=15 --set model.hidden=64)
    ref=(--family pixelcnn --blocks 15 --hidden 64)
  fi
  "$pixelcnn" train --no-store --out "$work/time-$family-$levels" --set device="$device" \
    --set model.levels="$levels" "${model[@]}" --set train.batch_size=128 --set train.epochs=$epochs \
    --set data.train_limit=$images --set data.test_limit=128 --set sample.count=0 --set sample.complete=0 || return 1
  cp "$work/time-$family-$levels/metrics.jsonl" "$OUT/timing-$family-$levels.ours.jsonl"
  "$python" bench/reference/pixelcnn_reference.py train --device "$device" --levels "$levels" "${ref[@]}" \
    --batch 128 --warmup $warmup --steps $steps --reps $reps --threads "$(nproc)" \
    --mnist "$work/cache/mnist" >"$OUT/timing-$family-$levels.reference.json"
}

# shellcheck disable=SC2034 # read by the functions in the timed bash -c
export -f doctor sweep rerun sampling timing
export pixelcnn mode device parallel small work OUT python repo
step doctor 30 doctor
step levels 100 sweep experiments/levels.toml
step architectures 150 sweep experiments/architectures.toml
step rerun 45 rerun
step sampling 45 sampling
for family in pixelcnn gated; do
  for levels in 2 256; do
    step "timing-$family-$levels" 60 timing "$family" "$levels"
  done
done

"$python" - "$OUT" "$mode" "$torch_version" "$torch_lib" <<'PY'
import json, pathlib, platform, sys
out, mode, torch_version, torch_lib = pathlib.Path(sys.argv[1]), *sys.argv[2:]
steps = []
for line in (out / "steps.tsv").read_text().splitlines():
    name, rc, seconds = line.split("\t")
    skipped = rc == "skipped"
    steps.append({"step": name, "ok": rc == "0", "exit": None if skipped else int(rc),
                  "skipped": skipped, "seconds": round(int(seconds) / 1000, 1)})
timing = []
for family in ("pixelcnn", "gated"):
    for levels in (2, 256):
        ours_file = out / f"timing-{family}-{levels}.ours.jsonl"
        ref_file = out / f"timing-{family}-{levels}.reference.json"
        row = {"family": family, "levels": levels, "batch": 128}
        if ours_file.exists():
            epochs = [json.loads(l) for l in ours_file.read_text().splitlines() if l.strip()]
            ours = [e for e in epochs if "images_per_second" in e]
            if ours:
                row["pixelcnn_lab_images_per_second"] = ours[-1]["images_per_second"]
        if ref_file.exists() and ref_file.stat().st_size:
            row["pytorch_images_per_second"] = json.loads(ref_file.read_text())["images_per_second"]
        if "pixelcnn_lab_images_per_second" in row and "pytorch_images_per_second" in row:
            row["ratio"] = row["pixelcnn_lab_images_per_second"] / row["pytorch_images_per_second"]
        timing.append(row)
smi = out / "nvidia-smi.txt"
report = {
    "mode": mode,
    "host": platform.node(),
    "gpu": smi.read_text().strip() if smi.exists() else None,
    "torch": torch_version,
    "torch_lib": torch_lib,
    "kit": (pathlib.Path("gpu-kit") / "manifest.txt").read_text().splitlines()[:3],
    "all_ok": all(s["ok"] for s in steps),
    "note": "cpu mode: tiny sweeps and one or two timed steps; the figures check the steps, not speed"
    if mode == "cpu" else "images/s: ours is the second epoch of 5,120 images (the first warms up), "
    "the reference the median of 3 windows of 40 steps after 10 warm-up steps",
    "steps": steps,
    "training_images_per_second": timing,
}
(out / "gpu-check.json").write_text(json.dumps(report, indent=2) + "\n")
print(json.dumps(report, indent=2))
PY
exit "$failed"
