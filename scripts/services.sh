#!/usr/bin/env bash
# Starts the real services that the PostgreSQL results-store and Slurm launcher tests talk to, on a
# Debian 12 machine where we are root and systemd is not PID 1 (CI containers and VMs):
#   PostgreSQL 15  cluster 15/main on 127.0.0.1:5432, role pixelcnn/pixelcnn (LOGIN CREATEDB)
#   Slurm          a single-node cluster (slurmctld + slurmd + munged), partition `debug`,
#                  MaxArraySize=1001, no cgroups, no accounting
# Installs Debian's packages only when their commands are missing, rewrites /etc/slurm/slurm.conf
# only when its content changes, and starts only the daemons that are not running, so a rerun is
# a handful of checks. Writes the settings the tests read to $PIXELCNN_CACHE/services.env
# (default ~/.cache/pixelcnn). Prints one line per service on success; on failure prints the
# relevant daemon logs and exits non-zero.
set -euo pipefail

cache=${PIXELCNN_CACHE:-$HOME/.cache/pixelcnn}
env_file=$cache/services.env
pg_version=15
pg_cluster=main
pg_port=5432
pg_role=pixelcnn
pg_password=pixelcnn
pg_url=postgres://$pg_role:$pg_password@127.0.0.1:$pg_port/postgres
pg_log=/var/log/postgresql/postgresql-$pg_version-$pg_cluster.log
slurm_conf=/etc/slurm/slurm.conf
slurm_log_dir=/var/log/slurm
munge_key=/etc/munge/munge.key
munge_log=/var/log/munge/munged.log
partition=debug
max_array_size=1001

phase=setup
work=$(mktemp -d /tmp/pixelcnn-services.XXXXXX)
chmod 755 "$work"
policy_rc_tmp=""

say() { echo "services: $*"; }
err() { echo "services: error: $*" >&2; }

show_log() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 30 "$f" >&2 || true
  done
}

on_exit() {
  local rc=$?
  [ -z "$policy_rc_tmp" ] || rm -f "$policy_rc_tmp"
  if [ "$rc" -ne 0 ]; then
    err "failed while setting up $phase (exit $rc)"
    case $phase in
      postgres) show_log "$pg_log" ;;
      munge) show_log "$munge_log" ;;
      slurm) show_log "$slurm_log_dir/slurmctld.log" "$slurm_log_dir/slurmd.log" ;;
    esac
    if [ -n "$(ls -A "$work")" ]; then err "job outputs are kept in $work"; else rm -rf "$work"; fi
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap on_exit EXIT

# Runs a command silently; on failure shows its output and fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    err "command failed: $*"
    return 1
  fi
}

running() { pgrep -x "$1" >/dev/null; }

# Kills the processes named $1 (exact name) and waits up to 30 s for them to go.
stop_daemon() {
  local pids i
  pids=$(pgrep -x "$1" || true)
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086 # one word per pid
  kill $pids 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    running "$1" || return 0
    sleep 0.5
  done
  err "$1 (pids $pids) did not stop within 30 s"
  return 1
}

# Atomically replaces file $1 with stdin if the content differs; status 0 iff it was rewritten.
write_if_changed() {
  local dest=$1 tmp
  tmp=$(mktemp "$dest.XXXXXX")
  cat >"$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    return 1
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$dest"
}

if [ "$(id -u)" -ne 0 ]; then
  err "must run as root (it installs packages and starts system daemons)"
  exit 1
fi

# ---------------------------------------------------------------- packages
phase=packages
packages=()
command -v pgrep >/dev/null 2>&1 || packages+=(procps)
command -v pg_ctlcluster >/dev/null 2>&1 || packages+=(postgresql)
for cmd in slurmctld slurmd sbatch; do
  command -v "$cmd" >/dev/null 2>&1 || { packages+=(slurm-wlm); break; }
done
command -v munged >/dev/null 2>&1 || packages+=(munge)
if [ "${#packages[@]}" -gt 0 ]; then
  say "installing ${packages[*]} (Debian packages)"
  # The packages' maintainer scripts would start their daemons through invoke-rc.d, which fails
  # in odd ways without an init system; this script starts them itself, so forbid that.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy_rc_tmp=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc_tmp"
    chmod 755 "$policy_rc_tmp"
  fi
  quiet apt-get update -qq
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
  if [ -n "$policy_rc_tmp" ]; then rm -f "$policy_rc_tmp"; policy_rc_tmp=""; fi
