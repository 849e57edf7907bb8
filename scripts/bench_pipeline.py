#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Time the decision whether a quotation needs a price approval.

    TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/ \\
        DB_NAME=bench_pipeline python scripts/bench_pipeline.py [--lines 200]

It activates crm_sale_pipeline in the database named by DB_NAME (a new
in-memory SQLite one by default), creates products in categories with list
and cost prices, price floors by category and by product, and one quotation
of the given number of lines, then times, over fresh instances of the sale,
the call

    Sale(sale_id).price_approval_reasons()

and the fingerprint the confirmation compares, printing the row counts, the
number of SQL queries of one call and the median and 95th percentile.
"""
import argparse
import os
import statistics
import sys
import time
from decimal import Decimal

os.environ.setdefault('TRYTOND_DATABASE__URI', 'sqlite://')
os.environ.setdefault('DB_NAME', ':memory:')


def setup(lines):
    from trytond.modules.company.tests import create_company, set_company
    from trytond.pool import Pool
    pool = Pool()
    Category = pool.get('product.category')
    Floor = pool.get('crm.sale.price_floor')
    Party = pool.get('party.party')
    Sale = pool.get('sale.sale')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    company = create_company()
    with set_company(company):
        unit, = Uom.search([('name', '=', 'Unit')])
        parents = Category.create([{'name': f"Family {i}"} for i in range(5)])
        categories = Category.create([{
                    'name': f"Category {i}", 'parent': parents[i % 5].id}
                for i in range(20)])
        templates = Template.create([{
                    'name': f"Product {i}",
                    'default_uom': unit.id,
                    'sale_uom': unit.id,
                    'type': 'service',
                    'salable': True,
                    'list_price': Decimal(1000 + i),
                    'categories': [('add', [categories[i % 20].id])],
                    'products': [('create', [{
                                    'cost_price': Decimal(600 + i)}])],
                    } for i in range(lines)])
        products = [t.products[0] for t in templates]
        Floor.create([{
                    'category': p.id, 'max_discount': Decimal('0.1')}
                for p in parents]
            + [{'product': p.id, 'min_margin': Decimal('0.3')}
                for p in products[:20]])
        party, = Party.create([{'name': "Customer"}])
        sale, = Sale.create([{
                    'party': party.id,
                    'lines': [('create', [{
                                    'product': p.id,
                                    'quantity': 2,
                                    'unit': unit.id,
                                    # every tenth line under its floor
                                    'unit_price': Decimal(850 if i % 10 == 0
                                        else 1000 + i),
                                    } for i, p in enumerate(products)])],
                    }])
    return company, sale


class QueryCounter:
    "Count the statements the cursors of the transaction execute"

    def __init__(self, connection):
        self.connection = connection
        self.count = 0

    def __enter__(self):
        counter = self
        cursor_factory = self.connection.cursor

        def cursor(*args, **kwargs):
            real = cursor_factory(*args, **kwargs)
            execute = real.execute

            def counted(*a, **k):
                counter.count += 1
                return execute(*a, **k)
            real.execute = counted
            return real
        self._original = cursor_factory
        self.connection.cursor = cursor
        return self

    def __exit__(self, *exc):
        self.connection.cursor = self._original


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lines', type=int, default=200)
    parser.add_argument('--runs', type=int, default=50)
    args = parser.parse_args()

    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME, activate_module
    from trytond.transaction import Transaction

    start = time.perf_counter()
    activate_module(['crm_sale_pipeline'])
    print(f"activation: {time.perf_counter() - start:.1f} s")
    with Transaction().start(DB_NAME, 0, context={}) as transaction:
        pool = Pool()
        Floor = pool.get('crm.sale.price_floor')
        Product = pool.get('product.product')
        Sale = pool.get('sale.sale')
        company, sale = setup(args.lines)
        with set_company(company):
            print(f"rows: {len(sale.lines)} sale lines, "
                f"{Product.search([], count=True)} products, "
                f"{Floor.search([], count=True)} price floors")
            print("timed: Sale(sale_id).price_approval_reasons() "
                "and Sale(sale_id).price_fingerprint()")
            with QueryCounter(transaction.connection) as counter:
                reasons = Sale(sale.id).price_approval_reasons()
            print(f"reasons: {len(reasons)} "
                f"({sum(r.kind == 'line' for r in reasons)} lines under "
                f"their floor); SQL statements per call: {counter.count}")
            for name, call in [
                    ('price_approval_reasons',
                        lambda: Sale(sale.id).price_approval_reasons()),
                    ('price_fingerprint',
                        lambda: Sale(sale.id).price_fingerprint()),
                    ]:
                timings = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    call()
                    timings.append((time.perf_counter() - start) * 1000)
                timings.sort()
                p95 = timings[int(len(timings) * 0.95) - 1]
                print(f"{name}: median {statistics.median(timings):.1f} ms, "
                    f"95th percentile {p95:.1f} ms over {args.runs} runs")
        transaction.rollback()


if __name__ == '__main__':
    sys.exit(main())
