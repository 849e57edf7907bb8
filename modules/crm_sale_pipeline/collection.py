# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Payment collection: a sale is collected in milestones (an advance, a
payment on delivery, a retention after acceptance...), each with its amount
and due date, matched against what the customer paid on the sale's
invoices. Plans are templates of milestones; a daily cron tells the
collection owner of each milestone that falls overdue, once."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Literal, Null, NullsFirst, Window
from sql.aggregate import Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.crm_customer.activity import company_today
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .links import (
    customer_moves, numeric, reference, sale_invoices_query,
    sale_payments_query)
from .notify import notify

TRIGGERS = [
    ('order', "On Order"),
    ('invoice', "On Invoice"),
    ('delivery', "On Delivery"),
    ('acceptance', "On Acceptance"),
    ('date', "On a Fixed Date"),
    ]
# The events every sale goes through in this order; invoices come before or
# after the delivery depending on the invoice method
EVENT_ORDER = ['order', 'delivery', 'acceptance']
# The states of the sales whose milestones are collected
COLLECTING_STATES = ['confirmed', 'processing', 'done']
# The states in which the plan of a sale can still change
PLANNING_STATES = ['draft', 'quotation']
MILESTONE_STATES = [
    ('pending', "Pending"),
    ('due', "Due"),
    ('partially paid', "Partially Paid"),
    ('overdue', "Overdue"),
    ('paid', "Paid"),
    ]


class CollectionPlanError(ValidationError):
    pass


class CollectionError(UserError):
    pass


def split_amount(total, percentages, round_):
    """Return the shares of the total for the percentages, rounded by the
    function so that together they make the rounded total they cover"""
    amounts, done, cumulated = [], Decimal(0), Decimal(0)
    for percentage in percentages:
        cumulated += percentage
        amount = round_(total * cumulated / 100) - done
        amounts.append(amount)
        done += amount
    return amounts


def sql_date(value):
    "Return the date of a value computed in SQL: SQLite gives a string"
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def percent(value):
    "Format a percentage without trailing zeros, whatever the backend"
    return format(Decimal(value).normalize(), 'f')


def misplaced(lines):
    """Return the index of the first line that falls due before a line that
    comes before it, or None; each line is a (trigger, days) pair, in the
    order of the plan. Lines on a fixed date compare only by their dates"""
    for index, (trigger, days) in enumerate(lines):
        for before, before_days in lines[:index]:
            if trigger == before:
                if trigger != 'date' and (days or 0) < (before_days or 0):
                    return index
            elif (trigger in EVENT_ORDER and before in EVENT_ORDER
                    and EVENT_ORDER.index(trigger)
                    < EVENT_ORDER.index(before)):
                return index
    return None


