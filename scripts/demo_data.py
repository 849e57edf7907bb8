#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Build a believable Chinese trading company with customers and two years
of sales, invoices and payments in a database where crm_customer is active.

    python scripts/demo_data.py --database DBNAME [--config trytond.conf]
        [--customers N] [--seed S] [--bulk]
"""
import argparse
import sys

from proteus import config as pconfig

import demo
from demo import plan, setup


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', dest='config_file')
    parser.add_argument('--customers', type=int, default=300)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--bulk', action='store_true', default=None,
        help="write the history with SQL; the default above "
        f"{demo.BULK_ABOVE} customers")
    args = parser.parse_args()
    config = pconfig.set_trytond(args.database, config_file=args.config_file)
    if setup.company_exists(config, plan.COMPANY_NAME):
        print(f"{plan.COMPANY_NAME} already exists in {args.database}: "
            "nothing done", file=sys.stderr)
        return 2
    demo.generate(config, args.customers, args.seed, use_bulk=args.bulk)
    return 0


if __name__ == '__main__':
    sys.exit(main())