fi

# ---------------------------------------------------------------- PostgreSQL
phase=postgres
pg_ready() {
  PGPASSWORD=$pg_password PGCONNECT_TIMEOUT=5 psql -X -q -A -t -h 127.0.0.1 -p "$pg_port" \
    -U "$pg_role" -d postgres -c 'select rolcreatedb from pg_roles where rolname = current_user' 2>/dev/null
}
as_postgres_psql() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$pg_port" "$@"); }

if ! pg_lsclusters -h "$pg_version" "$pg_cluster" >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h "$pg_version" "$pg_cluster")" ]; then
  quiet pg_createcluster -p "$pg_port" "$pg_version" "$pg_cluster"
fi
read -r _ _ port status _ < <(pg_lsclusters -h "$pg_version" "$pg_cluster")
if [ "$port" != "$pg_port" ]; then
  err "cluster $pg_version/$pg_cluster is configured for port $port, not $pg_port"
  exit 1
fi
if [[ $status != online* ]]; then
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  quiet pg_ctlcluster "$pg_version" "$pg_cluster" start
fi
for ((i = 0; i < 60; i++)); do
  pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
  sleep 0.5
done
quiet pg_isready -h 127.0.0.1 -p "$pg_port"
if [ "$(pg_ready)" != t ]; then
  quiet as_postgres_psql -d postgres -c "DO \$\$BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$pg_role') THEN
        CREATE ROLE $pg_role LOGIN CREATEDB PASSWORD '$pg_password';
      ELSE
        ALTER ROLE $pg_role LOGIN CREATEDB PASSWORD '$pg_password';
      END IF;
    END\$\$;"
fi
if [ "$(pg_ready)" != t ]; then
  PGPASSWORD=$pg_password psql -X -h 127.0.0.1 -p "$pg_port" -U "$pg_role" -d postgres -c 'select 1' >&2 || true
  err "cannot log in as $pg_role over TCP, or the role lacks CREATEDB"
  exit 1
fi
pg_server=$(PGPASSWORD=$pg_password psql -X -A -t -h 127.0.0.1 -p "$pg_port" -U "$pg_role" -d postgres -c 'show server_version')
say "postgres $pg_server ready: PIXELCNN_TEST_POSTGRES=$pg_url"

# ---------------------------------------------------------------- munge
phase=munge
install -d -o munge -g munge -m 0700 /etc/munge
install -d -o munge -g munge -m 0700 /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s "$munge_key" ]; then
  quiet mungekey --create --keyfile="$munge_key" --force
fi
chown munge:munge "$munge_key"
chmod 0400 "$munge_key"
if ! running munged; then
  # No munged runs, so a socket or lock left by a killed one is stale: --force takes over.
  quiet runuser -u munge -- /usr/sbin/munged --force
fi
munge_ok=0
for ((i = 0; i < 20; i++)); do
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then munge_ok=1; break; fi
  sleep 0.5
done
if [ "$munge_ok" -ne 1 ]; then
  munge -n | unmunge >&2 || true
  err "munge credentials do not round-trip (munge -n | unmunge)"
  exit 1
fi

# ---------------------------------------------------------------- slurm.conf
phase=slurm
node=$(hostname -s 2>/dev/null || uname -n)
node=${node%%.*}
cpus=$(nproc)
mem_total_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
# A little under the total, so that slurmd never finds less memory than configured and drains.
real_mem_mb=$((mem_total_mb * 95 / 100))
install -d -m 0755 /etc/slurm "$slurm_log_dir" /var/spool/slurmctld /var/spool/slurmd
conf_changed=0
if write_if_changed "$slurm_conf" <<EOF; then conf_changed=1; fi
# Written by pixelcnn-lab scripts/services.sh; rewritten when the machine changes. Single-node
# test cluster: no cgroups (proctrack/linuxproc, task/none), no accounting.
ClusterName=pixelcnn
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
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
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=$slurm_log_dir/slurmctld.log
SlurmdLogFile=$slurm_log_dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem_mb State=UNKNOWN
PartitionName=$partition Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
if [ "$conf_changed" -eq 1 ]; then
  # The daemons only read the node and partition lines at start-up.
  stop_daemon slurmd
  stop_daemon slurmctld
