# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The 360° view of a customer: its accounting figures, read in SQL for all
the customers displayed at once."""
from collections import defaultdict
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Window
from sql.aggregate import Count, Sum
from sql.conditionals import Case
from sql.functions import RowNumber
from sql.operators import Exists

from trytond import backend
from trytond.model import Index, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction

from .activity import company_today


def _by_company(customers):
    "Group the customers by company"
    companies = defaultdict(list)
    for customer in customers:
        companies[customer.company].append(customer)
    return companies.items()


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The 360° view reads the invoices of a party and tells the moves
        # of invoices from payments
        cls._sql_indexes.update({
                Index(t,
                    (t.party, Index.Range()),
                    (t.invoice_date, Index.Range())),
                Index(t, (t.move, Index.Range())),
                })


class Customer360(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    receivable = fields.Function(Monetary(
            "Receivable", currency='currency', digits='currency',
            help="What the customer owes, due or not."),
        'get_receivable')
    overdue = fields.Function(Monetary(
            "Overdue", currency='currency', digits='currency',
            help="What the customer owes and was due before today."),
        'get_receivable')
    revenue_lifetime = fields.Function(Monetary(
            "Lifetime Revenue", currency='currency', digits='currency',
            help="The untaxed amount of all the posted invoices."),
        'get_revenue')
    revenue_12_months = fields.Function(Monetary(
            "Revenue of the Last 12 Months", currency='currency',
            digits='currency'),
        'get_revenue')
    last_invoice = fields.Function(
        fields.Many2One('account.invoice', "Last Invoice"),
        'get_last_invoice')
    last_payment_date = fields.Function(
        fields.Date("Last Payment"), 'get_last_payment')
    last_payment_amount = fields.Function(Monetary(
            "Last Payment Amount", currency='currency', digits='currency'),
        'get_last_payment')

    def get_currency(self, name):
        return self.company.currency.id

    @classmethod
    def get_receivable(cls, customers, names):
        pool = Pool()
        Party = pool.get('party.party')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        columns = {'receivable': 'receivable', 'overdue': 'receivable_today'}
        result = {name: defaultdict(Decimal) for name in names}
        for company, company_customers in _by_company(customers):
            by_party = {c.party.id: c.id for c in company_customers}
            yesterday = company_today(company) - relativedelta(days=1)
            for parties in grouped_slice(
                    [c.party for c in company_customers], 1000):
                # Due by yesterday is overdue today
                with transaction.set_context(date=yesterday):
                    query = Party._receivable_payable_query(
                        [columns[n] for n in names], company, parties)
                if backend.name == 'sqlite':
                    sqlite_apply_types(query, [None] + ['NUMERIC'] * len(names))
                cursor.execute(*query)
                for party_id, *values in cursor:
                    for name, value in zip(names, values):
                        result[name][by_party[party_id]] = (
                            company.currency.round(value))
        return result

    @classmethod
    def get_revenue(cls, customers, names):
        cursor = Transaction().connection.cursor()
        result = {name: defaultdict(Decimal) for name in names}
        for company, company_customers in _by_company(customers):
            by_party = {c.party.id: c.id for c in company_customers}
            year_ago = company_today(company) - relativedelta(months=12)
            invoices = cls._posted_invoice_amounts(company)
            for sub in grouped_slice(list(by_party), 1000):
                query = invoices.select(
                    invoices.party.as_('party'),
                    Sum(invoices.amount).as_('revenue_lifetime'),
                    Sum(invoices.amount,
                        filter_=invoices.date >= year_ago).as_(
                        'revenue_12_months'),
                    where=fields.SQL_OPERATORS['in'](invoices.party, sub),
                    group_by=[invoices.party])
                if backend.name == 'sqlite':
                    sqlite_apply_types(query, [None, 'NUMERIC', 'NUMERIC'])
                cursor.execute(*query)
                for party_id, lifetime, last_12 in cursor:
                    customer_id = by_party[party_id]
                    values = {
                        'revenue_lifetime': lifetime,
                        'revenue_12_months': last_12,
                        }
                    for name in names:
                        result[name][customer_id] = company.currency.round(
                            Decimal(values[name] or 0))
        return result

    @classmethod
    def get_last_invoice(cls, customers, name):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoice = Invoice.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys((c.id for c in customers), None)
        for company, company_customers in _by_company(customers):
            by_party = {c.party.id: c.id for c in company_customers}
            for sub in grouped_slice(list(by_party), 1000):
                rank = RowNumber(window=Window([invoice.party],
                        order_by=[invoice.invoice_date.desc, invoice.id.desc]))
                ranked = invoice.select(
                    invoice.id, invoice.party, rank.as_('rank'),
                    where=fields.SQL_OPERATORS['in'](invoice.party, sub)
                    & (invoice.company == company.id)
                    & (invoice.type == 'out')
                    & invoice.state.in_(['posted', 'paid']))
                cursor.execute(*ranked.select(
                        ranked.party, ranked.id, where=ranked.rank == 1))
                for party_id, invoice_id in cursor:
                    result[by_party[party_id]] = invoice_id
        return result

    @classmethod
    def get_last_payment(cls, customers, names):
        """The last credit on a receivable account that is not the move of
        an invoice (a credit note): a payment however it was recorded"""
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        Invoice = pool.get('account.invoice')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        account = Account.__table__()
        account_type = AccountType.__table__()
        invoice = Invoice.__table__()
        move = Move.__table__()
        line = MoveLine.__table__()
        cursor = Transaction().connection.cursor()
        result = {name: dict.fromkeys((c.id for c in customers), None)
            for name in names}
        for company, company_customers in _by_company(customers):
            by_party = {c.party.id: c.id for c in company_customers}
            for sub in grouped_slice(list(by_party), 1000):
                rank = RowNumber(window=Window([line.party],
                        order_by=[move.date.desc, line.id.desc]))
                ranked = (line
                    .join(move, condition=line.move == move.id)
                    .join(account, condition=line.account == account.id)
                    .join(account_type,
                        condition=account.type == account_type.id)
                    .select(
                        line.party, move.date,
                        (line.credit - line.debit).as_('amount'),
                        rank.as_('rank'),
                        where=fields.SQL_OPERATORS['in'](line.party, sub)
                        & (account.company == company.id)
                        & account_type.receivable
                        & (line.credit > 0)
                        & ~Exists(invoice.select(invoice.id,
                                where=invoice.move == line.move))))
                query = ranked.select(
                    ranked.party.as_('party'), ranked.date.as_('date'),
                    ranked.amount.as_('amount'),
                    where=ranked.rank == 1)
                if backend.name == 'sqlite':
                    sqlite_apply_types(query, [None, 'DATE', 'NUMERIC'])
                cursor.execute(*query)
                for party_id, date, amount in cursor:
                    customer_id = by_party[party_id]
                    if 'last_payment_date' in result:
                        result['last_payment_date'][customer_id] = date
                    if 'last_payment_amount' in result:
                        result['last_payment_amount'][customer_id] = (
                            company.currency.round(Decimal(amount)))
        return result


class Customer360CreditLimit(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    credit_limit_amount = fields.Function(Monetary(
            "Credit Limit", currency='currency', digits='currency'),
        'get_credit')
    credit_amount = fields.Function(Monetary(
            "Credit Used", currency='currency', digits='currency'),
        'get_credit')
    credit_usage = fields.Function(fields.Float(
            "Credit Usage", digits=(1, 4),
            help="The share of the credit limit in use."),
        'get_credit')

    @classmethod
    def get_credit(cls, customers, names):
        pool = Pool()
        Party = pool.get('party.party')
        result = {name: {} for name in names}
        for company, company_customers in _by_company(customers):
            with Transaction().set_context(company=company.id):
                parties = Party.browse([c.party.id for c in company_customers])
                for customer, party in zip(company_customers, parties):
                    limit, used = party.credit_limit_amount, party.credit_amount
                    values = {
                        'credit_limit_amount': limit,
                        'credit_amount': used,
                        'credit_usage': (
                            float(used / limit) if limit else None),
                        }
                    for name in names:
                        result[name][customer.id] = values[name]
        return result


class Customer360SaleOpportunity(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    open_opportunities = fields.Function(fields.Integer(
            "Open Opportunities",
            help="The leads and opportunities of the customer."),
        'get_open_opportunities')
    open_opportunities_amount = fields.Function(Monetary(
            "Open Opportunities Amount", currency='currency',
            digits='currency',
            help="The estimated revenue of the open opportunities in the "
            "company's currency."),
        'get_open_opportunities')

    @classmethod
    def get_open_opportunities(cls, customers, names):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        opportunity = Opportunity.__table__()
        cursor = Transaction().connection.cursor()
        result = {name: dict.fromkeys((c.id for c in customers), 0)
            for name in names}
        if 'open_opportunities_amount' in result:
            result['open_opportunities_amount'] = {
                c.id: Decimal(0) for c in customers}
        for company, company_customers in _by_company(customers):
            by_party = {c.party.id: c.id for c in company_customers}
            for sub in grouped_slice(list(by_party), 1000):
                in_currency = Case(
                    (opportunity.currency == company.currency.id,
                        opportunity.amount))
                query = opportunity.select(
                    opportunity.party.as_('party'),
                    Count(opportunity.id).as_('open_opportunities'),
                    Sum(in_currency).as_('open_opportunities_amount'),
                    where=fields.SQL_OPERATORS['in'](opportunity.party, sub)
                    & (opportunity.company == company.id)
                    & opportunity.state.in_(['lead', 'opportunity']),
                    group_by=[opportunity.party])
                if backend.name == 'sqlite':
                    sqlite_apply_types(query, [None, None, 'NUMERIC'])
                cursor.execute(*query)
                for party_id, count, amount in cursor:
                    customer_id = by_party[party_id]
                    values = {
                        'open_opportunities': count,
                        'open_opportunities_amount': company.currency.round(
                            Decimal(amount or 0)),
                        }
                    for name in names:
                        result[name][customer_id] = values[name]
        return result