class CollectionPlan(DeactivableMixin, ModelSQL, ModelView):
    "A template of the milestones in which sales are collected"
    __name__ = 'crm.sale.collection_plan'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    lines = fields.One2Many(
        'crm.sale.collection_plan.line', 'plan', "Milestones",
        help="The percentages of the sale to collect and when.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def validate_fields(cls, plans, field_names):
        super().validate_fields(plans, field_names)
        if 'lines' in field_names:
            for plan in plans:
                plan.check_lines()

    def check_lines(self):
        total = sum(l.percentage for l in self.lines)
        if total != 100:
            raise CollectionPlanError(gettext(
                    'crm_sale_pipeline.msg_collection_plan_total',
                    plan=self.rec_name, total=percent(total)))
        index = misplaced([(l.trigger, l.days) for l in self.lines])
        if index is not None:
            raise CollectionPlanError(gettext(
                    'crm_sale_pipeline.msg_collection_plan_order',
                    plan=self.rec_name,
                    line=self.lines[index].rec_name))


class MilestoneMixin(sequence_ordered()):
    __slots__ = ()
    _rec_name = 'description'

    description = fields.Char("Description", required=True, translate=True)
    percentage = fields.Numeric(
        "Percentage", digits=(5, 2), required=True,
        domain=[
            ('percentage', '>', 0),
            ('percentage', '<=', 100),
            ],
        help="The share of the sale's total, in per cent.")
    trigger = fields.Selection(
        TRIGGERS, "Trigger", required=True,
        help="The event from which the payment falls due.")
    days = fields.Integer(
        "Days", required=True,
        domain=[('days', '>=', 0)],
        states={
            'invisible': Eval('trigger') == 'date',
            },
        help="The number of days after the event the payment falls due.")

    @classmethod
    def default_trigger(cls):
        return 'order'

    @classmethod
    def default_days(cls):
        return 0


class CollectionPlanLine(MilestoneMixin, ModelSQL, ModelView):
    "A milestone of a collection plan"
    __name__ = 'crm.sale.collection_plan.line'

    plan = fields.Many2One(
        'crm.sale.collection_plan', "Plan", required=True,
        ondelete='CASCADE')

    def milestone_values(self):
        "Return the values of the milestone of a sale for the line"
        return {
            'sequence': self.sequence,
            'description': self.description,
            'percentage': self.percentage,
            'trigger': self.trigger,
            'days': self.days,
            }


class Milestone(MilestoneMixin, ModelSQL, ModelView):
    "A payment expected from the customer of a sale"
    __name__ = 'crm.sale.collection.milestone'

    _states_plan = {
        'readonly': ~Eval('sale_state').in_(PLANNING_STATES),
        }

    sale = fields.Many2One(
        'sale.sale', "Sale", required=True, ondelete='CASCADE',
        states=_states_plan)
    sale_state = fields.Function(
        fields.Selection('get_sale_states', "Sale State"),
        'on_change_with_sale_state')
    party = fields.Function(
        fields.Many2One('party.party', "Party"),
        'on_change_with_party', searcher='search_party')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True,
        help="The share of the sale's total, fixed when the sale is quoted.")
    due_date = fields.Date(
        "Due Date",
        states={
            'readonly': ((Eval('trigger') != 'date')
                | ~Eval('sale_state').in_(PLANNING_STATES + ['confirmed',
                        'processing'])),
            },
        help="Computed from the date of the event and the days after it, "
        "unless the milestone is on a fixed date.")
    collected = fields.Function(Monetary(
            "Collected", currency='currency', digits='currency',
            help="What the customer paid on the sale's invoices, "
            "allocated to the milestones in their order."),
        'get_collection')
    state = fields.Function(fields.Selection(
            MILESTONE_STATES, "State",
            help="Pending: the event has not happened or the sale is not "
            "confirmed.\n"
            "Due: the due date is known and not passed.\n"
            "Overdue: the due date is passed and it is not fully paid."),
        'get_collection', searcher='search_state')
    collection_owner = fields.Function(
        fields.Many2One('company.employee', "Collection Owner",
            help="The collection owner of the sale's opportunity."),
        'get_collection_owner', searcher='search_collection_owner')
    overdue_alert_date = fields.Date(
        "Overdue Alert Date", readonly=True,
        help="When the collection owner was told the milestone is overdue.")

    del _states_plan

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.sale, Index.Range())),
                Index(t, (t.due_date, Index.Range()),
                    where=t.overdue_alert_date == Null),
                })
        for name in ['sequence', 'description', 'percentage', 'trigger',
                'days']:
            field = getattr(cls, name)
            field.states = field.states.copy()
            field.states['readonly'] = ~Eval('sale_state').in_(
                PLANNING_STATES)

    @classmethod
    def default_amount(cls):
        return Decimal(0)

    @classmethod
    def get_sale_states(cls):
        pool = Pool()
        Sale = pool.get('sale.sale')
        return Sale.fields_get(['state'])['state']['selection']

    @fields.depends('sale', '_parent_sale.state')
    def on_change_with_sale_state(self, name=None):
        if self.sale:
            return self.sale.state

    @fields.depends('sale', '_parent_sale.party')
    def on_change_with_party(self, name=None):
        return self.sale.party if self.sale else None

    @classmethod
    def search_party(cls, name, clause):
        return [('sale.' + clause[0], *clause[1:])]

    @fields.depends('sale', '_parent_sale.currency')
    def on_change_with_currency(self, name=None):
        return self.sale.currency if self.sale else None

    @classmethod
    def copy(cls, milestones, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('overdue_alert_date')
        return super().copy(milestones, default=default)

    @classmethod
    def check_modification(cls, mode, milestones, values=None,
            external=False):
        super().check_modification(
            mode, milestones, values=values, external=external)
        plan_fields = {'sale', 'sequence', 'percentage', 'trigger', 'days'}
        if mode == 'write' and not (values.keys() & plan_fields):
            return
        # The milestones of a cancelled sale go with it
        states = PLANNING_STATES + (['cancelled'] if mode == 'delete' else [])
        for milestone in milestones:
            if milestone.sale.state not in states:
                raise AccessError(gettext(
                        'crm_sale_pipeline.msg_collection_milestone_modify',
                        sale=milestone.sale.rec_name))

    @classmethod
    def validate_fields(cls, milestones, field_names):
        super().validate_fields(milestones, field_names)
        sales = {m.sale for m in milestones}
        if field_names is None or field_names & {'sequence', 'trigger',
                'days'}:
            for sale in sales:
                sale.check_collection_order()
        if field_names is None or field_names & {'sequence', 'trigger',
                'due_date'}:
            for milestone in milestones:
                milestone.check_due_date()

    def check_due_date(self):
        """A date entered follows the due dates known of the milestones
        that come before it and precedes those of the milestones after"""
        if self.trigger != 'date' or not self.due_date:
            return
        milestones = self.sale.collection_milestones
        index = milestones.index(self)
        for position, other in enumerate(milestones):
            if other == self or not other.due_date:
                continue
            if ((position < index and other.due_date > self.due_date)
                    or (position > index and other.due_date < self.due_date)):
                first, second = sorted(
                    [(position, other), (index, self)], key=lambda p: p[0])
                raise CollectionPlanError(gettext(
                        'crm_sale_pipeline.msg_collection_date_order',
                        sale=self.sale.rec_name,
                        first=first[1].rec_name,
                        first_date=first[1].due_date,
                        second=second[1].rec_name,
                        second_date=second[1].due_date))

    @classmethod
    def on_modification(cls, mode, milestones, field_names=None):
        pool = Pool()
        Sale = pool.get('sale.sale')
        super().on_modification(mode, milestones, field_names=field_names)
        if mode == 'delete':
            return
        sales = Sale.browse({m.sale.id for m in milestones})
        if field_names is None or field_names & {'sale', 'sequence',
                'percentage'}:
            Sale.update_collection_amounts(sales)
        if field_names is None or field_names & {'sale', 'trigger', 'days'}:
            Sale.update_collection_dates(sales)

    @classmethod
    def _collection_query(cls, sales=None):
        """Return the query of the milestones of the sales (a query of sale
        ids, all sales when None) with the amount collected on each and
        its state: the payments of a sale go to its milestones in order"""
        pool = Pool()
        Currency = pool.get('currency.currency')
        Date = pool.get('ir.date')
        Sale = pool.get('sale.sale')
        milestone = cls.__table__()
        sale = Sale.__table__()
        currency = Currency.__table__()
        if sales is None:
            all_milestones = cls.__table__()
            sales = all_milestones.select(all_milestones.sale)
        payments = sale_payments_query(sales)
        amount = numeric(milestone.amount)
        before = Sum(amount, window=Window(
                [milestone.sale],
                order_by=[NullsFirst(milestone.sequence), milestone.id]))
        rows = (milestone
            .join(sale, condition=milestone.sale == sale.id)
            .join(currency, condition=sale.currency == currency.id)
            .join(payments, 'LEFT', condition=payments.sale == sale.id)
            .select(
                milestone.id.as_('id'),
                amount.as_('amount'),
                milestone.due_date.as_('due_date'),
                sale.state.as_('sale_state'),
                # SQLite sums in floats
                Round(Coalesce(payments.amount, 0) - (before - amount),
                    currency.digits).as_('available'),
                where=milestone.sale.in_(sales)))
        collected = Case(
            (rows.available <= 0, Literal(0)),
            (rows.available >= rows.amount, rows.amount),
            else_=rows.available)
        today = Date.today()
        state = Case(
            (~rows.sale_state.in_(COLLECTING_STATES), 'pending'),
            (collected >= rows.amount, 'paid'),
            (rows.due_date < today, 'overdue'),
            (collected > 0, 'partially paid'),
            (rows.due_date != Null, 'due'),
            else_='pending')
        return rows.select(
            rows.id.as_('id'), collected.as_('collected'),
            state.as_('state'))

    @classmethod
    def get_collection(cls, milestones, names):
        milestone = cls.__table__()
        cursor = Transaction().connection.cursor()
        in_ = fields.SQL_OPERATORS['in']
        result = {n: {} for n in names}
        for sub_milestones in grouped_slice(
                milestones, backend.MAX_QUERY_PARAMS):
            sub_milestones = list(sub_milestones)
            query = cls._collection_query(milestone.select(milestone.sale,
                    where=in_(milestone.id, list(map(int, sub_milestones)))))
            cursor.execute(*query)
            rows = {i: (c, s) for i, c, s in cursor}
            for record in sub_milestones:
                collected, state = rows[record.id]
                if 'collected' in names:
                    result['collected'][record.id] = record.currency.round(
                        Decimal(str(collected)))
                if 'state' in names:
                    result['state'][record.id] = state
        return result

    @classmethod
    def search_state(cls, name, clause):
        _, operator, value = clause
        Operator = fields.SQL_OPERATORS[operator]
        query = cls._collection_query()
        return [('id', 'in', query.select(
                    query.id, where=Operator(query.state, value)))]

    @classmethod
    def _owner_query(cls):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        milestone = cls.__table__()
        sale = Sale.__table__()
        opportunity = Opportunity.__table__()
        return (milestone
            .join(sale, condition=milestone.sale == sale.id)
            .join(opportunity,
                condition=sale.origin == reference(
                    Opportunity.__name__, opportunity.id))
            .select(
                milestone.id.as_('id'),
                opportunity.collection_owner.as_('owner')))

    @classmethod
    def get_collection_owner(cls, milestones, name):
        cursor = Transaction().connection.cursor()
        in_ = fields.SQL_OPERATORS['in']
        result = dict.fromkeys(map(int, milestones))
        query = cls._owner_query()
        for sub_ids in grouped_slice(list(result), backend.MAX_QUERY_PARAMS):
            cursor.execute(*query.select(query.id, query.owner,
                    where=in_(query.id, list(sub_ids))))
            result.update(cursor)
        return result

    @classmethod
    def search_collection_owner(cls, name, clause):
        return [('sale.origin.collection_owner' + clause[0][len(name):],
                *clause[1:3], 'sale.opportunity', *clause[3:])]

    @classmethod
    def alert_overdue(cls):
        """Tell the collection owners, once per milestone, which milestones
        fall overdue, each company by its own calendar"""
        pool = Pool()
        Company = pool.get('company.company')
        company_id = Transaction().context.get('company')
        companies = (Company.browse([company_id]) if company_id
            else Company.search([]))
        for company in companies:
            with Transaction().set_context(company=company.id):
                cls._alert_overdue(company)

    @classmethod
    def _alert_overdue(cls, company):
        pool = Pool()
        Lang = pool.get('ir.lang')
        User = pool.get('res.user')
        today = company_today(company)
        milestones = cls.search([
                ('sale.company', '=', company.id),
                ('overdue_alert_date', '=', None),
                ('due_date', '<', today),
                ('state', '=', 'overdue'),
                ('collection_owner', '!=', None),
                ])
        by_owner = defaultdict(list)
        for milestone in milestones:
            by_owner[milestone.collection_owner].append(milestone)
        lang = Lang.get()
        for owner, owner_milestones in by_owner.items():
            users = User.search([('employees', '=', owner.id)])
            for milestone in owner_milestones:
                notify(users, milestone, milestone.sale,
                    'crm_sale_pipeline.msg_collection_overdue',
                    milestone=milestone.rec_name,
                    sale=milestone.sale.rec_name,
                    date=lang.strftime(milestone.due_date),
                    amount=lang.currency(
                        milestone.amount - milestone.collected,
                        milestone.currency, grouping=True))
        cls.write(milestones, {'overdue_alert_date': today})


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    collection_plan = fields.Many2One(
        'crm.sale.collection_plan', "Collection Plan", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': ~Eval('state').in_(PLANNING_STATES),
            },
        help="The template of the milestones; "
        "\"Apply Collection Plan\" copies it.")
    collection_milestones = fields.One2Many(
        'crm.sale.collection.milestone', 'sale', "Collection Milestones",
        states={
            'readonly': Eval('state') == 'cancelled',
            })
    acceptance_date = fields.Date(
        "Acceptance Date",
        domain=[
            If(Eval('acceptance_date') & Eval('sale_date'),
                ('acceptance_date', '>=', Eval('sale_date')),
                ()),
            ],
        states={
            'readonly': ~Eval('state').in_(COLLECTING_STATES),
            },
        help="The day the customer accepted what was delivered.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'apply_collection_plan': {
                    'invisible': ~Eval('state').in_(PLANNING_STATES),
                    'readonly': ~Eval('collection_plan'),
                    'icon': 'tryton-refresh',
                    'depends': ['state', 'collection_plan'],
                    },
                })

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('acceptance_date')
        return super().copy(sales, default=default)

    @classmethod
    def create(cls, vlist):
        sales = super().create(vlist)
        cls._apply_collection_plan([s for s in sales
                if s.collection_plan and not s.collection_milestones])
        return sales

    @classmethod
    def write(cls, *args):
        super().write(*args)
        sales = sum((records for records, values in zip(args[::2], args[1::2])
                    if values.keys() & {'sale_date', 'acceptance_date'}), [])
        cls.update_collection_dates(cls.browse(sales))

    @classmethod
    @ModelView.button
    def apply_collection_plan(cls, sales):
        pool = Pool()
        Milestone = pool.get('crm.sale.collection.milestone')
        Milestone.delete([m for s in sales for m in s.collection_milestones])
        cls._apply_collection_plan([s for s in sales if s.collection_plan])

    @classmethod
    def _apply_collection_plan(cls, sales):
        pool = Pool()
        Milestone = pool.get('crm.sale.collection.milestone')
        Milestone.create([{'sale': s.id, **l.milestone_values()}
                for s in sales for l in s.collection_plan.lines])

    def check_collection_order(self):
        index = misplaced(
            [(m.trigger, m.days) for m in self.collection_milestones])
        if index is not None:
            raise CollectionPlanError(gettext(
                    'crm_sale_pipeline.msg_collection_milestone_order',
                    sale=self.rec_name,
                    milestone=self.collection_milestones[index].rec_name))

    def check_collection_plan(self):
        if not self.collection_milestones:
            return
        for milestone in self.collection_milestones:
            if milestone.trigger == 'date' and not milestone.due_date:
                raise CollectionError(gettext(
                        'crm_sale_pipeline.msg_collection_milestone_no_date',
                        sale=self.rec_name, milestone=milestone.rec_name))
        total = sum(m.percentage for m in self.collection_milestones)
        if total != 100:
            raise CollectionError(gettext(
                    'crm_sale_pipeline.msg_collection_milestone_total',
                    sale=self.rec_name, total=percent(total)))
        self.check_collection_order()
        for milestone in self.collection_milestones:
            milestone.check_due_date()

    @classmethod
    def quote(cls, sales):
        for sale in sales:
            sale.check_collection_plan()
        super().quote(sales)
        cls.update_collection_amounts(sales)

    @classmethod
    def confirm(cls, sales):
        for sale in sales:
            sale.check_collection_plan()
        super().confirm(sales)
        cls.update_collection_amounts(sales)
        cls.update_collection_dates(sales)

    @classmethod
    def process(cls, sales):
        super().process(sales)
        cls.update_collection_dates(sales)

    @classmethod
    def update_collection_amounts(cls, sales):
        "Share the total of the sales among their milestones"
        pool = Pool()
        Milestone = pool.get('crm.sale.collection.milestone')
        to_write = []
        for sale in sales:
            milestones = sale.collection_milestones
            amounts = split_amount(sale.total_amount or 0,
                [m.percentage for m in milestones], sale.currency.round)
            for milestone, amount in zip(milestones, amounts):
                if milestone.amount != amount:
                    to_write.extend([[milestone], {'amount': amount}])
        if to_write:
            with without_check_access():
                Milestone.write(*to_write)

    @classmethod
    def update_collection_dates(cls, sales):
        """Set the due date of the milestones of the sales from the events
        that happened, computed in a few queries"""
        pool = Pool()
        Milestone = pool.get('crm.sale.collection.milestone')
        sales = [s for s in sales if s.collection_milestones]
        if not sales:
            return
        events = cls._collection_events(sales)
        by_date = defaultdict(list)
        for sale in sales:
            for milestone in sale.collection_milestones:
                if milestone.trigger == 'date':
                    continue
                date = events[sale.id].get(milestone.trigger)
                due_date = (date + dt.timedelta(days=milestone.days)
                    if date else None)
                if milestone.due_date != due_date:
                    by_date[due_date].append(milestone)
        if by_date:
            with without_check_access():
                Milestone.write(*sum(([m, {'due_date': d}]
                            for d, m in by_date.items()), []))

    @classmethod
    def _collection_events(cls, sales):
        """Return per sale id the dates of its order, acceptance, first
        invoice and delivery, once all is delivered"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        cursor = Transaction().connection.cursor()
        events = {s.id: {
                'order': s.sale_date,
                'acceptance': s.acceptance_date,
                } for s in sales}
        sale_ids = list(events)

        invoice = Invoice.__table__()
        pairs = sale_invoices_query(sale_ids)
        cursor.execute(*pairs
            .join(invoice, condition=pairs.invoice == invoice.id)
            .select(pairs.sale, Min(invoice.invoice_date),
                group_by=[pairs.sale]))
        for sale_id, date in cursor:
            events[sale_id]['invoice'] = sql_date(date)

        sale = cls.__table__()
        moves, move = customer_moves(sale)
        delivered = [s.id for s in sales if s.shipment_state == 'sent']
        if delivered:
            cursor.execute(*moves.select(sale.id, Max(move.effective_date),
                    where=sale.id.in_(delivered) & (move.state == 'done'),
                    group_by=[sale.id]))
            for sale_id, date in cursor:
                events[sale_id]['delivery'] = sql_date(date)
        return events


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    collection_plan = fields.Many2One(
        'crm.sale.collection_plan', "Collection Plan", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': Eval('state').in_(['won', 'lost', 'cancelled']),
            },
        help="The collection plan of the sales made from the opportunity.")

    def _get_sale_opportunity(self):
        sale = super()._get_sale_opportunity()
        sale.collection_plan = self.collection_plan
        return sale


class Activity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['crm.sale.collection.milestone']


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('crm.sale.collection.milestone|alert_overdue',
                "Alert Overdue Collection Milestones"))
