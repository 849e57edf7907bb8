#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Write a CSV file of customers and contact persons for the import, drawn
from the demo data plan, to measure scripts/import_customers.py.

    python scripts/make_customers_csv.py --rows 10000 [--seed 2]
        [--demo-seed 1] [--encoding utf-8|gbk] FILE.csv

The owners are the salespeople of a demo database built with --demo-seed, so
a file imports into it; the industries, sources and subdivisions are the
demo's. About one enterprise in three has a contact person on the next row.
"""
import argparse
import csv
import datetime as dt
import random
import sys
from decimal import Decimal
from pathlib import Path

from stdnum.cn import uscc

from demo import plan

COLUMNS = [
    'external_id', 'parent_external_id', 'name', 'type', 'tax_identifier',
    'mobile', 'email', 'street', 'city', 'subdivision', 'country',
    'industry', 'source', 'owner', 'vip', 'key_account', 'birthday',
    'birthday_calendar', 'credit_limit']


def tax_identifier(index):
    "A valid Unified Social Credit Code of a Shanghai company"
    base = f'91310000MA{index:07d}'
    return base + uscc.calc_check_digit(base)


def rows(count, seed, demo_seed):
    rng = random.Random(seed)
    owners = plan.employee_names(random.Random(demo_seed))
    customers = iter(plan.customers(rng, count))
    written = 0
    while written < count:
        customer = next(customers)
        enterprise = customer.customer_type == 'enterprise'
        code = f'GEN-{customer.index:06d}'
        birthday = None
        if not enterprise and rng.random() < 0.5:
            birthday = dt.date(1950, 1, 1) + dt.timedelta(
                days=rng.randrange(365 * 55))
        yield {
            'external_id': code,
            'name': customer.name,
            'type': customer.customer_type,
            'tax_identifier': tax_identifier(customer.index)
            if enterprise else '',
            'mobile': customer.mobile,
            'email': customer.email or '',
            'street': customer.street,
            'city': customer.city,
            'subdivision': customer.subdivision,
            'country': 'CN',
            'industry': (plan.INDUSTRIES[customer.industry][0]
                if customer.industry is not None else ''),
            'source': plan.SOURCES[customer.source],
            'owner': owners[customer.owner],
            'vip': '1' if customer.vip else '0',
            'key_account': '1' if customer.key_account else '0',
            'birthday': birthday.isoformat() if birthday else '',
            'birthday_calendar': rng.choice(['solar', 'lunar'])
            if birthday else '',
            'credit_limit': str(
                Decimal(rng.randrange(1, 10 ** 8)) / 100),
            }
        written += 1
        if enterprise and written < count and rng.random() < 0.35:
            yield {
                'parent_external_id': code,
                'name': plan.person_name(rng) + rng.choice(
                    ["经理", "总", "会计", "采购"]),
                'mobile': plan.mobile(rng),
                }
            written += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=10000)
    parser.add_argument('--seed', type=int, default=2)
    parser.add_argument('--demo-seed', type=int, default=1)
    parser.add_argument('--encoding', default='utf-8',
        choices=['utf-8', 'gbk'])
    parser.add_argument('file', type=Path)
    args = parser.parse_args()
    codec = {'utf-8': 'utf-8-sig', 'gbk': 'gb18030'}[args.encoding]
    with args.file.open('w', newline='', encoding=codec) as file:
        writer = csv.DictWriter(file, COLUMNS)
        writer.writeheader()
        writer.writerows(rows(args.rows, args.seed, args.demo_seed))
    print(f"{args.file}: {args.rows} rows")
    return 0


if __name__ == '__main__':
    sys.exit(main())
