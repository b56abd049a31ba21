#!/usr/bin/env bash
# PgBouncer in transaction pooling mode in front of the test PostgreSQL, for the scale-out
# suites (tests/run) and the load benchmark (tests/bench/load.py):
#
#   tests/pgbouncer.sh DIR [POOL_SIZE]
#
# Writes its configuration into DIR (run as root, PgBouncer runs as postgres, which must be
# able to reach DIR), picks a free port on 127.0.0.1, writes it to DIR/port
# once PgBouncer accepts connections, and runs PgBouncer in the foreground until it is
# stopped (SIGTERM or SIGINT). Every database name is passed through to PostgreSQL at
# TASKAPI_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432), trust auth.
# Debian's PgBouncer is 1.18: no named prepared statements in transaction mode, which is
# what TASKAPI_DB_STATEMENT_CACHE=0 is for.
set -euo pipefail

dir="${1:?usage: tests/pgbouncer.sh DIR [POOL_SIZE]}"
pool_size="${2:-20}"
pg_url="${TASKAPI_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}"
command -v pgbouncer >/dev/null || { echo "pgbouncer.sh: pgbouncer is not installed" >&2; exit 1; }

read -r host port user password < <(python3 - "$pg_url" <<'EOF'
import sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
print(url.hostname or "127.0.0.1", url.port or 5432, url.username or "postgres",
      url.password or "-")
EOF
)
listen_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -p "$dir"
chmod 755 "$dir"
server_password=""
[ "$password" != "-" ] && server_password=" password=$password"
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$host port=$port$server_password

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 2000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
echo "\"$user\" \"\"" >"$dir/users.txt"
chmod 644 "$dir/pgbouncer.ini" "$dir/users.txt"

as_user=()
# PgBouncer refuses to run as root.
[ "$(id -u)" = 0 ] && as_user=(-u postgres) && chown postgres "$dir"

# -q: the log goes to DIR/pgbouncer.log only, not to the caller's output.
pgbouncer -q "${as_user[@]}" "$dir/pgbouncer.ini" &
bouncer=$!
trap 'kill "$bouncer" 2>/dev/null || true; wait "$bouncer" 2>/dev/null || true' EXIT
trap 'exit 0' TERM INT
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$listen_port") 2>/dev/null; then
    echo "$listen_port" >"$dir/port"
    wait "$bouncer"
    exit $?
  fi
  kill -0 "$bouncer" 2>/dev/null || { echo "pgbouncer.sh: PgBouncer exited; see $dir/pgbouncer.log" >&2; exit 1; }
  sleep 0.1
done
echo "pgbouncer.sh: PgBouncer did not start listening" >&2
exit 1
