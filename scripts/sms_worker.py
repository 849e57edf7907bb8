#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Run the SMS gateway's worker: the same passes as the scheduled job.

    python scripts/sms_worker.py --database DB [--config trytond.conf]
        [--once] [--slice SECONDS] [--modem NAME ...]

Each pass drives every active modem (or those named) for at most --slice
seconds, sends what is queued, saves what the SIMs hold and answers the
commands, and ends sooner when there is nothing left to do. With --once
the script stops after one pass; otherwise it runs passes until it is
stopped (SIGTERM or Ctrl-C end it after the current pass). Each pass prints
what it did as one JSON line.

Several workers may run at once on PostgreSQL: a modem is driven by one of
them at a time. On SQLite run one.
"""
import argparse
import json
import signal
import sys
import time

from connect import connect


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', dest='config_file')
    parser.add_argument('--once', action='store_true',
        help="one pass, then stop")
    parser.add_argument('--slice', type=float, default=None,
        help="seconds a pass may take (the CRM configuration's by default)")
    parser.add_argument('--idle', type=float, default=1.0,
        help="seconds to wait after a pass that found nothing to do")
    parser.add_argument('--modem', action='append', default=[],
        help="drive only the modem of this name (repeatable)")
    args = parser.parse_args()

    connect(args.database, args.config_file)
    from proteus import Model
    Modem = Model.get('crm.sms.modem')
    modem_ids = None
    if args.modem:
        modems = Modem.find([('name', 'in', args.modem)])
        missing = set(args.modem) - {m.name for m in modems}
        if missing:
            parser.error(f"no active modem is named {', '.join(missing)}")
        modem_ids = [m.id for m in modems]

    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    while True:
        start = time.monotonic()
        done = Modem.run_gateway(args.slice, modem_ids, {})
        print(json.dumps(dict(done, seconds=round(
                        time.monotonic() - start, 3))), flush=True)
        if args.once or stopping:
            return 0
        if not any(done.values()):
            time.sleep(args.idle)
        if stopping:
            return 0


if __name__ == '__main__':
    sys.exit(main())
