# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import datetime

from sql import Null
from sql.aggregate import Count, Max, Min
from sql.conditionals import Coalesce

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import timezone as tz
from trytond.transaction import Transaction

ACTIVITY_TYPES = [
    ('call', "Call"),
    ('visit', "Visit"),
    ('meeting', "Meeting"),
    ('email', "E-Mail"),
    ('sms', "SMS"),
    ('task', "Task"),
    ]
DIRECTED_TYPES = ['call', 'sms']


class ActivityValidationError(ValidationError):
    pass


def company_today(company):
    "Return today's date in the time zone of the company"
    Date = Pool().get('ir.date')
    with Transaction().set_context(company=company.id):
        return Date.today()


def company_zone(company):
    return tz.get_tzinfo(company.timezone) if company.timezone else tz.UTC


def company_midnight(company, date):
    "Return the UTC datetime at which the date starts for the company"
    start = datetime.datetime.combine(date, datetime.time(),
        tzinfo=company_zone(company))
    return start.astimezone(tz.UTC).replace(tzinfo=None)


def company_date(company, value):
    "Return the date in the time zone of the company of a UTC datetime"
    return value.replace(tzinfo=tz.UTC).astimezone(
        company_zone(company)).date()


class Activity(Workflow, ModelSQL, ModelView):
    "A call, visit, meeting, e-mail, SMS or task with a customer"
    __name__ = 'crm.activity'
    _rec_name = 'subject'

    _states = {
        'readonly': Eval('state') != 'planned',
        }
    _states_task = {
        'readonly': Eval('state') != 'planned',
        'invisible': Eval('type') != 'task',
        }
    _states_report = {
        'readonly': Eval('state') == 'cancelled',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    type = fields.Selection(
        ACTIVITY_TYPES, "Type", required=True, states=_states)
    customer = fields.Many2One(
        'crm.customer', "Customer", required=True, ondelete='CASCADE',
        states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    contact = fields.Many2One(
        'party.party', "Contact Person", states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The person the activity was held with.")
    employee = fields.Many2One(
        'company.employee', "Employee", states=_states,
        domain=[('company', '=', Eval('company', -1))],
        help="The employee who holds the activity.")
    subject = fields.Char("Subject", required=True, states=_states)
    description = fields.Text("Description", states=_states_report)
    start = fields.DateTime("Date", required=True, states=_states)
    duration = fields.TimeDelta("Duration", states=_states_report)
    direction = fields.Selection([
            (None, ""),
            ('inbound', "Inbound"),
            ('outbound', "Outbound"),
            ], "Direction",
        states={
            'readonly': _states['readonly'],
            'invisible': ~Eval('type').in_(DIRECTED_TYPES),
            })
    document = fields.Reference(
        "Document", selection='get_documents', states=_states,
        help="The CRM document the activity is about.")
    outcome = fields.Selection([
            (None, ""),
            ('positive', "Positive"),
            ('neutral', "Neutral"),
            ('negative', "Negative"),
            ], "Outcome", states=_states_report)
    outcome_note = fields.Text("Outcome Details", states=_states_report)
    next_step = fields.Char("Next Step", states=_states_report)
    next_step_date = fields.Date("Next Step Date", states=_states_report)
    assignee = fields.Many2One(
        'company.employee', "Assignee",
        domain=[('company', '=', Eval('company', -1))],
        states={
            **_states_task,
            'required': Eval('type') == 'task',
            },
        help="The employee who must do the task.")
    due_date = fields.Date(
        "Due Date", states=_states_task,
        help="The day by which the task must be done, "
        "in the time zone of the company.")
    priority = fields.Selection([
            ('low', "Low"),
            ('normal', "Normal"),
            ('high', "High"),
            ], "Priority", sort=False,
        states={
            **_states_task,
            'required': Eval('type') == 'task',
            })
    overdue = fields.Function(
        fields.Boolean("Overdue"), 'get_overdue', searcher='search_overdue')
    done_at = fields.DateTime("Done At", readonly=True)
    state = fields.Selection([
            ('planned', "Planned"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)

    del _states, _states_task, _states_report

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(
                    t,
                    (t.customer, Index.Range()),
                    (t.start, Index.Range(order='DESC')),
                    where=t.state == 'done'),
                Index(t, (t.employee, Index.Range())),
                Index(
                    t,
                    (t.assignee, Index.Range()),
                    (t.due_date, Index.Range()),
                    where=t.type == 'task'),
                Index(
                    t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'planned'),
                })
        cls._order.insert(0, ('start', 'DESC'))
        cls._transitions |= {
            ('planned', 'done'),
            ('planned', 'cancelled'),
            ('cancelled', 'planned'),
            }
        cls._buttons.update({
                'plan': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': Eval('state') != 'planned',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'planned',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_type(cls):
        return 'call'

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_start(cls):
        return datetime.datetime.now().replace(microsecond=0)

    @classmethod
    def default_priority(cls):
        return 'normal'

    @classmethod
    def default_state(cls):
        return 'planned'

    @classmethod
    def _get_documents(cls):
        "Return the names of the models an activity can be about"
        return ['crm.customer', 'sale.sale', 'account.invoice']

    @classmethod
    def get_documents(cls):
        IrModel = Pool().get('ir.model')
        get_name = IrModel.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_documents()]

    @fields.depends('customer', '_parent_customer.company')
    def on_change_customer(self):
        if self.customer:
            self.company = self.customer.company

    @fields.depends('type', 'assignee', 'employee')
    def on_change_type(self):
        if self.type == 'task':
            if not self.assignee:
                self.assignee = self.employee
        else:
            self.assignee = self.due_date = None
        if self.type not in DIRECTED_TYPES:
            self.direction = None

    def get_overdue(self, name):
        return bool(
            self.type == 'task' and self.state == 'planned' and self.due_date
            and self.due_date < company_today(self.company))

    @classmethod
    def search_overdue(cls, name, clause):
        pool = Pool()
        Company = pool.get('company.company')
        _, operator, value = clause
        if operator not in {'=', '!='}:
            raise ValueError(f"unsupported operator {operator!r} on overdue")
        # Each company has its own today
        past_due = [
            [('company', '=', c.id), ('due_date', '<', company_today(c))]
            for c in Company.search([])] or [('id', '=', None)]
        overdue = [
            ('type', '=', 'task'),
            ('state', '=', 'planned'),
            ['OR', *past_due],
            ]
        if (operator == '=') == bool(value):
            return overdue
        return [('id', 'not in', cls.search(overdue, query=True))]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('overdue', False), 'danger',
                    If(Eval('state') == 'cancelled', 'muted', ''))),
            ]

    @classmethod
    def validate_fields(cls, activities, field_names):
        super().validate_fields(activities, field_names)
        cls.check_company(activities, field_names)
        cls.check_duration(activities, field_names)
        cls.check_next_step_date(activities, field_names)

    @classmethod
    def check_company(cls, activities, field_names):
        if field_names and not (field_names & {'company', 'customer'}):
            return
        for activity in activities:
            if activity.customer.company != activity.company:
                raise ActivityValidationError(gettext(
                        'crm_customer.msg_activity_customer_company',
                        activity=activity.rec_name,
                        customer=activity.customer.rec_name,
                        company=activity.company.rec_name))

    @classmethod
    def check_duration(cls, activities, field_names):
        if field_names and 'duration' not in field_names:
            return
        for activity in activities:
            if activity.duration and activity.duration < datetime.timedelta():
                raise ActivityValidationError(gettext(
                        'crm_customer.msg_activity_duration_negative',
                        activity=activity.rec_name))

    @classmethod
    def check_next_step_date(cls, activities, field_names):
        Lang = Pool().get('ir.lang')
        if field_names and not (
                field_names & {'next_step_date', 'start', 'company'}):
            return
        for activity in activities:
            if not activity.next_step_date:
                continue
            start = company_date(activity.company, activity.start)
            if activity.next_step_date < start:
                raise ActivityValidationError(gettext(
                        'crm_customer.msg_activity_next_step_date_before',
                        activity=activity.rec_name,
                        next_step_date=Lang.get().strftime(
                            activity.next_step_date),
                        start=Lang.get().strftime(start)))

    @classmethod
    def copy(cls, activities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'planned')
        default.setdefault('done_at')
        default.setdefault('outcome')
        default.setdefault('outcome_note')
        return super().copy(activities, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('planned')
    def plan(cls, activities):
        cls.write(activities, {'done_at': None})

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, activities):
        # What is done has happened: a start still ahead becomes now
        now = datetime.datetime.now().replace(microsecond=0)
        to_write = []
        for activity in activities:
            values = {'done_at': now}
            if activity.start > now:
                values['start'] = now
            to_write.extend(([activity], values))
        if to_write:
            cls.write(*to_write)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, activities):
        pass


