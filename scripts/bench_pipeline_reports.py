#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Time the pipeline reports as a sales manager opens them (PostgreSQL).

    TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/ \\
        python scripts/bench_pipeline_reports.py --database pipeline_bench \\
        [--opportunities 200000] [--moves 10] [--runs 7] [--drop]

When the database is missing it is made, crm_sale_pipeline activated and
filled: the demo company of scripts/demo (accounting, products, its staff
and sales teams, --customers customers and their sources), the demo's
stages and loss reasons, then --opportunities opportunities started over
three years, each with --moves stage changes (its creation included),
written in bulk with COPY.  A database that is present is reused as it is
(the fill takes a few minutes); --drop drops it at the end.

Then, as a CRM manager (not the root user: access rights and record rules
apply) and in a transaction per call as the server runs a request, it opens
each report from the menu the way the web client does:

    Context.default_get(names)                        the context form
    Report.search_read([], 0, 1000, None, list names)  the list, first page
    Report.search_read([], 0, None, None, graph names) the graph, every row

with the context the form gives (and the list again for one sales team), and prints the rows present, the rows each
report returns, the time of a first (cold) run and the median and 95th
percentile of --runs more.
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
# (report, context model)
REPORTS = [
    ('crm.sale.pipeline.forecast', 'crm.sale.pipeline.forecast.context'),
    ('crm.sale.pipeline.conversion', 'crm.sale.pipeline.analysis.context'),
    ('crm.sale.pipeline.monthly', 'crm.sale.pipeline.analysis.context'),
    ('crm.sale.pipeline.source', 'crm.sale.pipeline.analysis.context'),
    ]
TARGET = 2.0  # seconds per call
MANAGER = 'pipeline_manager'


def percentile(values, ratio):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(ratio * (len(values) - 1))))]


def fill(config, args):
    """Build the demo company with its customers and write the pipeline in
    bulk; return the id of the manager user"""
    from proteus import Model

    from trytond.pool import Pool

    # Importing the demo imports Tryton's test tools, which switch the pool
    # to test mode: a real database is not in it
    test_mode = Pool.test
    from demo import pipeline, plan, setup
    Pool.test = test_mode
    today = dt.date.today()
    start = time.monotonic()
    company, _ = setup.build(config, plan.COMPANY_NAME, args.seed,
        args.customers, today, use_bulk=True)
    stages, reasons, competitors = pipeline.configure(config, company.record)
    ids = pipeline.record_ids(config, company.record, company.parties,
        stages, reasons, competitors)
    print(f"  company, {args.customers} customers, "
        f"{len(ids['employees'])} salespeople: "
        f"{time.monotonic() - start:.0f} s")
    start = time.monotonic()
    deals = pipeline.deals(args.seed, args.opportunities, company.customers,
        len(ids['employees']), today, moves=args.moves, days=3 * 365)
    opportunities, moves = pipeline.write_bulk(
        config, company.record.id, deals, ids)
    print(f"  {opportunities} opportunities, {moves} stage changes "
        f"written in bulk: {time.monotonic() - start:.0f} s")

    Group = Model.get('res.group')
    User = Model.get('res.user')
    manager = User(login=MANAGER, name="Pipeline Manager")
    manager.groups.extend(
        Group.find([('name', 'in', ["CRM User", "CRM Manager"])]))
    manager.companies.append(company.record)
    manager.company = company.record
    manager.save()
    return manager.id


def analyze(database):
    "Refresh the planner's statistics and the visibility map"
    from trytond import backend
    db = backend.Database(database).connect()
    connection = db.get_connection(autocommit=True)
    try:
        start = time.monotonic()
        connection.cursor().execute('VACUUM ANALYZE')
        print(f"  VACUUM ANALYZE: {time.monotonic() - start:.0f} s")
    finally:
        db.put_connection(connection)


def rows_present(database):
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True) as transaction:
        cursor = transaction.connection.cursor()
        counts = []
        for table in ['party_party', 'company_employee', 'crm_team',
                'crm_sale_stage', 'sale_opportunity',
                'crm_sale_stage_history']:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts.append(f"{table} {cursor.fetchone()[0]}")
        print("rows present: " + ', '.join(counts))


