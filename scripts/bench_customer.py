#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Measure the figures of crm_customer on a database filled by
scripts/demo_data.py (100 000 customers and a million invoice lines for the
reference figures):

- tier and lifecycle recomputation for all customers;
- the alert cron over all customers, twice (the second creates nothing);
- the party search box by a mobile number written three usual ways;
- reading the 360° view of the customer with the most invoices.

    python scripts/bench_customer.py --database crm_bench [--config FILE]

It prints the row counts present, each call it timed and its figures.
"""
import argparse
import random
import statistics
import sys
import time


def percentile(values, ratio):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(ratio * (len(values) - 1))))]


def timed(label, call, repeat=1):
    "Run call, print and return its durations in ms"
    durations = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        durations.append((time.perf_counter() - start) * 1000)
    if repeat == 1:
        print(f"  {label}: {durations[0]:.0f} ms")
    else:
        print(f"  {label}: p50 {statistics.median(durations):.2f} ms, "
            f"p95 {percentile(durations, 0.95):.2f} ms over {repeat} calls")
    return durations, result


def main():
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', dest='config_file')
    parser.add_argument('--searches', type=int, default=300)
    args = parser.parse_args()

    from sql.aggregate import Count

    from trytond.config import config
    if args.config_file:
        config.update_etc(args.config_file)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(args.database)
    pool.init()

    with Transaction().start(args.database, 0) as transaction:
        cursor = transaction.connection.cursor()
        print(f"database {args.database} "
            f"({transaction.database.__class__.__module__})")
        print("rows present:")
        for table in ['party_party', 'party_contact_mechanism',
                'crm_customer', 'account_invoice', 'account_invoice_line',
                'account_move_line', 'crm_activity', 'crm_alert']:
            try:
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            except Exception:
                transaction.rollback()
                continue
            print(f"  {table}: {cursor.fetchone()[0]}")
        Company = pool.get('company.company')
        company, = Company.search([], limit=1)
        company_id = company.id

    context = {'company': company_id, 'companies': [company_id]}
    with Transaction().start(args.database, 0, context=context) as transaction:
        Customer = pool.get('crm.customer')
        company = pool.get('company.company')(company_id)
        print("tier and lifecycle recomputation:")
        timed("Customer.update_classification(company)",
            lambda: Customer.update_classification(company))
        transaction.commit()

    with Transaction().start(args.database, 0, context=context) as transaction:
        Rule = pool.get('crm.alert.rule')
        Alert = pool.get('crm.alert')
        rules = Rule.search([])
        print(f"alert cron over {len(rules)} rules "
            f"({', '.join(sorted({r.kind for r in rules}))}):")
        for run in (1, 2):
            before = Alert.search_count([])
            timed(f"run {run}: AlertRule.generate_alerts(rules)",
                lambda: Rule.generate_alerts(rules))
            print(f"    alerts created: {Alert.search_count([]) - before}")
            transaction.commit()

    def rpc(call):
        "Run call in its own transaction as a client's request is"
        def request():
            with Transaction().start(args.database, 1, context=context,
                    readonly=True):
                return call()
        return request

    with Transaction().start(args.database, 1, context=context,
            readonly=True) as transaction:
        Mechanism = pool.get('party.contact_mechanism')
        Customer = pool.get('crm.customer')
        mechanism = Mechanism.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*mechanism.select(mechanism.value_compact,
                where=(mechanism.type == 'mobile')
                & mechanism.value_compact.like('+861%')))
        mobiles = [m for m, in cursor]
        invoice_table = pool.get('account.invoice').__table__()
        count = Count(invoice_table.id)
        # The customer whose invoice count is nearest above 200
        cursor.execute(*invoice_table.select(
                invoice_table.party, count,
                where=invoice_table.type == 'out',
                group_by=[invoice_table.party],
                having=count >= 200,
                order_by=[count.asc], limit=1))
        party_id, invoices = cursor.fetchone()
        customer, = Customer.search([('party', '=', party_id)])
        form = Customer.fields_view_get(view_type='form')
        names = sorted(form['fields'])

    Party = pool.get('party.party')
    rng = random.Random(1)
    sample = rng.sample(mobiles, min(args.searches, len(mobiles)))
    print(f"search box by mobile number ({len(sample)} numbers among "
        f"{len(mobiles)}, three forms each, one transaction per search):")
    forms = {
        'national': lambda n: n[3:],
        'international': lambda n: f'+86 {n[3:6]} {n[6:10]} {n[10:]}',
        'prefixed': lambda n: f'0086-{n[3:6]}-{n[6:10]}-{n[10:]}',
        }
    for name, form_of in forms.items():
        texts = iter([form_of(n) for n in sample])
        found = []
        timed(f"Party.search([('rec_name', 'ilike', "
            f"'%{form_of(sample[0])}%')], limit=1000) and the other "
            f"{name} forms",
            rpc(lambda: found.append(bool(Party.search([
                                ('rec_name', 'ilike', f'%{next(texts)}%')],
                            limit=1000)))),
            repeat=len(sample))
        assert all(found), f"a sampled {name} number was not found"

    print(f"360° view of a customer with {invoices} invoices "
        f"(the {len(names)} fields of its form, warm, one transaction "
        "per read):")
    print(f"  names = {names}")
    read = rpc(lambda: Customer.read([customer.id], names))
    read()  # warm the caches
    timed(f"Customer.read([{customer.id}], names)", read, repeat=50)


if __name__ == '__main__':
    main()
