# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""What matters of a company's history, read back through Tryton (its
computed fields included), to compare the ORM and the bulk paths."""
from collections import defaultdict

from proteus import Model

from .setup import use_company


def summary(config, company):
    "Return a dict of comparable facts about the history of the company"
    use_company(config, company)
    Invoice = Model.get('account.invoice', config=config)
    Sale = Model.get('sale.sale', config=config)
    MoveLine = Model.get('account.move.line', config=config)
    Reconciliation = Model.get('account.move.reconciliation', config=config)
    TaxLine = Model.get('account.tax.line', config=config)
    Party = Model.get('party.party', config=config)
    company_domain = [('company', '=', company.id)]

    invoices = [(i.number, i.invoice_date, i.sequence_type_cache, i.state,
            i.party.name, i.untaxed_amount, i.tax_amount, i.total_amount,
            i.amount_to_pay, i.reconciled, len(i.payment_lines),
            [(l.product.name, l.quantity, l.unit_price,
                    l.origin.__class__.__name__) for l in i.lines],
            [(l.maturity_date, l.debit, l.credit) for l in i.lines_to_pay],
            (i.move.number, i.move.date, i.move.period.rec_name,
                i.move.state))
        for i in Invoice.find(company_domain)]
    invoices.sort(key=lambda i: (i[1].year, int(i[0])))

    sales = sorted((s.number, s.sale_date, s.state, s.invoice_state,
            s.party.name, s.untaxed_amount, s.total_amount,
            [i.number for i in s.invoices])
        for s in Sale.find(company_domain))

    per_account = defaultdict(lambda: [0, 0, 0])
    moves = set()
    for line in MoveLine.find([('move.company', '=', company.id)]):
        sums = per_account[line.account.code or line.account.name]
        sums[0] += 1
        sums[1] += line.debit
        sums[2] += line.credit
        moves.add((line.move.journal.code, line.move.number, line.move.date,
                line.move.origin.__class__.__name__, line.move.state))

    reconciliations = sorted(
        (r.number, r.date, len(r.lines), sum(l.debit for l in r.lines))
        for r in Reconciliation.find(company_domain))

    tax_lines = defaultdict(int)
    for line in TaxLine.find([('move_line.move.company', '=', company.id)]):
        tax_lines[line.type] += line.amount

    customers = Model.get('crm.customer', config=config).find(
        company_domain)
    receivables = sorted(
        (p.name, p.receivable, p.receivable_today)
        for p in Party.find([('id', 'in', [c.party.id for c in customers])]))

    return {
        'invoices': invoices,
        'sales': sales,
        'accounts': dict(per_account),
        'moves': sorted(moves),
        'reconciliations': reconciliations,
        'tax lines': dict(tax_lines),
        'receivables': receivables,
        'customers': _customers(customers),
        }


def _customers(customers):
    """Return the master data of the customers in the order of their party
    codes, each code given as its distance from the first"""
    customers = sorted(customers, key=lambda c: c.party.code_digit)
    first = customers[0].party.code_digit if customers else 0
    return [(c.party.code_digit - first, c.party.code_alnum == c.party.code,
            c.party.name, c.party.name_pinyin,
            [(a.street, a.city, a.postal_code, a.country.code,
                    a.subdivision.code, a.active, a.full_address)
                for a in c.party.addresses],
            sorted((m.type, m.value, m.value_compact, m.active)
                for m in c.party.contact_mechanisms),
            c.party.customer_payment_term.name,
            c.customer_type, c.industry and c.industry.name, c.source.name,
            c.size, c.owner.rec_name, c.team.name, c.vip, c.key_account,
            c.lifecycle_stage, c.birthday_calendar, c.active,
            c.region and c.region.code)
        for c in customers]


def differences(first, second):
    "Return the keys of the summaries that differ, with the first difference"
    result = {}
    for key in first:
        a, b = first[key], second[key]
        if a != b:
            if isinstance(a, list):
                diff = next(((x, y) for x, y in zip(a, b) if x != y),
                    (len(a), len(b)))
            else:
                diff = (a, b)
            result[key] = diff
    return result
