#!/usr/bin/env bash
# Runs a command (the test suite) beside a throwaway PostgreSQL server:
#   bash scripts/test-postgres.sh cargo test --workspace
# The server is a fresh cluster (initdb) in a temporary folder, listening only on 127.0.0.1 on a
# free port, with its socket and log in that folder; it is stopped and the folder deleted when the
# command ends, however it ends. Nothing outside the folder is touched: no system cluster, no
# service, no package. As root (CI containers) the cluster runs as `nobody`, since PostgreSQL
# refuses to run as root; otherwise it runs as the caller, so no root is needed.
#
# The command sees PIXELCNN_TEST_POSTGRES=postgres://pixelcnn:pixelcnn@127.0.0.1:PORT/postgres (a
# superuser with a password, on loopback only). When PIXELCNN_TEST_POSTGRES is already set (a server
# of your own, or `skip`), no server is started. When PostgreSQL's programs are missing, the
# PostgreSQL tests are skipped with a warning, or, with PIXELCNN_REQUIRE_SERVICES=1 (as .ci/run
# sets), this fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "test-postgres: $*" >&2; }
# runuser (as root) lives in /usr/sbin, which a minimal PATH lacks.
export PATH=$PATH:/usr/sbin:/sbin

if [ $# -eq 0 ]; then
  echo "usage: test-postgres.sh COMMAND [ARGS...]" >&2
  exit 2
fi
if [ -n "${PIXELCNN_TEST_POSTGRES:-}" ]; then
  [ "$PIXELCNN_TEST_POSTGRES" = skip ] && say "PIXELCNN_TEST_POSTGRES=skip: PostgreSQL tests skipped"
  exec "$@"
fi

# initdb and pg_ctl: on PATH, or where Debian and Ubuntu put them (the newest version there).
bindir=""
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  bindir=$(dirname "$(command -v initdb)")
else
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir=$d
  done
fi
if [ -z "$bindir" ]; then
  msg="PostgreSQL's initdb and pg_ctl were not found (Debian/Ubuntu: sudo apt-get install postgresql)"
  if [ "${PIXELCNN_REQUIRE_SERVICES:-}" = 1 ]; then
    say "error: $msg"
    exit 1
  fi
  say "warning: $msg: the PostgreSQL tests are SKIPPED (SQLite only)"
  PIXELCNN_TEST_POSTGRES=skip exec "$@"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/pixelcnn-test-postgres.XXXXXX")
data=$dir/data
log=$dir/server.log
# PostgreSQL will not run as root: as root, the cluster belongs to `nobody` (its folder too).
as=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody "$dir"
  as=(runuser -u nobody --)
fi

started=0
cleanup() {
  local rc=$?
  if [ "$started" = 1 ]; then
    (cd / && "${as[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -s stop >/dev/null 2>&1) || true
  fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  say "error: $*"
  [ -f "$log" ] && { echo "----- last lines of $log -----" >&2; tail -n 20 "$log" >&2; }
  exit 1
}

free_port() { python3 "$here/free_port.py"; }

# TCP logins need the password (the tests check that a wrong one is refused); the socket, in the
# private folder, is trusted.
printf 'pixelcnn\n' >"$dir/password"
[ ${#as[@]} -eq 0 ] || chown nobody "$dir/password"
out=$(cd / && "${as[@]}" "$bindir/initdb" -D "$data" -U pixelcnn --pwfile="$dir/password" \
  --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-sync 2>&1) ||
  { printf '%s\n' "$out" >&2; fail "initdb failed in $data"; }
# A free port can be taken between the check and the start: try a few.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  if (cd / && "${as[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -s start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300") >/dev/null 2>&1; then
    started=1
    break
  fi
  [ "$attempt" = 5 ] && fail "the server did not start (port $port)"
done
export PIXELCNN_TEST_POSTGRES=postgres://pixelcnn:pixelcnn@127.0.0.1:$port/postgres
say "throwaway PostgreSQL $("$bindir/postgres" -V | awk '{ print $3 }') on 127.0.0.1:$port in $dir (removed afterwards)"
"$@"