def view_names(Model, view_type):
    "The names the client reads for a view: its fields, rec_name of links"
    names = []
    for name, field in Model.fields_view_get(
            view_type=view_type)['fields'].items():
        names.append(name)
        if field['type'] == 'many2one':
            names.append(f'{name}.rec_name')
    return names


def bench(database, user_id, runs):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    User = pool.get('res.user')
    with Transaction().start(database, user_id, readonly=True):
        preferences = User.get_preferences(context_only=True)
    # What the server adds to the context of a client's call
    preferences['_check_access'] = True

    def request(call, context=preferences):
        with Transaction().start(database, user_id, context=context,
                readonly=True):
            return call()

    with Transaction().start(database, user_id, context=preferences,
            readonly=True):
        team = pool.get('crm.team').search([], limit=1, order=[('id', 'ASC')])
        team_id = team[0].id if team else None

    worst = 0
    for report, context_model in REPORTS:
        Report = pool.get(report)
        Context = pool.get(context_model)
        with Transaction().start(database, user_id, context=preferences,
                readonly=True):
            context_names = [n for n in Context._fields if n != 'id']
            list_names = view_names(Report, 'tree')
            graph_names = view_names(Report, 'graph')
        values = request(lambda: Context.default_get(
                context_names, with_rec_name=False))
        context = dict(preferences, **values)
        print(f"{report} with {values}:")
        calls = [
            (f"{Context.__name__}.default_get({context_names})",
                lambda: Context.default_get(
                    context_names, with_rec_name=False),
                preferences),
            (f"{Report.__name__}.search_read([], 0, 1000, None, "
                f"{list_names})",
                lambda: Report.search_read(
                    [], 0, 1000, None, list(list_names)),
                context),
            (f"{Report.__name__}.search_read([], 0, None, None, "
                f"{graph_names})",
                lambda: Report.search_read(
                    [], 0, None, None, list(graph_names)),
                context),
            (f"the list again for the sales team {team_id}",
                lambda: Report.search_read(
                    [], 0, 1000, None, list(list_names)),
                dict(context, sales_team=team_id)),
            ]
        for label, call, call_context in calls:
            start = time.perf_counter()
            result = request(call, call_context)
            first = time.perf_counter() - start
            timings = []
            for _ in range(runs):
                start = time.perf_counter()
                request(call, call_context)
                timings.append(time.perf_counter() - start)
            rows = f"{len(result)} rows, " if isinstance(result, list) else ''
            p95 = percentile(timings, 0.95)
            worst = max(worst, p95)
            print(f"  {label}\n    {rows}first {first:.3f} s, "
                f"median {statistics.median(timings):.3f} s, "
                f"p95 {p95:.3f} s over {runs} runs")
    print(f"slowest p95: {worst:.3f} s (target < {TARGET} s)")
    return worst


def drop(database):
    from trytond import backend
    backend.Database(database).close()
    db = backend.Database().connect()
    connection = db.get_connection(autocommit=True)
    try:
        db.drop(connection, database)
    finally:
        db.put_connection(connection)
    print(f"database {database} dropped")


def main():
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--opportunities', type=int, default=200_000)
    parser.add_argument('--moves', type=int, default=10,
        help="stage changes per opportunity, its creation included")
    parser.add_argument('--customers', type=int, default=5000)
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--drop', action='store_true',
        help="drop the database at the end")
    args = parser.parse_args()
    if not os.environ.get('TRYTOND_DATABASE__URI', '').startswith(
            'postgresql'):
        parser.error("set TRYTOND_DATABASE__URI to a PostgreSQL server")

    sys.path.insert(0, str(SCRIPTS))
    from connect import connect, create_database
    created = create_database(args.database, ['crm_sale_pipeline'])
    config = connect(args.database)
    print(f"database {args.database} ({'made' if created else 'present'}), "
        f"{os.cpu_count()} CPUs")
    from proteus import Model
    if created:
        user_id = fill(config, args)
        analyze(args.database)
    else:
        user_id, = [u.id for u in Model.get('res.user').find(
                [('login', '=', MANAGER)])]
    rows_present(args.database)
    worst = bench(args.database, user_id, args.runs)
    if args.drop:
        drop(args.database)
    return 0 if worst < TARGET else 1


if __name__ == '__main__':
    sys.exit(main())
