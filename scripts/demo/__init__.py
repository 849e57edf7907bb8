# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Build the demo trading company: master data through proteus, the history
through Tryton's workflow (ORM) or written in bulk with python-sql."""
import datetime as dt
import time

from . import bulk, orm, pipeline, plan, setup


def generate(config, count, seed, use_bulk, name=plan.COMPANY_NAME,
        today=None, log=print):
    "Build the company; return it with the plan it was built from"
    if today is None:
        today = dt.date.today()
    start = time.monotonic()
    company, orders = setup.build(
        config, name, seed, count, today, use_bulk)
    log(f"master data: {count} customers, {len(orders)} orders planned "
        f"in {time.monotonic() - start:.1f} s")
    start = time.monotonic()
    events = list(plan.events(orders))
    if use_bulk:
        bulk.history(config, company, events)
    else:
        orm.history(config, company, events)
    elapsed = time.monotonic() - start
    lines = sum(len(o.lines) for o in orders)
    log(f"history ({'bulk' if use_bulk else 'ORM'}): {len(orders)} invoices, "
        f"{lines} invoice lines in {elapsed:.1f} s "
        f"({len(orders) / elapsed:.0f} invoices/s, "
        f"{lines / elapsed:.0f} lines/s)")
    if pipeline.active(config):
        pipeline.generate(
            config, company, seed, today, max(30, count // 3), log=log)
    return company
