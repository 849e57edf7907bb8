# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""SQL that follows a deal from the opportunity to its sales, their
invoices and what the customer paid on them."""
from sql import Cast, Null, Union
from sql.aggregate import Sum
from sql.conditionals import Case
from sql.operators import Concat

from trytond import backend
from trytond.pool import Pool

# The invoices that count: posted, paid; never drafts nor cancelled ones
INVOICED_STATES = ['posted', 'paid']


def numeric(column):
    "A Numeric column for SQL arithmetic: SQLite stores Decimal as bytes"
    if backend.name == 'sqlite':
        return Cast(column, 'NUMERIC')
    return column


def reference(model, column):
    "The value of a Reference field pointing at the record of the column"
    return Concat(f'{model},', Cast(column, 'VARCHAR'))


def customer_moves(sale):
    """Return the join of the table of sales with their lines and the moves
    of those lines to customers, and the table of the moves"""
    pool = Pool()
    Location = pool.get('stock.location')
    Move = pool.get('stock.move')
    SaleLine = pool.get('sale.line')
    line = SaleLine.__table__()
    move = Move.__table__()
    location = Location.__table__()
    return (sale
        .join(line, condition=line.sale == sale.id)
        .join(move, condition=move.origin == reference(
                SaleLine.__name__, line.id))
        .join(location,
            condition=(move.to_location == location.id)
            & (location.type == 'customer'))), move


def sale_invoices_query(sales):
    """Return the query of the (sale, invoice) pairs of the posted customer
    invoices of the sales, a query of sale ids"""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    InvoiceLine = pool.get('account.invoice.line')
    SaleLine = pool.get('sale.line')
    invoice = Invoice.__table__()
    invoice_line = InvoiceLine.__table__()
    sale_line = SaleLine.__table__()
    return (sale_line
        .join(invoice_line,
            condition=invoice_line.origin == reference(
                SaleLine.__name__, sale_line.id))
        .join(invoice, condition=invoice_line.invoice == invoice.id)
        .select(
            sale_line.sale.as_('sale'), invoice.id.as_('invoice'),
            where=sale_line.sale.in_(sales)
            & invoice.state.in_(INVOICED_STATES),
            group_by=[sale_line.sale, invoice.id]))


def _amount(line):
    "The amount of a receivable line in the currency of its invoice"
    return Case(
        (line.second_currency != Null, numeric(line.amount_second_currency)),
        else_=numeric(line.debit) - numeric(line.credit))


def _lines_to_pay_query(sales):
    """Return the query of the receivable lines of the sales' posted
    invoices: sale, amount and reconciliation"""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    MoveLine = pool.get('account.move.line')
    pairs = sale_invoices_query(sales)
    invoice = Invoice.__table__()
    line = MoveLine.__table__()
    return (pairs
        .join(invoice, condition=pairs.invoice == invoice.id)
        .join(line,
            condition=(line.move == invoice.move)
            & (line.account == invoice.account))
        .select(pairs.sale.as_('sale'), _amount(line).as_('amount'),
            line.reconciliation.as_('reconciliation')))


def sale_invoiced_query(sales):
    """Return the query of the amount invoiced per sale of the sales, a
    query of sale ids: what its posted invoices ask the customer to pay"""
    lines = _lines_to_pay_query(sales)
    return lines.select(
        lines.sale.as_('sale'), Sum(lines.amount).as_('amount'),
        group_by=[lines.sale])


def sale_payments_query(sales):
    """Return the query of the amount paid per sale of the sales, a query of
    sale ids: the invoice's receivable lines that are reconciled, however
    the payment was recorded, plus the partial payments linked to the
    invoices and not reconciled yet"""
    pool = Pool()
    MoveLine = pool.get('account.move.line')
    PaymentLine = pool.get('account.invoice-account.move.line')

    lines = _lines_to_pay_query(sales)
    settled = lines.select(lines.sale, lines.amount,
        where=lines.reconciliation != Null)

    pairs = sale_invoices_query(sales)
    payment = PaymentLine.__table__()
    line = MoveLine.__table__()
    partial = (pairs
        .join(payment, condition=payment.invoice == pairs.invoice)
        .join(line, condition=payment.line == line.id)
        .select(pairs.sale, (-_amount(line)).as_('amount'),
            where=line.reconciliation == Null))

    paid = Union(settled, partial, all_=True)
    return paid.select(
        paid.sale.as_('sale'), Sum(paid.amount).as_('amount'),
        group_by=[paid.sale])
