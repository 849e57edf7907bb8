#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Import customers, contact persons and external IDs from a CSV file.

    python scripts/import_customers.py --database DB [--config trytond.conf]
        --system CODE [--encoding auto|utf-8|gbk] [--dry-run] FILE.csv

It runs the import wizard of crm_customer (the same code as the client's
CRM > Customers > Import Customers) as the admin user: it checks the whole
file, prints what it will create and update and every error with its line,
then imports unless --dry-run is given or a row is bad. A file with an error
writes nothing and the exit status is 1.
"""
import argparse
import sys
import time
from pathlib import Path

from connect import connect


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', dest='config_file')
    parser.add_argument('--system', required=True,
        help="the code or name of the external system of the IDs")
    parser.add_argument('--encoding', default='auto',
        choices=['auto', 'utf-8', 'gbk'])
    parser.add_argument('--dry-run', action='store_true',
        help="check the file and print what it would do, write nothing")
    parser.add_argument('file', type=Path)
    args = parser.parse_args()
    data = args.file.read_bytes()

    connect(args.database, args.config_file)
    from proteus import Model, Wizard

    System = Model.get('crm.external.system')
    systems = System.find(
        ['OR', ('code', '=', args.system), ('name', '=', args.system)])
    if len(systems) != 1:
        parser.error(f"no external system is named {args.system!r}")
    system, = systems

    wizard = Wizard('crm.customer.import')
    wizard.form.system = system
    wizard.form.file = data
    wizard.form.filename = args.file.name
    wizard.form.encoding = args.encoding
    start = time.perf_counter()
    wizard.execute('preview')
    elapsed = time.perf_counter() - start
    form = wizard.form
    print(f"{args.file}: {len(data)} bytes read as {form.codec}, "
        f"checked in {elapsed:.1f} s")
    print(f"  new customers: {form.to_create} "
        f"(of which parties found by tax identifier: {form.matched})")
    print(f"  customers to update: {form.to_update}")
    print(f"  contact persons: {form.contacts}")
    print(f"  errors: {form.error_count}")
    if form.error_count:
        print(form.errors, file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        wizard.execute('end')
        return 1
    if args.dry_run:
        print("dry run: nothing imported")
        wizard.execute('end')
        return 0
    start = time.perf_counter()
    wizard.execute('import_')
    elapsed = time.perf_counter() - start
    rows = form.to_create + form.to_update + form.contacts
    print(f"imported {rows} rows in {elapsed:.1f} s "
        f"({rows / elapsed:.0f} rows/s, the file checked again first)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