fi

# ---------------------------------------------------------------- slurmctld, slurmd
running slurmctld || quiet slurmctld
running slurmd || quiet slurmd -N "$node"

state=""
restarts=0
for ((i = 0; i < 120; i++)); do
  # A daemon that was still shutting down when checked above exits now: start it again.
  if ! running slurmctld || ! running slurmd; then
    if ((restarts++ >= 5)); then
      running slurmctld || err "slurmctld keeps exiting"
      running slurmd || err "slurmd keeps exiting"
      exit 1
    fi
    sleep 1
    running slurmctld || quiet slurmctld
    running slurmd || quiet slurmd -N "$node"
  fi
  state=$(sinfo -h -N -n "$node" -o %T 2>/dev/null | head -n 1 || true)
  case $state in
    idle | mixed | allocated | completing) break ;;
    down* | drain* | fail*) scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
case $state in
  idle | mixed | allocated | completing) ;;
  *)
    sinfo -N -l >&2 || true
    scontrol show node "$node" >&2 || true
    err "node $node did not become idle within 60 s (state: ${state:-none})"
    exit 1 ;;
esac

# Submits a batch job (extra arguments go to sbatch) and waits up to 120 s until every task of it
# has completed. Polls scontrol every 0.2 s: `sbatch --wait` polls at 2 s and more.
run_job() {
  local jobid states i
  if ! jobid=$(sbatch --parsable --chdir=/tmp --partition="$partition" "$@" 2>&1); then
    printf '%s\n' "$jobid" >&2
    err "sbatch $* failed"
    return 1
  fi
  jobid=${jobid%%;*}
  for ((i = 0; i < 600; i++)); do
    states=$(scontrol -o show job "$jobid" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' ' || true)
    case " $states" in
      " JobState=COMPLETED ") return 0 ;;
      *=FAILED* | *=CANCELLED* | *=TIMEOUT* | *=NODE_FAIL* | *=OUT_OF_MEMORY* | *=BOOT_FAIL* | *=DEADLINE* | *=PREEMPTED*)
        scontrol show job "$jobid" >&2 || true
        err "batch job $jobid ended badly: $states(sbatch $*)"
        return 1 ;;
    esac
    sleep 0.2
  done
  scontrol show job "$jobid" >&2 || true
  scancel "$jobid" 2>/dev/null || true
  err "batch job $jobid did not complete within 120 s: ${states:-no state} (sbatch $*)"
  return 1
}

run_job --job-name=services-check --output="$work/ok.out" --wrap 'echo ok'
if [ "$(cat "$work/ok.out")" != ok ]; then
  cat "$work/ok.out" >&2
  err "batch job output is not 'ok'"
  exit 1
fi
# shellcheck disable=SC2016 # expanded by the job's shell
run_job --job-name=services-array --array=0-3 --output="$work/array-%a.out" \
  --wrap 'echo "$SLURM_ARRAY_TASK_ID $(readlink /proc/self/fd/0)"'
for task in 0 1 2 3; do
  got=$(cat "$work/array-$task.out")
  if [ "$got" != "$task /dev/null" ]; then
    err "array task $task printed '$got', expected '$task /dev/null' (task id, stdin)"
    exit 1
  fi
done
quiet timeout 60 srun --partition="$partition" -N1 -n1 --job-name=services-srun true
max_array=$(scontrol show config | awk -F' *= *' '$1 == "MaxArraySize" { print $2 }')
if [ "$max_array" != "$max_array_size" ]; then
  err "scontrol show config reports MaxArraySize=${max_array:-?}, expected $max_array_size"
  exit 1
fi
slurm_version=$(sinfo -V | awk '{ print $2 }')
say "slurm $slurm_version ready: node $node ($cpus CPUs, ${real_mem_mb} MB), partition $partition, MaxArraySize=$max_array, srun, batch and array jobs ok"

# ---------------------------------------------------------------- services.env
phase=services.env
mkdir -p "$cache"
write_if_changed "$env_file" <<EOF || true
PIXELCNN_TEST_POSTGRES=$pg_url
PIXELCNN_TEST_SLURM_PARTITION=$partition
EOF
