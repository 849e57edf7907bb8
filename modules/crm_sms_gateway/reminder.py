# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Payment reminders by text for overdue customer invoices."""
import datetime
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Max, Min, Sum
from sql.conditionals import Coalesce

from trytond.model import fields
from trytond.modules.crm_customer.activity import company_today
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .message import utc_now


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    sms_overdue_template = fields.Many2One(
        'crm.sms.template', "SMS Overdue Reminder",
        domain=[('kind', '=', 'transactional')],
        help="The text sent to customers whose invoices are overdue; "
        "no reminder is sent without it.\n"
        "It may use {invoice}, {amount} and {due_date}.")
    sms_overdue_interval = fields.Integer(
        "SMS Overdue Reminder Interval", required=True,
        domain=[('sms_overdue_interval', '>', 0)],
        states={
            'invisible': ~Eval('sms_overdue_template'),
            },
        help="Days between two reminders of the same invoice.")

    @classmethod
    def default_sms_overdue_interval(cls):
        return 7


class Template(metaclass=PoolMeta):
    __name__ = 'crm.sms.template'

    @classmethod
    def placeholders(cls):
        return super().placeholders() | {'invoice', 'amount', 'due_date'}


class Message(metaclass=PoolMeta):
    __name__ = 'crm.sms.message'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['account.invoice']

    @classmethod
    def remind_overdue_invoices(cls):
        "Text each customer about its overdue invoices, once an interval"
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('crm.configuration')
        Invoice = pool.get('account.invoice')
        Lang = pool.get('ir.lang')
        configuration = Configuration(1)
        template = configuration.sms_overdue_template
        if not template:
            return
        company = template.company
        lang = Lang.get()
        with Transaction().set_context(company=company.id):
            company = Company(company.id)
            rows = cls._overdue_invoices(company,
                configuration.sms_overdue_interval)
        invoices = Invoice.browse([r[0] for r in rows])
        for invoice, (_, number, amount, due_date) in zip(invoices, rows):
            party = invoice.party
            language = party.lang.code if party.lang else None
            cls.send_template(template, number, language=language,
                party=party, document=invoice, values={
                    'invoice': invoice.number or '',
                    # SQLite may sum to a float
                    'amount': lang.currency(
                        Decimal(str(amount)), invoice.currency,
                        grouping=True),
                    'due_date': lang.strftime(due_date),
                    })

    @classmethod
    def _overdue_invoices(cls, company, interval):
        """(invoice, mobile number, amount due, first due date) of the posted
        customer invoices of company past due in its time zone, whose party
        has a mobile number and that had no reminder in interval days"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        Mechanism = pool.get('party.contact_mechanism')
        invoice = Invoice.__table__()
        line = MoveLine.__table__()
        account = Account.__table__()
        account_type = AccountType.__table__()
        mechanism = Mechanism.__table__()
        message = cls.__table__()
        cursor = Transaction().connection.cursor()
        today = company_today(company)
        since = utc_now() - datetime.timedelta(days=interval)
        cursor.execute(*message.select(message.document,
                where=(message.company == company.id)
                & (message.direction == 'out')
                & message.document.like('account.invoice,%')
                & (message.create_date >= since)
                & ~message.state.in_(['cancelled', 'failed'])))
        reminded = {int(d.split(',')[1]) for d, in cursor}
        mobile = mechanism.select(mechanism.party,
            Min(mechanism.value_compact).as_('number'),
            where=(mechanism.type == 'mobile')
            & (mechanism.active == Literal(True))
            & (mechanism.value_compact != Null),
            group_by=[mechanism.party])
        cursor.execute(*invoice
            .join(line, condition=line.move == invoice.move)
            .join(account, condition=line.account == account.id)
            .join(account_type, condition=account.type == account_type.id)
            .join(mobile, condition=mobile.party == invoice.party)
            .select(invoice.id, Max(mobile.number),
                Sum(Coalesce(line.debit, 0) - Coalesce(line.credit, 0)),
                Min(line.maturity_date),
                where=(invoice.company == company.id)
                & (invoice.type == 'out')
                & (invoice.state == 'posted')
                & (account_type.receivable == Literal(True))
                & (line.reconciliation == Null)
                & (line.maturity_date < today),
                group_by=[invoice.id],
                having=Sum(Coalesce(line.debit, 0)
                    - Coalesce(line.credit, 0)) > 0,
                order_by=[invoice.id]))
        # SQLite gives the dates of aggregates as text
        return [(i, number, amount, due if isinstance(due, datetime.date)
                else datetime.date.fromisoformat(due))
            for i, number, amount, due in cursor if i not in reminded]
