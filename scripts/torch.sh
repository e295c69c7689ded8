# Helpers for building pixelcnn against a given torch, sourced by setup.sh and gpu-kit.sh (not run).

# Prints PYTHON's torch version, its lib folder and the interpreter's absolute path, one per line.
probe_torch() {
  "$1" - <<'PY'
import os, sys
import torch
print(torch.__version__)
print(os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "lib"))
print(sys.executable)
PY
}

# The target folder (under the cargo target folder) of a torch other than the downloaded one:
# torch-sys does not notice a change of interpreter, so each torch gets its own.
torch_target_name() { # version lib
  echo "torch-$1-$(printf '%s' "$2" | sha256sum | cut -c1-8)"
}

# Writes `python` and `python3` into FOLDER, each running PYTHON: the names torch-sys runs.
write_python_wrappers() { # folder python
  local name
  mkdir -p "$1"
  for name in python python3; do
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$2" >"$1/$name"
    chmod 755 "$1/$name"
  done
}

# Builds the release binaries (cargo build arguments follow) against PYTHON's torch into TARGET,
# past tch's version check (the caller has said why that is acceptable).
build_against_torch() { # repo python target [cargo args...]
  local repo=$1 python=$2 target=$3 wrappers
  shift 3
  wrappers=$(mktemp -d)
  write_python_wrappers "$wrappers" "$python"
  (cd "$repo" && env PATH="$wrappers:$PATH" LIBTORCH_USE_PYTORCH=1 LIBTORCH_BYPASS_VERSION_CHECK=1 \
    CARGO_TARGET_DIR="$target" cargo build --release "$@") || { rm -rf "$wrappers"; return 1; }
  rm -rf "$wrappers"
}