class ActivityReportContext(ModelView):
    __name__ = 'crm.activity.report.context'

    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date(
        "From Date",
        domain=[
            If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')),
                ()),
            ])
    to_date = fields.Date(
        "To Date",
        domain=[
            If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')),
                ()),
            ])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        return Pool().get('ir.date').today().replace(day=1)

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date')


class ActivityReport(ModelSQL, ModelView):
    "The number of done activities per employee and type"
    __name__ = 'crm.activity.report'

    company = fields.Many2One('company.company', "Company")
    employee = fields.Many2One('company.employee', "Employee")
    type = fields.Selection(ACTIVITY_TYPES, "Type")
    number = fields.Integer("Number")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order[0:0] = [('employee', 'ASC'), ('type', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Activity = pool.get('crm.activity')
        Company = pool.get('company.company')
        activity = Activity.__table__()
        context = Transaction().context
        company_id = context.get('company')
        where = ((activity.state == 'done')
            & (activity.company == company_id)
            # Count only the activities the user may see
            & activity.id.in_(Activity.search([], query=True)))
        if company_id is not None and company_id >= 0:
            company = Company(company_id)
            if context.get('from_date'):
                where &= activity.start >= company_midnight(
                    company, context['from_date'])
            if context.get('to_date'):
                where &= activity.start < company_midnight(
                    company, context['to_date'] + datetime.timedelta(days=1))
        # The assignee of a task is who did it
        employee = Coalesce(activity.assignee, activity.employee)
        return activity.select(
            Min(activity.id).as_('id'),
            activity.company,
            employee.as_('employee'),
            activity.type,
            Count(activity.id).as_('number'),
            where=where,
            group_by=[activity.company, employee, activity.type])

    @classmethod
    def view_attributes(cls):
        # One series per type in the graph
        return super().view_attributes() + [
            (f'/graph/y/field[@key="{type_}"]', 'domain',
                Eval('type') == type_, ['type'])
            for type_, _ in ACTIVITY_TYPES]


class ActivitySaleOpportunity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['sale.opportunity']


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    activities = fields.One2Many('crm.activity', 'customer', "Activities")
    last_activity = fields.Function(
        fields.DateTime("Last Activity",
            help="When the last done activity with the customer took place."),
        'get_last_activity', searcher='search_last_activity')

    @classmethod
    def copy(cls, customers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('activities')
        return super().copy(customers, default=default)

    @classmethod
    def _last_activity_query(cls, customer_ids=None):
        "Return the query of the last done activity's start per customer"
        pool = Pool()
        Activity = pool.get('crm.activity')
        activity = Activity.__table__()
        where = activity.state == 'done'
        if customer_ids is not None:
            where &= fields.SQL_OPERATORS['in'](
                activity.customer, customer_ids)
        return activity.select(
            activity.customer,
            Max(activity.start).as_('last_activity'),
            where=where,
            group_by=activity.customer)

    @classmethod
    def get_last_activity(cls, customers, name):
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, customers))
        cursor.execute(*cls._last_activity_query(list(result)))
        for customer_id, last in cursor:
            # SQLite returns aggregated timestamps as text
            if isinstance(last, str):
                last = datetime.datetime.fromisoformat(last)
            result[customer_id] = last
        return result

    @classmethod
    def search_last_activity(cls, name, clause):
        _, operator, value = clause
        customer = cls.__table__()
        last = cls._last_activity_query()
        Operator = fields.SQL_OPERATORS[operator]
        value = cls.last_activity._field.sql_format(value)
        if value is None:
            value = Null
        query = customer.join(
            last, 'LEFT', condition=customer.id == last.customer).select(
            customer.id,
            where=Operator(last.last_activity, value))
        return [('id', 'in', query)]


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('crm.activity', 'contact'),
            ]

    @classmethod
    def crm_customer_fields_to_merge(cls):
        return super().crm_customer_fields_to_merge() + [
            ('crm.activity', 'customer'),
            ]


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Activity = pool.get('crm.activity')
        # What was said with or about the person is personal data
        return super().to_erase(party_id) + [
            (Activity, ['OR',
                    ('contact', '=', party_id),
                    ('customer', 'in', self.crm_customer_ids(party_id)),
                    ], True,
                ['subject', 'description', 'outcome_note', 'next_step'],
                ['****', None, None, None]),
            ]
