#!/usr/bin/env bash
# Runs every test of the suite on SQLite and on PostgreSQL, both at once;
# the SQLite pass also runs the browser test (tests/test_browser.py), which
# drives the web client over the demo database of scripts/demo.sh.
#
#   scripts/test.sh [--skip-postgresql] [--only sqlite|postgresql] [pytest args]
#
# PostgreSQL is reached at $CRM_TEST_PG_URI (postgresql://postgres@127.0.0.1:5432/
# by default, trust auth). When it is not reachable the run fails, unless
# --skip-postgresql says to run SQLite alone.
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/common.sh"

backends="sqlite postgresql"
skip_pg=0
pytest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-postgresql) skip_pg=1 ;;
        --only) backends=$2; shift ;;
        *) pytest_args+=("$1") ;;
    esac
    shift
done

start=$(date +%s)
ensure_debian_packages libgammu-dev pkg-config
ensure_venv requirements-test.txt
install_modules

PG_URI=${CRM_TEST_PG_URI:-postgresql://postgres@127.0.0.1:5432/}
if [[ " $backends " == *" postgresql "* ]]; then
    if ! "$PY" - "$PG_URI" <<'PYEOF'
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1] + 'postgres', connect_timeout=5).close()
except Exception as exc:
    print(f"PostgreSQL is not reachable at {sys.argv[1]}: {exc}")
    sys.exit(1)
PYEOF
    then
        if [ $skip_pg = 1 ]; then
            say "PostgreSQL skipped as asked: only SQLite runs"
            backends=${backends//postgresql/}
        else
            echo "Start it (pg_ctlcluster --skip-systemctl-redirect" \
                "\$(ls /etc/postgresql) main start) or pass --skip-postgresql."
            exit 1
        fi
    fi
fi

# Tryton's DB_CACHE keys its dumps by module names only: key the folder by
# the content of modules/ so a changed field never meets a stale cache.
cache_base=${CRM_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tryton-crm-tests}
cache=$cache_base/$(modules_hash)
mkdir -p "$cache" "$ROOT/var"
find "$cache_base" -mindepth 1 -maxdepth 1 -type d -mtime +2 \
    -exec rm -rf {} + 2>/dev/null || true

run_backend() {
    local backend=$1 log=$ROOT/var/test-$1.log
    (
        cd "$ROOT"
        export DB_CACHE=$cache TEST_NETWORK=0 PYTHONDONTWRITEBYTECODE=1
        export TRYTOND_EMAIL__FROM=crm-tests@localhost
        if [ "$backend" = sqlite ]; then
            export TRYTOND_DATABASE__URI=sqlite:// DB_NAME=:memory:
        else
            export TRYTOND_DATABASE__URI=$PG_URI
            export DB_NAME=test_crm_$$_$RANDOM
            export PGOPTIONS='-c synchronous_commit=off'
            # The browser test serves the demo's SQLite database whatever
            # the backend: the SQLite pass runs it.
            export PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} --ignore=tests/test_browser.py"
        fi
        "$PY" -m pytest -p no:cacheprovider --durations=0 --durations-min=5 \
            -o console_output_style=classic "${pytest_args[@]}" \
            modules $(ls -d tests 2>/dev/null)
    ) > "$log" 2>&1
}

pids=()
for backend in $backends; do
    say "testing on $backend (log: var/test-$backend.log)"
    run_backend "$backend" &
    pids+=("$!:$backend")
done
status=0
for entry in "${pids[@]}"; do
    pid=${entry%%:*} backend=${entry#*:}
    if wait "$pid"; then result=passed; else result=FAILED; status=1; fi
    say "$backend: $result"
    cat "$ROOT/var/test-$backend.log"
done
say "wall time: $(( $(date +%s) - start )) s for: $backends"
exit $status
