# Shared set-up for scripts/run and scripts/test. Sourced, not run.
# Installs what the product needs on a fresh machine: a Python 3.11 virtualenv with the pinned
# requirements, and (when root with apt-get) the Debian packages named by the caller.

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

compile_translations() {
  if command -v msgfmt >/dev/null 2>&1 && ls "$ROOT"/locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then
    (cd "$ROOT" && "$VENV/bin/python" manage.py compilemessages -v 0 --ignore=.venv)
  fi
}
