#!/usr/bin/env bash
# Runs a command (the Slurm tests) beside a private, single-node Slurm cluster of its own:
#   bash scripts/test-slurm.sh cargo test --test slurm_cli
# Everything lives in a temporary folder: a munge key and a munged on its own socket, a
# slurm.conf (SLURM_CONF) with free loopback ports, state, spool, pid and log files. The daemons
# run as the caller (no root needed; as root in CI containers they run as root) and are stopped,
# and the folder deleted, when the command ends, however it ends. Nothing outside the folder is
# read or written: not /etc/slurm, /etc/munge, a system munged or slurmd, or any package.
#
# It refuses, saying why, when Slurm daemons it did not start are running on this machine (a real
# cluster's node): the test cluster would compete with them for the node's name and CPUs. The
# command sees SLURM_CONF (the private cluster's) and PIXELCNN_TEST_SLURM_PARTITION=pixelcnn-test,
# a partition name no real cluster has, so that a submission that somehow missed SLURM_CONF fails
# rather than running on a real cluster. Missing Slurm or munge programs fail with the packages
# to install (Debian/Ubuntu: slurm-wlm munge).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "test-slurm: $*" >&2; }
# The daemons live in /usr/sbin, which a user's PATH often lacks.
export PATH=$PATH:/usr/sbin:/sbin
partition=pixelcnn-test
max_array_size=1001

if [ $# -eq 0 ]; then
  echo "usage: test-slurm.sh COMMAND [ARGS...]" >&2
  exit 2
fi

missing=()
for cmd in slurmctld slurmd sbatch squeue scontrol scancel sinfo srun; do
  command -v "$cmd" >/dev/null || { missing+=(slurm-wlm); break; }
done
for cmd in munged mungekey munge unmunge; do
  command -v "$cmd" >/dev/null || { missing+=(munge); break; }
done
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  say "error: Slurm's programs are missing (Debian/Ubuntu: sudo apt-get install ${missing[*]}); the Slurm tests need them"
  exit 1
fi

foreign=$(for d in slurmctld slurmd slurmdbd; do pgrep -a -x "$d" || true; done)
if [ -n "$foreign" ]; then
  say "error: Slurm daemons not started by this script are running here:"
  sed 's/^/  /' <<<"$foreign" >&2
  say "refusing to start a test cluster beside a real one (it would take the same node name and CPUs);"
  say "run the Slurm tests on a machine without a Slurm node, or in a container"
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/pixelcnn-test-slurm.XXXXXX")
# munged insists that everyone may traverse its socket's folder.
chmod 755 "$dir"
export SLURM_CONF=$dir/slurm.conf

stop_pidfile() {
  local f=$dir/$1.pid pid i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
}

keep_logs=0
cleanup() {
  local rc=$?
  if [ -s "$dir/slurmctld.pid" ]; then scancel --quiet --user="$(id -un)" 2>/dev/null || true; fi
  stop_pidfile slurmd
  stop_pidfile slurmctld
  stop_pidfile munged
  if [ "$keep_logs" = 1 ]; then say "logs kept in $dir"; else rm -rf "$dir"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  local f
  say "error: $*"
  for f in "$dir"/munged.log "$dir"/slurmctld.log "$dir"/slurmd.log; do
    [ -f "$f" ] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

quiet() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; fail "command failed: $*"; }
}

free_port() { python3 "$here/free_port.py"; }

# ---------------------------------------------------------------- munge
quiet mungekey --create --keyfile="$dir/munge.key"
chmod 0400 "$dir/munge.key"
quiet munged --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
munge_ok=0
for ((i = 0; i < 20; i++)); do
  if munge -S "$dir/munge.socket" -n 2>/dev/null | unmunge -S "$dir/munge.socket" >/dev/null 2>&1; then
    munge_ok=1
    break
  fi
  sleep 0.25
done
[ "$munge_ok" = 1 ] || fail "munge credentials do not round-trip on $dir/munge.socket"

# ---------------------------------------------------------------- slurm.conf
node=$(hostname -s 2>/dev/null || uname -n)
node=${node%%.*}
user=$(id -un)
cpus=$(nproc)
# A little under the total, so that slurmd never finds less memory than configured and drains.
real_mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.95) }' /proc/meminfo)
mkdir -p "$dir/state" "$dir/spool"
cat >"$SLURM_CONF" <<EOF
# A private test cluster written by pixelcnn-lab scripts/test-slurm.sh; deleted after the tests.
ClusterName=pixelcnn-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Start batch jobs (and the next tasks of an array) at once rather than up to 3 s later.
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MaxArraySize=$max_array_size
MaxJobCount=20000
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem_mb State=UNKNOWN
PartitionName=$partition Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# ---------------------------------------------------------------- daemons
quiet slurmctld
quiet slurmd -N "$node"
state=""
for ((i = 0; i < 120; i++)); do
  state=$(sinfo -h -N -n "$node" -o %T 2>/dev/null | head -n 1 || true)
  case $state in
    idle | mixed | allocated | completing) break ;;
  esac
  sleep 0.5
done
case $state in
  idle | mixed | allocated | completing) ;;
  *) fail "node $node did not become idle within 60 s (state: ${state:-none})" ;;
esac

# A batch job and an array job must run before the tests do: a broken cluster fails here, with
# its logs, rather than as a test timing out.
check=$(mktemp -d "$dir/check.XXXXXX")
# shellcheck disable=SC2016 # expanded by the job's shell
jobid=$(sbatch --parsable --chdir="$check" --array=0-1 --output="$check/%a.out" --wrap 'echo "$SLURM_ARRAY_TASK_ID"') ||
  fail "sbatch refused the check job"
for ((i = 0; i < 300; i++)); do
  [ "$(cat "$check/0.out" "$check/1.out" 2>/dev/null | tr -d '\n')" = 01 ] && break
  sleep 0.2
done
[ "$(cat "$check/0.out" "$check/1.out" 2>/dev/null | tr -d '\n')" = 01 ] ||
  { scontrol show job "${jobid%%;*}" >&2 || true; fail "the check array job did not complete within 60 s"; }

export PIXELCNN_TEST_SLURM_PARTITION=$partition
say "private Slurm $(sinfo -V | awk '{ print $2 }') on $node ($cpus CPUs) as $user: partition $partition, SLURM_CONF=$SLURM_CONF (removed afterwards)"
"$@" || {
  rc=$?
  keep_logs=1
  exit "$rc"
}
