#!/usr/bin/env bash
# Sets up and serves the CRM demo: Tryton 8.0 with the CRM modules, the web
# client and a SQLite database of demo data, all under var/.
#
#   scripts/demo.sh [--no-serve]
#
# The first run installs everything and creates the database crm_demo; later
# runs reuse what exists and upgrade the database when modules/ changed.
# --no-serve (or CRM_DEMO_NO_SERVE=1) prepares everything and exits.
# CRM_DEMO_PORT changes the port (8000); the simulated GSM modem listens on
# the next one and its control port on the one after.
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/common.sh"

DB=crm_demo
VAR=$ROOT/var
CONF=$VAR/trytond.conf
SAO=$VAR/sao
SAO_VERSION=8.0
PASSFILE=$VAR/demo-password
# The modules' hash the database was last built or upgraded with.
DB_STAMP=$VAR/demo-modules-hash
PORT=${CRM_DEMO_PORT:-8000}
# The simulated GSM modem and its control port
MODEM_PORT=$((PORT + 1))
MODEM_CONTROL=$((PORT + 2))

serve=1
[ "${CRM_DEMO_NO_SERVE:-0}" = 1 ] && serve=0
for arg in "$@"; do
    case "$arg" in
        --no-serve) serve=0 ;;
        *) echo "usage: scripts/demo.sh [--no-serve]" >&2; exit 2 ;;
    esac
done

crm_modules() {
    (cd "$ROOT/modules" && ls -d */ | tr -d /)
}

# The optional Tryton modules the CRM modules work with (requirements.txt)
optional_modules() {
    sed -n 's/^trytond_\([a-z_]*\).*/\1/p' "$ROOT/requirements.txt"
}

# sao from its npm package, with its dependencies inside its own folder so
# that index.html finds node_modules/.
install_sao() {
    [ -f "$SAO/index.html" ] && return
    say "installing the web client tryton-sao $SAO_VERSION"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "tryton-sao@$SAO_VERSION" > /dev/null \
        && tar xzf tryton-sao-*.tgz \
        && cd package \
        && npm install --silent --omit=dev --legacy-peer-deps --ignore-scripts \
            --no-audit --no-fund)
    rm -rf "$SAO"
    mkdir -p "$VAR"
    mv "$tmp/package" "$SAO"
    rm -rf "$tmp"
    # index.html loads these for site customisations: without them the
    # browser reports two failed requests on every page load.
    touch "$SAO/custom.css" "$SAO/custom.js"
}

write_config() {
    mkdir -p "$VAR/db"
    # The database path also holds the attachments (var/db/crm_demo/).
    cat > "$CONF" <<EOF
# Written by scripts/demo.sh: edits are lost on its next run.
[database]
uri = sqlite://
path = $VAR/db
language = en

[web]
listen = 127.0.0.1:$PORT
root = $SAO
EOF
}

admin() {
    TRYTONPASSFILE=$PASSFILE "$VENV/bin/trytond-admin" -c "$CONF" -d "$DB" "$@"
}

# Logins open the "Module Configuration" wizard until its items are done.
mark_config_wizard_done() {
    "$PY" - "$CONF" "$DB" <<'PYEOF'
import sys
from proteus import Model, config
config.set_trytond(database=sys.argv[2], config_file=sys.argv[1])
Item = Model.get('ir.module.config_wizard.item')
items = Item.find([('state', '!=', 'done')])
for item in items:
    item.state = 'done'
Item.save(items)
PYEOF
}

create_database() {
    say "creating the database $DB (English and Simplified Chinese)"
    rm -f "$DB_STAMP" "$VAR/db/$DB.sqlite"
    touch "$VAR/db/$DB.sqlite"
    if [ ! -s "$PASSFILE" ]; then
        "$PY" -c 'import secrets; print(secrets.token_urlsafe(9))' \
            > "$PASSFILE"
    fi
    # The empty line answers the question for the admin's e-mail: none.
    admin --all --language en zh_CN <<< '' > /dev/null
    say "activating the CRM modules ($(crm_modules | xargs)), the" \
        "optional modules they work with ($(optional_modules | xargs))" \
        "and their dependencies"
    # shellcheck disable=SC2046
    admin -u $(crm_modules) $(optional_modules) --activate-dependencies
    say "loading the demo data"
    "$PY" "$ROOT/scripts/demo_data.py" --database "$DB" --config "$CONF" \
        --customers 200 --seed 1
    mark_config_wizard_done
}

upgrade_database() {
    say "modules/ changed: upgrading the database $DB"
    # shellcheck disable=SC2046
    admin -u $(crm_modules) $(optional_modules) --activate-dependencies
    mark_config_wizard_done
}

prepare() {
    ensure_venv
    install_modules
    install_sao
    write_config
    local want
    want=$(modules_hash)
    # No stamp means no database or one whose creation did not finish.
    if [ ! -f "$DB_STAMP" ] || [ ! -f "$VAR/db/$DB.sqlite" ]; then
        create_database
    elif [ "$(cat "$DB_STAMP")" != "$want" ]; then
        upgrade_database
    fi
    echo "$want" > "$DB_STAMP"
}

# Each server runs in its own process group, so that stopping it stops
# the processes it forked too (trytond-cron runs its jobs in a child).
start() {
    setsid "$@" &
    pids+=($!)
}

wait_for_port() {
    "$PY" - "$1" <<'PYEOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(f"nothing listens on port {sys.argv[1]}")
PYEOF
}

stop() {
    local pid
    for pid in "${pids[@]}"; do
        kill -- -"$pid" 2> /dev/null || true
    done
    wait
}

serve() {
    pids=()
    trap stop EXIT
    trap 'exit 0' INT TERM
    start "$VENV/bin/trytond" -c "$CONF" -d "$DB"
    # One cron process: SQLite cannot stop two from running the same job.
    start "$VENV/bin/trytond-cron" -c "$CONF" -d "$DB" -n 1
    # The SMS worker is the cron's job: it drives this simulated modem
    start "$PY" -m trytond.modules.crm_sms_gateway.simulator \
        --port "$MODEM_PORT" --control-port "$MODEM_CONTROL"
    wait_for_port "$MODEM_CONTROL"
    "$PY" "$ROOT/scripts/demo_sms.py" --database "$DB" --config "$CONF" \
        --modem "socket://127.0.0.1:$MODEM_PORT" \
        --control "127.0.0.1:$MODEM_CONTROL"
    say "the CRM demo runs at http://127.0.0.1:$PORT/"
    say "log in as admin with the password $(cat "$PASSFILE") (Ctrl-C stops)"
    # Stop all when one of them ends.
    wait -n || true
    echo "a server process ended: stopping the demo" >&2
    exit 1
}

prepare
if [ $serve = 1 ]; then
    serve
else
    say "the demo is ready: scripts/demo.sh serves it at" \
        "http://127.0.0.1:$PORT/ (admin / $(cat "$PASSFILE"))"
fi
