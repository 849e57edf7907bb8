# Shared by the set-up scripts: a virtual environment in .venv with the
# stack and the CRM modules installed as plain pip packages.
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VENV=${CRM_VENV:-$ROOT/.venv}
PY=$VENV/bin/python

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# The content hash of the CRM modules: it keys the test database cache and
# the demo database upgrade. Their tests and documentation do not change a
# database, so they are left out: editing a scenario keeps the cache warm.
# --all counts them too, for the install stamp (the tests import helpers
# from the package).
modules_hash() {
    local exclude=(-not -path '*/tests/*' -not -name '*.rst')
    [ "${1:-}" = --all ] && exclude=()
    (cd "$ROOT" && find modules -type f "${exclude[@]}" \
        -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 \
        | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-16)
}

# Installs the Debian packages given that are missing (a requirement builds
# against them), as root or through sudo -n.
ensure_debian_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg -s "$package" > /dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} = 0 ] && return 0
    say "installing the Debian packages ${missing[*]}"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo -n)
    "${sudo[@]}" apt-get install -y -q "${missing[@]}" > /dev/null \
        || { "${sudo[@]}" apt-get update -q > /dev/null \
            && "${sudo[@]}" apt-get install -y -q "${missing[@]}" > /dev/null; }
}

# Makes the virtual environment and installs a requirements file in it
# (requirements.txt by default) when that file changed.
ensure_venv() {
    local requirements=$ROOT/${1:-requirements.txt}
    if [ ! -x "$PY" ]; then
        say "creating the virtual environment $VENV"
        python3 -m venv "$VENV"
        "$PY" -m pip install -q --upgrade pip
    fi
    local stamp
    stamp=$VENV/.crm-$(basename "$requirements" .txt)
    local want
    want=$(cat "$ROOT"/requirements*.txt | sha1sum | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing $(basename "$requirements")"
        "$PY" -m pip install -q -r "$requirements"
        echo "$want" > "$stamp"
    fi
}

install_modules() {
    local stamp=$VENV/.crm-modules
    local want
    want=$(modules_hash --all)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing the CRM modules"
        "$PY" -m pip install -q --force-reinstall --no-deps \
            "$ROOT"/modules/*/
        # A second pass installs what the modules require, once.
        "$PY" -m pip install -q "$ROOT"/modules/*/
        echo "$want" > "$stamp"
    fi
}
