# pixelcnn-lab: the entry point for people. `just` lists the recipes.
# Every recipe that builds or runs applies the torch environment below, so nobody exports anything
# by hand: burn's tch backend finds libtorch through the venv's python (LIBTORCH_USE_PYTORCH=1),
# and at run time through LD_LIBRARY_PATH (the `pixelcnn` release binary also carries an rpath).

set export
# Arguments reach pixelcnn as typed: `just run note RUN "lr too high"` passes one note, not three words.
set positional-arguments
set shell := ["bash", "-euo", "pipefail", "-c"]

cache := env("PIXELCNN_CACHE", home_directory() / ".cache" / "pixelcnn")
# The torch the recipes build and run with, as `just setup` recorded it (the downloaded 2.9.0, or
# `--torch-from PYTHON`): wrappers for its interpreter in bin/, its facts in torch.env. Every value
# is empty until setup has run: a missing cache must not break the justfile itself.
torch := cache / "torch"
torch_fact := 'sed -n "s/^$2=//p" "$1/torch.env" 2>/dev/null || true'
torch_lib := shell(torch_fact, torch, "lib")
torch_version := shell(torch_fact, torch, "version")
LIBTORCH_USE_PYTORCH := "1"
PATH := torch / "bin" + ":" + env("PATH")
LD_LIBRARY_PATH := trim_start_match(trim_end_match(torch_lib + ":" + env("LD_LIBRARY_PATH", ""), ":"), ":")
# Another torch than the downloaded one builds into a folder of its own (torch-sys would not notice
# the change) and past tch's version check, which setup's build and one-epoch run stood in for.
target_base := env("CARGO_TARGET_DIR", justfile_directory() / "target")
torch_target := shell(torch_fact, torch, "target")
CARGO_TARGET_DIR := if torch_target == "" { target_base } else { target_base / torch_target }
cargo := if shell(torch_fact, torch, "bypass") == "1" { "env LIBTORCH_BYPASS_VERSION_CHECK=1 cargo" } else { "cargo" }
# Where cargo puts the binaries that sweep, report, compare and bench run (recipes run from here).
release := CARGO_TARGET_DIR / "release"

# List the recipes.
default:
    @just --list

# Install torch (2.9.0 from PyPI, or `--torch-from PYTHON` for yours) and the verified MNIST files into the cache (idempotent).
setup *ARGS:
    bash scripts/setup.sh "$@"

# Stop early, with the fix, when libtorch is missing: the loader would fail before main otherwise.
[private]
check-libtorch:
    @if [ ! -f "{{torch}}/.complete" ] || [ ! -d "{{torch_lib}}" ]; then echo "error: libtorch not found: {{torch}} does not name a torch; run \`just setup\` (or set PIXELCNN_CACHE to where it lives)" >&2; exit 1; fi

# Check the installation: burn and torch versions, libtorch location, CUDA, data checksums.
doctor: build
    {{release}}/pixelcnn doctor

# Build the release binary (the first build compiles burn and the libtorch bindings: about 12 minutes
# on 2 cores; later builds take seconds).
[doc("Build the release binary (the first build takes about 12 minutes on 2 cores).")]
build: check-libtorch
    @[ -x "{{release}}/pixelcnn" ] || echo "just: first release build: burn, the libtorch bindings and about 500 crates compile once (about 12 minutes on 2 cores); later builds take seconds"
    {{cargo}} build --release

# Install `pixelcnn` into ~/.cargo/bin (on PATH after rustup), so that the commands the tool prints
# (`pixelcnn report levels`, ...) work as written. It links to the torch venv of `just setup`.
[doc("Install pixelcnn into ~/.cargo/bin, so that `pixelcnn ...` works as the tool prints it.")]
install: build
    {{cargo}} install --locked --offline --path . --target-dir "{{CARGO_TARGET_DIR}}"

