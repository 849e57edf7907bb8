#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Build a believable Chinese trading company with customers and two years
of sales, invoices and payments in a database where crm_customer is active.

    python scripts/demo_data.py --database DBNAME [--config trytond.conf]
        [--customers N] [--seed S] [--bulk]
"""
import argparse
import sys

from connect import connect
from trytond.pool import Pool

BULK_ABOVE = 50  # customers: beyond, the history is written in bulk


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', dest='config_file')
    parser.add_argument('--customers', type=int, default=300)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--bulk', action='store_true',
        help="write the history with SQL; the default above "
        f"{BULK_ABOVE} customers")
    args = parser.parse_args()
    config = connect(args.database, args.config_file)
    # The set-up uses Tryton's test tools: importing them reads the backend
    # and switches the pool to test mode, which a real database is not in
    test_mode = Pool.test
    import demo
    Pool.test = test_mode
    name = demo.plan.COMPANY_NAME
    if demo.setup.company_exists(config, name):
        print(f"{name} already exists in {args.database}: "
            "nothing done", file=sys.stderr)
        return 2
    use_bulk = args.bulk or args.customers > BULK_ABOVE
    demo.generate(config, args.customers, args.seed, use_bulk=use_bulk)
    return 0


if __name__ == '__main__':
    sys.exit(main())
