# Sourced by tests/run: makes sure what the tests need is here before anything runs.
# As root on Debian or Ubuntu, what is missing is installed with apt (and PostgreSQL started);
# anywhere else, the run stops at once with one message naming everything missing.
# Sets pg_url (and exports TASKAPI_TEST_DATABASE_URL when it had to choose a password).

pg_url="${TASKAPI_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}"

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  echo "setup: installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { psql "$pg_url/postgres" -Atqc 'select 1' >/dev/null 2>&1; }

ensure_postgres() {
  pg_ready && return
  can_install || return
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  if ! pg_lsclusters --no-header | grep -q "^$version *main .*online"; then
    echo "setup: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  if ! pg_ready; then
    # A fresh Debian install asks for a password over TCP; give the postgres role one.
    echo "setup: setting a password for the postgres role"
    su postgres -c "psql -Atqc \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null
    pg_url="postgres://postgres:postgres@127.0.0.1:5432"
    export TASKAPI_TEST_DATABASE_URL="$pg_url"
  fi
}

# Each tool the run needs, with the Debian package that brings it.
needed_tools=(
  "psql:postgresql-client" "pg_isready:postgresql-client" "pgbench:postgresql-contrib"
  "node:nodejs" "npm:npm" "python3:python3" "curl:curl" "chromium:chromium"
  "nginx:nginx" "pgbouncer:pgbouncer" "wrk:wrk" "prometheus:prometheus" "promtool:prometheus"
)

missing_tools() {
  local entry
  for entry in "${needed_tools[@]}"; do
    [ "${entry%%:*}" = chromium ] && [ -x "${CHROMIUM:-}" ] && continue
    command -v "${entry%%:*}" >/dev/null || echo "$entry"
  done
  command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null &&
    echo "python3 -m venv:python3-venv"
  return 0
}

ensure_tools() {
  local missing
  missing="$(missing_tools)"
  if [ -n "$missing" ] && can_install; then
    # shellcheck disable=SC2046 # one package a word
    apt_install $(printf '%s\n' "$missing" | cut -d: -f2 | sort -u)
    missing="$(missing_tools)"
  fi
  ensure_postgres
  pg_ready || missing="$missing${missing:+$'\n'}PostgreSQL at $pg_url:postgresql"
  if [ -n "$missing" ]; then
    {
      echo "tests/run: missing, and not installable here (run as root on Debian/Ubuntu to install):"
      printf '%s\n' "$missing" | while IFS=: read -r tool package; do
        echo "  - $tool (Debian package: $package)"
      done
      echo "Set TASKAPI_TEST_DATABASE_URL if PostgreSQL runs elsewhere, CHROMIUM for another browser."
    } >&2
    exit 1
  fi
}

ensure_tools
