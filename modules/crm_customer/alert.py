# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Relationship alerts: rules that the daily cron turns into follow-ups for
the owners of the customers, at most once per rule, customer and period."""
import datetime as dt
import json
from collections import defaultdict
from email.message import EmailMessage

from genshi.template import TextTemplate
from sql import Cast, Literal, Null, Union
from sql.aggregate import Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.operators import Concat, Exists

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.sendmail import sendmail_transactional
from trytond.tools import grouped_slice
from trytond.tools.email_ import format_address
from trytond.transaction import Transaction

from .activity import company_midnight, company_today
from .calendar_cn import FESTIVALS, birthday_keys_between, festivals_between

ALERT_KINDS = [
    ('revisit', "Periodic Revisit"),
    ('birthday', "Birthday"),
    ('festival', "Festival Greetings"),
    ('after_sales', "After-Sales Follow-up"),
    ('overdue', "Overdue Receivable"),
    ('churn', "No Purchase (Churn Risk)"),
    ]
COMPLAINT_KIND = ('complaint', "Unresolved Complaint")
LEVELS = [
    ('info', "Info"),
    ('warning', "Warning"),
    ('critical', "Critical"),
    ]
FESTIVAL_NAMES = [
    ('new_year', "New Year's Day"),
    ('spring_festival', "Spring Festival"),
    ('lantern_festival', "Lantern Festival"),
    ('dragon_boat_festival', "Dragon Boat Festival"),
    ('qixi_festival', "Qixi Festival"),
    ('mid_autumn_festival', "Mid-Autumn Festival"),
    ('double_ninth_festival', "Double Ninth Festival"),
    ('national_day', "National Day"),
    ]
assert {k for k, _ in FESTIVAL_NAMES} == set(FESTIVALS)


def _text(column):
    return Cast(column, 'VARCHAR')


def _document(model, column):
    "The period of an alert about a document: its reference"
    return Concat(f'{model},', _text(column))


def _language(user):
    return user.language.code if user.language else None


def _render(text, context):
    "Render the text of an e-mail template as Tryton does"
    return TextTemplate(text or '').generate(**context).render()


# A typed NULL: PostgreSQL types a bare NULL of a sub-query as text
_NO_AMOUNT = Cast(Null, 'NUMERIC')


class AlertRule(DeactivableMixin, ModelSQL, ModelView):
    "What makes the cron remind owners to follow their customers up"
    __name__ = 'crm.alert.rule'

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    kind = fields.Selection(ALERT_KINDS, "Kind", required=True)
    level = fields.Selection(LEVELS, "Level", required=True)
    days = fields.Integer(
        "Days", required=True, domain=[('days', '>=', 0)],
        help="Periodic revisit: after so many days without activity.\n"
        "Birthday and festival: so many days ahead.\n"
        "After-sales: so many days after the delivery.\n"
        "Overdue receivable: due for more than so many days.\n"
        "No purchase: for more than so many days.\n"
        "Unresolved complaint: open for more than so many days.")
    tier = fields.Many2One(
        'crm.tier', "Tier",
        domain=[('company', '=', Eval('company', -1))],
        help="Limit the rule to the customers of the tier.")
    vip_only = fields.Boolean("VIP and Key Accounts Only")
    festivals = fields.MultiSelection(
        FESTIVAL_NAMES, "Festivals",
        states={
            'invisible': Eval('kind') != 'festival',
            'required': Eval('kind') == 'festival',
            })
    escalate_days = fields.Integer(
        "Escalate After Days",
        domain=['OR',
            ('escalate_days', '=', None),
            ('escalate_days', '>=', 0),
            ],
        states={
            'invisible': Eval('level') != 'critical',
            },
        help="A critical alert still open so many days after its due date "
        "goes to the manager of the customer's team.")

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_level(cls):
        return 'info'

    @classmethod
    def default_days(cls):
        return 30

    @classmethod
    def cron_generate_alerts(cls):
        "Create the alerts of every active rule and escalate ignored ones"
        pool = Pool()
        Alert = pool.get('crm.alert')
        company_id = Transaction().context.get('company')
        rules = cls.search(
            [('company', '=', company_id)] if company_id else [])
        cls.generate_alerts(rules)
        Alert.escalate()

    @classmethod
    def generate_alerts(cls, rules):
        pool = Pool()
        Alert = pool.get('crm.alert')
        alert = Alert.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*alert.select(Coalesce(Max(alert.id), 0)))
        last_id, = cursor.fetchone()
        for rule in rules:
            if rule.kind == 'festival':
                rule._create_festival_tasks()
            else:
                rule._insert_alerts()
        cursor.execute(*alert.select(alert.id, where=alert.id > last_id))
        new_ids = [r for r, in cursor]
        Alert.notify(new_ids)
        Alert.send_digests(new_ids)

    def _today(self):
        return company_today(self.company)

    def _scope(self, customer):
        "The condition on the customers the rule covers"
        where = ((customer.company == self.company.id)
            & (customer.active == Literal(True))
            & (customer.owner != Null))
        if self.tier:
            where &= customer.tier == self.tier.id
        if self.vip_only:
            where &= ((customer.vip == Literal(True))
                | (customer.key_account == Literal(True)))
        return where

    def _insert_alerts(self):
        """Insert in one statement the alerts the rule raises today that do
        not exist yet for their customer and period"""
        pool = Pool()
        Alert = pool.get('crm.alert')
        Customer = pool.get('crm.customer')
        alert = Alert.__table__()
        existing = Alert.__table__()
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()

        # columns: customer, owner, period, due_date, amount
        candidates = getattr(self, f'_candidates_{self.kind}')(customer)
        new = candidates.select(
            Literal(Transaction().user), Literal(dt.datetime.now()),
            Literal(self.company.id), Literal(self.id), Literal(self.kind),
            Literal(self.level), Literal('open'),
            candidates.customer, candidates.owner, candidates.period,
            candidates.due_date, candidates.amount,
            where=~Exists(existing.select(Literal(1),
                    where=(existing.rule == self.id)
                    & (existing.customer == candidates.customer)
                    & (existing.period == candidates.period))))
        cursor.execute(*alert.insert(
                [alert.create_uid, alert.create_date, alert.company,
                    alert.rule, alert.kind, alert.level, alert.state,
                    alert.customer, alert.owner, alert.period,
                    alert.due_date, alert.amount],
                new))

    def _candidates_churn(self, customer):
        "No purchase for more than the days: once per last purchase"
        limit = self._today() - dt.timedelta(days=self.days)
        return customer.select(
            customer.id.as_('customer'), customer.owner.as_('owner'),
            _text(customer.last_purchase_date).as_('period'),
            Literal(self._today()).as_('due_date'),
            _NO_AMOUNT.as_('amount'),
            where=self._scope(customer)
            & (customer.last_purchase_date < limit))

    def _candidates_revisit(self, customer):
        """No done activity for more than the days since the last one or
        since the customer was recorded: once per last contact"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        last = Customer._last_activity_query()
        today = self._today()
        limit = company_midnight(
            self.company, today - dt.timedelta(days=self.days))
        last_contact = Coalesce(last.last_activity, customer.create_date)
        return customer.join(last, 'LEFT',
            condition=last.customer == customer.id).select(
            customer.id.as_('customer'), customer.owner.as_('owner'),
            _text(last_contact).as_('period'),
            Literal(today).as_('due_date'),
            _NO_AMOUNT.as_('amount'),
            where=self._scope(customer) & (last_contact < limit))

    def _candidates_birthday(self, customer):
        "The birthday is within the days: once per celebration"
        today = self._today()
        keys = birthday_keys_between(
            today, today + dt.timedelta(days=self.days))
        date = Case(*(
                ((customer.birthday_calendar == calendar)
                    & (customer.birthday_key == key), date)
                for (calendar, key), date in keys.items()), else_=Null)
        return customer.select(
            customer.id.as_('customer'), customer.owner.as_('owner'),
            _text(date).as_('period'), date.as_('due_date'),
            _NO_AMOUNT.as_('amount'),
            where=self._scope(customer) & (customer.birthday != Null)
            & (date != Null))

    def _per_document(self, customer, document, party, model, where,
            amount=_NO_AMOUNT):
        """The candidates due today of one alert per document of the
        customer's party in the customer's company"""
        return customer.join(document,
            condition=(party == customer.party)
            & (document.company == customer.company)).select(
            customer.id.as_('customer'), customer.owner.as_('owner'),
            _document(model, document.id).as_('period'),
            Literal(self._today()).as_('due_date'),
            amount.as_('amount'),
            where=self._scope(customer) & where)

    def _after_sales_window(self, date):
        """The date is the days ago, or in the week before should the cron
        have missed a day"""
        day = self._today() - dt.timedelta(days=self.days)
        return (date <= day) & (date > day - dt.timedelta(days=7))

    def _candidates_after_sales(self, customer):
        """Goods delivered the days ago, and invoices of services only,
        which nothing delivers, posted the days ago: once per customer
        shipment or invoice"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Move = pool.get('stock.move')
        Product = pool.get('product.product')
        Shipment = pool.get('stock.shipment.out')
        Template = pool.get('product.template')
        invoice = Invoice.__table__()
        line = InvoiceLine.__table__()
        product = Product.__table__()
        shipment = Shipment.__table__()
        template = Template.__table__()

        deliveries = self._per_document(
            customer, shipment, shipment.customer, Shipment.__name__,
            (shipment.state == 'done')
            & self._after_sales_window(shipment.effective_date))
        goods = (line
            .join(product, condition=line.product == product.id)
            .join(template, condition=product.template == template.id)
            .select(Literal(1),
                where=(line.invoice == invoice.id)
                & template.type.in_(Move.get_product_types())))
        services = self._per_document(
            customer, invoice, invoice.party, Invoice.__name__,
            (invoice.type == 'out')
            & invoice.state.in_(['posted', 'paid'])
            & self._after_sales_window(invoice.invoice_date)
            & (invoice.total_amount_cache > 0)
            & ~Exists(goods),
            amount=invoice.total_amount_cache)
        return Union(deliveries, services, all_=True)

    def _candidates_overdue(self, customer):
        """Receivables due for more than the days: once per oldest overdue
        due date"""
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        MoveLine = pool.get('account.move.line')
        account = Account.__table__()
        account_type = AccountType.__table__()
        line = MoveLine.__table__()
        limit = self._today() - dt.timedelta(days=self.days)
        overdue = (line
            .join(account, condition=line.account == account.id)
            .join(account_type, condition=account.type == account_type.id)
            .select(
                line.party,
                Min(line.maturity_date).as_('oldest'),
                Sum(line.debit - line.credit).as_('amount'),
                where=(line.reconciliation == Null)
                & (account.company == self.company.id)
                & account_type.receivable
                & (line.maturity_date < limit),
                group_by=[line.party],
                having=Sum(line.debit - line.credit) > 0))
        return customer.join(overdue,
            condition=overdue.party == customer.party).select(
            customer.id.as_('customer'), customer.owner.as_('owner'),
            _text(overdue.oldest).as_('period'),
            Literal(self._today()).as_('due_date'),
            overdue.amount.as_('amount'),
            where=self._scope(customer))

    def _create_festival_tasks(self):
        """Create for each owner one greeting task per festival listing
        their customers, rather than one alert per customer"""
        pool = Pool()
        Activity = pool.get('crm.activity')
        Customer = pool.get('crm.customer')
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()
        today = self._today()
        festivals = list(festivals_between(
                self.festivals, today, today + dt.timedelta(days=self.days)))
        if not festivals:
            return
        cursor.execute(*customer.select(
                customer.owner, customer.id,
                where=self._scope(customer),
                order_by=[customer.owner, customer.id]))
        by_owner = defaultdict(list)
        for owner_id, customer_id in cursor:
            by_owner[owner_id].append(customer_id)
        names = dict(self.fields_get(['festivals'])['festivals']['selection'])
        to_create = []
        document = f'{self.__name__},{self.id}'
        for key, date in festivals:
            # Greet the day before the festival
            due_date = date - dt.timedelta(days=1)
            done = {a.assignee.id for a in Activity.search([
                        ('document', '=', document),
                        ('due_date', '=', due_date),
                        ])}
            for owner_id, customer_ids in by_owner.items():
                if owner_id in done:
                    continue
                customers = Customer.browse(customer_ids)
                to_create.append({
                        'company': self.company.id,
                        'type': 'task',
                        'customer': customer_ids[0],
                        'employee': owner_id,
                        'assignee': owner_id,
                        'subject': gettext(
                            'crm_customer.msg_festival_task_subject',
                            festival=names[key], count=len(customer_ids)),
                        'description': '\n'.join(
                            c.rec_name for c in customers),
                        'document': document,
                        'due_date': due_date,
                        'priority': 'high',
                        })
        Activity.create(to_create)


class Alert(Workflow, ModelSQL, ModelView):
    "A follow-up the owner of a customer has to do"
    __name__ = 'crm.alert'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    rule = fields.Many2One(
        'crm.alert.rule', "Rule", required=True, readonly=True,
        ondelete='CASCADE')
    kind = fields.Selection(ALERT_KINDS, "Kind", readonly=True)
    kind_string = kind.translated('kind')
    level = fields.Selection(LEVELS, "Level", required=True, readonly=True)
    level_string = level.translated('level')
    customer = fields.Many2One(
        'crm.customer', "Customer", required=True, readonly=True,
        ondelete='CASCADE')
    owner = fields.Many2One(
        'company.employee', "Owner", readonly=True,
        states={'readonly': Eval('state') != 'open'})
    period = fields.Char(
        "Period", readonly=True,
        help="What the alert is about: a date or a document. "
        "A rule raises one alert per customer and period.")
    due_date = fields.Date("Due Date", readonly=True)
    amount = fields.Numeric("Amount", digits=(16, 2), readonly=True)
    note = fields.Text("Note", states={'readonly': Eval('state') != 'open'})
    escalated_to = fields.Many2One(
        'company.employee', "Escalated To", readonly=True)
    escalation_date = fields.Date("Escalation Date", readonly=True)
    state = fields.Selection([
            ('open', "Open"),
            ('done', "Done"),
            ('dismissed', "Dismissed"),
            ], "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('rule_customer_period_unique',
                Unique(t, t.rule, t.customer, t.period),
                'crm_customer.msg_alert_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality()),
                    where=t.state == 'open'),
                Index(t, (t.owner, Index.Range())),
                })
        cls._order = [('due_date', 'ASC NULLS LAST'), ('id', 'DESC')]
        cls._transitions |= {
            ('open', 'done'),
            ('open', 'dismissed'),
            ('done', 'open'),
            ('dismissed', 'open'),
            }
        cls._buttons.update({
                'do': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-ok',
                    },
                'dismiss': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-cancel',
                    },
                'reopen': {
                    'invisible': Eval('state') == 'open',
                    'icon': 'tryton-undo',
                    },
                })

    @classmethod
    def default_state(cls):
        return 'open'

    def get_rec_name(self, name):
        return f'{self.rule.rec_name}: {self.customer.rec_name}'

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, alerts):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('dismissed')
    def dismiss(cls, alerts):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, alerts):
        pass

    @classmethod
    def escalate(cls):
        """Hand the critical alerts still open past the rule's delay to the
        manager of the customer's team"""
        pool = Pool()
        Rule = pool.get('crm.alert.rule')
        to_notify = []
        for rule in Rule.search([
                    ('level', '=', 'critical'),
                    ('escalate_days', '!=', None),
                    ]):
            today = rule._today()
            alerts = cls.search([
                    ('rule', '=', rule.id),
                    ('state', '=', 'open'),
                    ('escalated_to', '=', None),
                    ('due_date', '<=',
                        today - dt.timedelta(days=rule.escalate_days)),
                    ('customer.team.manager', '!=', None),
                    ])
            by_manager = defaultdict(list)
            for alert in alerts:
                by_manager[alert.customer.team.manager].append(alert)
            for manager, manager_alerts in by_manager.items():
                cls.write(manager_alerts, {
                        'escalated_to': manager.id,
                        'escalation_date': today,
                        })
                to_notify.extend(manager_alerts)
        cls.notify([a.id for a in to_notify], escalation=True)

    @classmethod
    def _by_user(cls, alert_ids, escalation=False):
        """Return the ids of the alerts per user of the employee concerned:
        the owner, or the manager they were escalated to"""
        pool = Pool()
        User = pool.get('res.user')
        alert = cls.__table__()
        cursor = Transaction().connection.cursor()
        employee = alert.escalated_to if escalation else alert.owner
        by_employee = defaultdict(list)
        for sub_ids in grouped_slice(alert_ids, 1000):
            cursor.execute(*alert.select(alert.id, employee,
                    where=alert.id.in_(list(sub_ids)) & (employee != Null)))
            for alert_id, employee_id in cursor:
                by_employee[employee_id].append(alert_id)
        if not by_employee:
            return {}
        result = {}
        for user in User.search([('employees', 'in', list(by_employee))]):
            user_alert_ids = sorted({a for e in user.employees
                        for a in by_employee.get(e.id, [])})
            if user_alert_ids:
                result[user] = user_alert_ids
        return result

    @classmethod
    def notify(cls, alert_ids, escalation=False):
        """Tell each employee concerned, as a Tryton notification, how many
        alerts they got and open them on a click"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Notification = pool.get('res.notification')
        action_id = ModelData.get_id('crm_customer', 'act_alert_form')
        message = ('crm_customer.msg_alert_escalated_notification'
            if escalation else 'crm_customer.msg_alert_notification')
        notifications = []
        for user, user_alert_ids in cls._by_user(
                alert_ids, escalation).items():
            with Transaction().set_context(language=_language(user)):
                label = gettext(message, count=len(user_alert_ids))
            notifications.append({
                    'user': user.id,
                    'label': label,
                    'model': cls.__name__,
                    'records': json.dumps(user_alert_ids),
                    'action': action_id,
                    })
        Notification.create(notifications)

    @classmethod
    def send_digests(cls, alert_ids):
        """E-mail each owner with an e-mail address one message listing
        their new alerts, in their language, when the CRM configuration
        asks for it; it leaves when the transaction is committed"""
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        EmailTemplate = pool.get('ir.email.template')
        configuration = Configuration(1)
        if (not configuration.alert_email
                or not configuration.alert_email_template):
            return
        template_id = configuration.alert_email_template.id
        from_ = config.get('email', 'from')
        for user, user_alert_ids in cls._by_user(alert_ids).items():
            if not user.email:
                continue
            with Transaction().set_context(language=_language(user)):
                template = EmailTemplate(template_id)
                context = template.get_context(user)
                context['alerts'] = cls.browse(user_alert_ids)
                msg = EmailMessage()
                msg['From'] = from_
                msg['To'] = format_address(user.email, user.name)
                msg['Subject'] = _render(template.subject, context)
                msg.set_content(_render(template.body, context))
            sendmail_transactional(from_, [user.email], msg)


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    alert_email = fields.Boolean(
        "Send Alerts by E-Mail",
        help="Besides the notification, send each owner who has an e-mail "
        "address one message per run listing their new alerts.")
    alert_email_template = fields.Many2One(
        'ir.email.template', "Alert E-Mail Template",
        domain=[('model.name', '=', 'res.user')],
        states={
            'invisible': ~Eval('alert_email', False),
            'required': Eval('alert_email', False),
            },
        help="The subject and body of the e-mail: \"record\" is the user "
        "and \"alerts\" the list of their new alerts.")

    @classmethod
    def default_alert_email(cls):
        return False

    @classmethod
    def default_alert_email_template(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id(
                'crm_customer', 'email_template_alert_digest')
        except KeyError:
            # An upgrade fills the new column before the XML defines it
            return None


class ComplaintKindMixin:
    __slots__ = ()

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(COMPLAINT_KIND)


class AlertRuleComplaint(ComplaintKindMixin, metaclass=PoolMeta):
    __name__ = 'crm.alert.rule'

    def _candidates_complaint(self, customer):
        """Complaints of the customer still unresolved the days after they
        were made: once per complaint"""
        pool = Pool()
        Complaint = pool.get('sale.complaint')
        complaint = Complaint.__table__()
        limit = self._today() - dt.timedelta(days=self.days)
        made_before = (complaint.date <= limit) | (
            (complaint.date == Null)
            & (complaint.create_date < company_midnight(
                    self.company, limit + dt.timedelta(days=1))))
        return self._per_document(
            customer, complaint, complaint.customer, Complaint.__name__,
            complaint.state.in_(['draft', 'waiting', 'approved'])
            & made_before)


class AlertComplaint(ComplaintKindMixin, metaclass=PoolMeta):
    __name__ = 'crm.alert'


class Activity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['crm.alert.rule']


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def crm_customer_fields_to_merge(cls):
        return super().crm_customer_fields_to_merge() + [
            ('crm.alert', 'customer'),
            ]


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Alert = pool.get('crm.alert')
        return super().to_erase(party_id) + [
            (Alert, [('customer', 'in', self.crm_customer_ids(party_id))],
                False, ['note'], [None]),
            ]