# Run the whole test suite (torch-enabled build) and check that the flex-only build compiles. Needs no
# root and changes nothing on the machine: the PostgreSQL tests get a throwaway server in a temporary
# folder (scripts/test-postgres.sh: initdb + pg_ctl on a free loopback port, deleted afterwards;
# skipped with a warning when PostgreSQL is not installed). The Slurm tests are left to `just test-cluster`.
[doc("Run the test suite without root (a throwaway PostgreSQL; Slurm tests left to test-cluster).")]
test: check-libtorch
    @[ -n "${PIXELCNN_TEST_SLURM_PARTITION:-}" ] || echo "just test: the Slurm tests are skipped here; \`just test-cluster\` runs them on a private Slurm"
    PIXELCNN_TEST_SLURM_PARTITION="${PIXELCNN_TEST_SLURM_PARTITION:-skip}" bash scripts/test-postgres.sh {{cargo}} test --workspace
    {{cargo}} check --all-targets --no-default-features --features flex

# Run the Slurm tests (job arrays into PostgreSQL) on a private single-node Slurm started for them
# (scripts/test-slurm.sh: its own munged, SLURM_CONF, ports and state in a temporary folder, as you,
# stopped and deleted afterwards; it refuses to run beside Slurm daemons it did not start).
[doc("Run the Slurm tests on a private single-node Slurm started (and removed) for them.")]
test-cluster: check-libtorch
    bash scripts/test-postgres.sh bash scripts/test-slurm.sh {{cargo}} test --test slurm_cli

# Benchmarks: training images/s, sampling time, sweep overhead and peak memory, each against a PyTorch
# reference measured in the same run; writes bench/results/ and docs/benchmarks.md (`just bench --quick`:
# a one-minute check). pixelcnn keeps freed memory (crates/train/src/allocator.rs); GLIBC_TUNABLES gives
# the PyTorch reference the same allocator settings, so that the ratio compares the libraries.
[doc("Benchmarks against a PyTorch reference: training, sampling, sweep overhead, memory (--quick: one minute).")]
bench *ARGS: build
    {{cargo}} build --release -p pixelcnn-bench
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647 {{release}}/pixelcnn-bench "$@"

# The live view's load benchmark: the experiment page's data for a generated store of 1,000 runs
# and 100,000 epochs (criterion; the store is generated once, in about a minute, under the target folder).
[doc("The live view's load benchmark over a generated store of 1,000 runs.")]
bench-serve *ARGS:
    {{cargo}} bench -p pixelcnn-serve --bench experiment_page -- "$@"

# Plan and train every run of an experiment file, e.g. `just sweep experiments/levels.toml --profile quick`;
# ends by writing the report to reports/<experiment>/ (index.html, report.md).
[doc("Train every run of an experiment file and write its report, e.g. `just sweep experiments/levels.toml --profile quick`.")]
sweep FILE *ARGS: build
    {{release}}/pixelcnn sweep "$@"

# Rewrite an experiment's report from the database, e.g. `just report levels` (or the experiment file).
report NAME *ARGS: build
    {{release}}/pixelcnn report "$@"

# Serve a live, read-only view of the store at http://127.0.0.1:8731/ (experiments, runs table,
# curves, pictures, comparisons; it follows running sweeps), e.g. `just serve` or `just serve --port 9000`.
[doc("Serve a live, read-only view of the store at http://127.0.0.1:8731/ (e.g. `just serve --port 9000`).")]
serve *ARGS: build
    {{release}}/pixelcnn serve "$@"

# Compare runs (id prefixes, the first the baseline): a table here, an HTML page under reports/.
compare +ARGS: build
    {{release}}/pixelcnn compare "$@"

# Show the runs an experiment file resolves to and an estimate of the time; runs nothing.
plan FILE *ARGS: build
    {{release}}/pixelcnn plan "$@"

# Run any pixelcnn subcommand on the release build, e.g. `just run train --config run.toml`.
run *ARGS: build
    {{release}}/pixelcnn "$@"
