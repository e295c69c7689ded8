# pixelcnn-lab: the entry point for people. `just` lists the recipes.
# Every recipe that builds or runs applies the torch environment below, so nobody exports anything
# by hand: burn's tch backend finds libtorch through the venv's python (LIBTORCH_USE_PYTORCH=1),
# and at run time through LD_LIBRARY_PATH (the `pixelcnn` release binary also carries an rpath).

set export
# Arguments reach pixelcnn as typed: `just run note RUN "lr too high"` passes one note, not three words.
set positional-arguments
set shell := ["bash", "-euo", "pipefail", "-c"]

cache := env("PIXELCNN_CACHE", home_directory() / ".cache" / "pixelcnn")
venv := cache / "torch-2.9.0"
# Empty until `just setup` has made the venv: a missing cache must not break the justfile itself.
torch_lib := shell('for d in "$1"/lib/python3*/site-packages/torch/lib; do [ -d "$d" ] && { echo "$d"; break; }; done; true', venv)
LIBTORCH_USE_PYTORCH := "1"
PATH := venv / "bin" + ":" + env("PATH")
LD_LIBRARY_PATH := trim_start_match(trim_end_match(torch_lib + ":" + env("LD_LIBRARY_PATH", ""), ":"), ":")
# Where cargo puts the binaries that sweep, report, compare and bench run (recipes run from here).
release := env("CARGO_TARGET_DIR", "target") / "release"

# List the recipes.
default:
    @just --list

# Install the torch 2.9.0 venv and the verified MNIST files into the cache (idempotent).
setup:
    bash scripts/setup.sh

# Stop early, with the fix, when libtorch is missing: the loader would fail before main otherwise.
[private]
check-libtorch:
    @if [ ! -f "{{venv}}/.complete" ] || [ -z "{{torch_lib}}" ]; then echo "error: libtorch (torch 2.9.0 venv) not found under {{venv}}; run \`just setup\` (or set PIXELCNN_CACHE to where it lives)" >&2; exit 1; fi

# Check the installation: burn and torch versions, libtorch location, CUDA, data checksums.
doctor: check-libtorch
    cargo run --release --quiet -- doctor

# Build the release binary.
build: check-libtorch
    cargo build --release

# Run the whole test suite (torch-enabled build) and check that the flex-only build compiles.
# The PostgreSQL and Slurm tests talk to real services: scripts/services.sh starts them (idempotent;
# on Debian, as root or through sudo) and writes their settings to the cache's services.env. Set
# PIXELCNN_TEST_POSTGRES=skip and PIXELCNN_TEST_SLURM_PARTITION=skip to test without them.
test: check-libtorch
    if [ "${PIXELCNN_TEST_POSTGRES:-}" != skip ] || [ "${PIXELCNN_TEST_SLURM_PARTITION:-}" != skip ]; then if [ "$(id -u)" -eq 0 ]; then bash scripts/services.sh; else sudo env PIXELCNN_CACHE="{{cache}}" bash scripts/services.sh; fi; while IFS='=' read -r k v; do [ -n "${!k:-}" ] || export "$k=$v"; done < "{{cache}}/services.env"; fi; cargo test --workspace
    cargo check --all-targets --no-default-features --features flex

# Benchmarks: training images/s, sampling time, sweep overhead and peak memory, each against a PyTorch
# reference measured in the same run; writes bench/results/ and docs/benchmarks.md (`just bench --quick`:
# a one-minute check). pixelcnn keeps freed memory (crates/train/src/allocator.rs); GLIBC_TUNABLES gives
# the PyTorch reference the same allocator settings, so that the ratio compares the libraries.
bench *ARGS: check-libtorch
    cargo build --release --quiet -p pixelcnn -p pixelcnn-bench
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647 {{release}}/pixelcnn-bench "$@"

# The live view's load benchmark: the experiment page's data for a generated store of 1,000 runs
# and 100,000 epochs (criterion; the store is generated once, in about a minute, under the target folder).
bench-serve *ARGS:
    cargo bench -p pixelcnn-serve --bench experiment_page -- "$@"

# Plan and train every run of an experiment file, e.g. `just sweep experiments/levels.toml --profile quick`;
# ends by writing the report to reports/<experiment>/ (index.html, report.md).
sweep FILE *ARGS: check-libtorch
    cargo build --release --quiet
    {{release}}/pixelcnn sweep "$@"

# Rewrite an experiment's report from the database, e.g. `just report levels` (or the experiment file).
report NAME *ARGS: check-libtorch
    cargo build --release --quiet
    {{release}}/pixelcnn report "$@"

# Serve a live, read-only view of the store at http://127.0.0.1:8731/ (experiments, runs table,
# curves, pictures, comparisons; it follows running sweeps), e.g. `just serve` or `just serve --port 9000`.
serve *ARGS: check-libtorch
    cargo build --release --quiet
    {{release}}/pixelcnn serve "$@"

# Compare runs (id prefixes, the first the baseline): a table here, an HTML page under reports/.
compare +ARGS: check-libtorch
    cargo build --release --quiet
    {{release}}/pixelcnn compare "$@"

# Show the runs an experiment file resolves to and an estimate of the time; runs nothing.
plan FILE *ARGS: check-libtorch
    cargo run --release --quiet -- plan "$@"

# Run any pixelcnn subcommand on the release build, e.g. `just run train --config run.toml`.
run *ARGS: check-libtorch
    cargo run --release --quiet -- "$@"
