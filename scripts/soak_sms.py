#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Soak the SMS gateway: the kill test with thousands of texts (PostgreSQL)

    python scripts/soak_sms.py [--texts 3000] [--kills 100] [--seed S]

Runs modules/crm_sms_gateway/tests/test_kill.py, the test CI runs with 300
texts each way and 10 kills, with --texts queued and --texts injected in
--kills waves, a worker killed with SIGKILL in each: two sms_worker.py
processes drive two simulated modems. It prints each wave, the states of
the texts after each kill and what the checks found: every text that
reached a SIM recorded once and whole, no part sent twice, only the texts
caught mid-send left for review. TRYTOND_DATABASE__URI names the
PostgreSQL server (postgresql://postgres@127.0.0.1:5432/ by default); the
test makes and drops its own database.
"""
import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--texts', type=int, default=3000,
        help="texts queued, and as many injected")
    parser.add_argument('--kills', type=int, default=100)
    parser.add_argument('--seed', type=int, default=random.randrange(10**6))
    args = parser.parse_args()
    env = dict(os.environ,
        CRM_SMS_KILL_TEXTS=str(args.texts),
        CRM_SMS_KILLS=str(args.kills),
        CRM_SMS_KILL_SEED=str(args.seed),
        DB_NAME=f'sms_soak_{os.getpid()}',
        TEST_NETWORK='0')
    env.setdefault('TRYTOND_DATABASE__URI',
        'postgresql://postgres@127.0.0.1:5432/')
    if not env['TRYTOND_DATABASE__URI'].startswith('postgresql'):
        parser.error("the kill test runs on PostgreSQL only")
    print(f"soak: {args.texts} texts out and {args.texts} in, "
        f"{args.kills} kills, seed {args.seed}", flush=True)
    start = time.monotonic()
    result = subprocess.run([sys.executable, '-m', 'pytest', '-s', '-q',
            '-p', 'no:cacheprovider',
            str(ROOT / 'modules/crm_sms_gateway/tests/test_kill.py')],
        cwd=ROOT, env=env)
    print(f"soak: {'passed' if result.returncode == 0 else 'FAILED'} "
        f"in {time.monotonic() - start:.0f} s", flush=True)
    return result.returncode


if __name__ == '__main__':
    sys.exit(main())
