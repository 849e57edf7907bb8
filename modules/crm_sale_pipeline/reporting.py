# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Forecast and analysis of the sales pipeline: reporting models computed in
SQL for the company, dates, salesperson and team the manager gives."""
from dateutil.relativedelta import relativedelta
from sql import Literal, Null, Union, Window, With
from sql.aggregate import Avg, Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import DateTrunc, Extract, Function, Round, RowNumber

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.crm_customer.activity import company_today
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .stage import OPEN_STATES

WON_STATES = ['won']
LOST_STATES = ['lost']
CLOSED_STATES = WON_STATES + LOST_STATES


class _SQLiteJulianDay(Function):
    __slots__ = ()
    _function = 'JULIANDAY'


class _SQLiteDate(Function):
    __slots__ = ()
    _function = 'DATE'


def days_between(start, end):
    "Return the SQL number of days from the start date to the end date"
    if backend.name == 'sqlite':
        return _SQLiteJulianDay(end) - _SQLiteJulianDay(start)
    return end - start


def add_days(date, days):
    "Return the SQL date days after the date"
    if backend.name == 'sqlite':
        return _SQLiteDate(_SQLiteJulianDay(date) + days)
    return date + days.cast('INTEGER')


def rate(numerator, denominator):
    "Return the SQL ratio of two counts, NULL when the denominator is 0"
    return Case(
        (denominator > 0, numerator.cast('FLOAT') / denominator),
        else_=Null)


def stage_positions():
    """Return the SQL query of each stage's position in the pipeline of its
    company and of the target days from its start to the end of the
    pipeline (the stage's own and those of the active stages after it)"""
    Stage = Pool().get('crm.sale.stage')
    stage = Stage.__table__()
    # The order of crm.sale.stage: empty sequences first
    order = [Case((stage.sequence == Null, 0), else_=1), stage.sequence,
        stage.id]
    days = Coalesce(stage.target_days, 0)
    active_days = Case((stage.active == Literal(True), days), else_=0)
    return stage.select(
        stage.id.as_('stage'),
        RowNumber(window=Window([stage.company], order_by=order)
            ).as_('position'),
        (Sum(active_days, window=Window([stage.company],
                    order_by=[o.desc for o in order],
                    frame='ROWS', start=None, end=0))
            + days - active_days).as_('remaining_days'))


def rule_condition(Model, table):
    """Return the SQL condition on the table of the model that its read
    rules give the user"""
    Rule = Pool().get('ir.rule')
    domain = Rule.domain_get(Model.__name__, mode='read')
    if not domain:
        return Literal(True)
    tables, condition = Model.search_domain(
        domain, active_test=False, tables={None: (table, None)})
    if len(tables) > 1:
        # The rules go through other tables: keep the ids they select
        return table.id.in_(Rule.query_get(Model.__name__))
    return condition


def salesperson_teams():
    """Return the SQL queries of the team of each employee: the first active
    team (by id) the employee is a member of, and the first one the
    employee manages"""
    pool = Pool()
    Team = pool.get('crm.team')
    TeamEmployee = pool.get('crm.team-company.employee')
    team = Team.__table__()
    managed = Team.__table__()
    member = TeamEmployee.__table__()
    return (
        member.join(team, condition=member.team == team.id).select(
            member.employee.as_('employee'), Min(team.id).as_('team'),
            where=team.active == Literal(True),
            group_by=[member.employee]),
        managed.select(
            managed.manager.as_('employee'), Min(managed.id).as_('team'),
            where=(managed.active == Literal(True))
            & (managed.manager != Null),
            group_by=[managed.manager]))


def _company_today(company_id):
    "Return today in the time zone of the company of the id"
    pool = Pool()
    Company = pool.get('company.company')
    if company_id is not None and company_id >= 0:
        return company_today(Company(company_id))
    return pool.get('ir.date').today()


class _ContextMixin(ModelView):
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
    # Not "employee": the context has the user's employee under that name
    salesperson = fields.Many2One(
        'company.employee', "Salesperson",
        domain=[('company', '=', Eval('company', -1))],
        help="Count only the opportunities of this salesperson.")
    sales_team = fields.Many2One(
        'crm.team', "Sales Team",
        domain=[('company', '=', Eval('company', -1))],
        help="Count only the opportunities of this team.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        return Transaction().context.get('from_date')

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date')


class ForecastContext(_ContextMixin):
    "The open opportunities the forecast counts"
    __name__ = 'crm.sale.pipeline.forecast.context'


class AnalysisContext(_ContextMixin):
    "The opportunities a pipeline analysis counts"
    __name__ = 'crm.sale.pipeline.analysis.context'

    @classmethod
    def default_from_date(cls):
        "The first day of the twelve months that end with this one"
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        today = _company_today(cls.default_company())
        return today.replace(day=1) - relativedelta(months=11)

    @classmethod
    def default_to_date(cls):
        context = Transaction().context
        if 'to_date' in context:
            return context['to_date']
        return _company_today(cls.default_company())


class _Report(ModelSQL, ModelView):
    company = fields.Many2One('company.company', "Company", readonly=True)

    @classmethod
    def _opportunities(cls):
        """Return the opportunity table, the team column, the from item that
        joins the opportunity to its team and the condition on the
        opportunities of the context the user may read"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        Opportunity = pool.get('sale.opportunity')
        context = Transaction().context
        opportunity = Opportunity.__table__()
        customer = Customer.__table__()
        member, manager = salesperson_teams()
        # The salesperson's team, else the customer's
        team = Coalesce(member.team, manager.team, customer.team)
        from_item = (opportunity
            .join(customer, 'LEFT',
                condition=(customer.party == opportunity.party)
                & (customer.company == opportunity.company))
            .join(member, 'LEFT',
                condition=member.employee == opportunity.employee)
            .join(manager, 'LEFT',
                condition=manager.employee == opportunity.employee))
        where = ((opportunity.company == context.get('company'))
            & rule_condition(Opportunity, opportunity))
        if context.get('salesperson'):
            where &= opportunity.employee == context['salesperson']
        if context.get('sales_team'):
            where &= team == context['sales_team']
        return opportunity, team, from_item, where

    @classmethod
    def _currency(cls):
        """Return the id and digits of the currency of the company of the
        context; without company (no row) None and 2"""
        Company = Pool().get('company.company')
        company_id = Transaction().context.get('company')
        if company_id is not None and company_id >= 0:
            currency = Company(company_id).currency
            return currency.id, currency.digits
        return None, 2

    @classmethod
    def _company_amount(cls, opportunity, from_item, date):
        """Return the from item joined with the currency rates at the date
        and the amount of the opportunity in the currency of its company"""
        Currency = Pool().get('currency.currency')
        currency = Literal(cls._currency()[0])
        rates = []
        for currency_column in [opportunity.currency, currency]:
            rate_ = Currency.currency_rate_sql()
            from_item = from_item.join(rate_, 'LEFT',
                condition=(rate_.currency == currency_column)
                & (rate_.start_date <= date)
                & ((rate_.end_date == Null) | (rate_.end_date > date)))
            rates.append(rate_)
        opportunity_rate, company_rate = rates
        amount = Case(
            (opportunity.currency == currency, opportunity.amount),
            else_=opportunity.amount * company_rate.rate
            / opportunity_rate.rate)
        return from_item, amount

    @classmethod
    def _money(cls, field, total):
        "Return the SQL sum rounded to the digits of the company's currency"
        return Round(
            Coalesce(field.sql_cast(total), 0), cls._currency()[1])

    @classmethod
    def _days(cls, field, expression):
        "Return the SQL average of the days rounded to a tenth"
        return field.sql_cast(Round(Avg(expression), 1))

    @classmethod
    def _dates(cls, column):
        "Return the SQL condition of the column between the context's dates"
        context = Transaction().context
        where = Literal(True)
        if context.get('from_date'):
            where &= column >= context['from_date']
        if context.get('to_date'):
            where &= column <= context['to_date']
        return where


class _MonthMixin:
    "Rows per month, salesperson and team"
    __slots__ = ()

    employee = fields.Many2One(
        'company.employee', "Salesperson", readonly=True)
    team = fields.Many2One('crm.team', "Sales Team", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order[0:0] = [('month', 'ASC'), ('employee', 'ASC')]

    @classmethod
    def _month(cls, date):
        return cls.month.sql_cast(DateTrunc('month', date))


class Forecast(_MonthMixin, _Report):
    "The open opportunities by expected month, salesperson, team and stage"
    __name__ = 'crm.sale.pipeline.forecast'

    month = fields.Date(
        "Month", readonly=True,
        help="The month the opportunities are expected to close: "
        "their end date, else the day they entered their stage "
        "plus the target durations of the stages left.")
    stage = fields.Many2One('crm.sale.stage', "Stage", readonly=True)
    number = fields.Integer("Opportunities", readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True,
        help="In the currency of the company at today's rate.")
    weighted_amount = Monetary(
        "Weighted Amount", currency='currency', digits='currency',
        readonly=True,
        help="The amounts multiplied by their win probability.")

    @classmethod
    def table_query(cls):
        context = Transaction().context
        opportunity, team, from_item, where = cls._opportunities()
        positions = stage_positions()
        from_item = from_item.join(positions, 'LEFT',
            condition=positions.stage == opportunity.stage)
        from_item, amount = cls._company_amount(
            opportunity, from_item, _company_today(context.get('company')))
        close = Coalesce(opportunity.end_date,
            add_days(opportunity.stage_date, positions.remaining_days),
            opportunity.start_date)
        month = cls._month(close)
        probability = cls.weighted_amount.sql_cast(
            opportunity.conversion_probability)
        return from_item.select(
            Min(opportunity.id).as_('id'),
            opportunity.company.as_('company'),
            month.as_('month'),
            opportunity.employee.as_('employee'),
            team.as_('team'),
            opportunity.stage.as_('stage'),
            Count(opportunity.id).as_('number'),
            Literal(cls._currency()[0]).as_('currency'),
            cls._money(cls.amount, Sum(amount)).as_('amount'),
            cls._money(cls.weighted_amount, Sum(amount * probability)
                ).as_('weighted_amount'),
            where=where & opportunity.state.in_(OPEN_STATES)
            & cls._dates(close),
            # the month by its name: its expression has a parameter
            group_by=[opportunity.company, month.as_('month'),
                opportunity.employee, team, opportunity.stage])


class Conversion(_Report):
    "How the opportunities go through each stage"
    __name__ = 'crm.sale.pipeline.conversion'

    stage = fields.Many2One('crm.sale.stage', "Stage", readonly=True)
    position = fields.Integer("Position", readonly=True)
    entered = fields.Integer(
        "Entered", readonly=True,
        help="The moves into the stage in the period.")
    advanced = fields.Integer(
        "Moved Forward", readonly=True,
        help="The moves from the stage to a later stage in the period.")
    advance_rate = fields.Float(
        "Forward Rate", digits=(1, 4), readonly=True,
        help="The moves forward for each move into the stage.")
    won = fields.Integer(
        "Won", readonly=True,
        help="The opportunities won in the period that had reached the "
        "stage: their stage when won is this one or a later one.")
    win_rate = fields.Float(
        "Win Rate", digits=(1, 4), readonly=True,
        help="The opportunities won for each opportunity won or lost "
        "in the period that had reached the stage.")
    lost = fields.Integer(
        "Lost in Stage", readonly=True,
        help="The opportunities lost in the period while in the stage.")
    average_days = fields.Float(
        "Average Days in Stage", digits=(16, 1), readonly=True,
        help="The average time spent in the stage "
        "by the opportunities that left it in the period.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order[0:0] = [('position', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        History = pool.get('crm.sale.stage.history')
        Stage = pool.get('crm.sale.stage')
        context = Transaction().context
        company_id = context.get('company')

        # The moves of the period, counted per pair of stages
        history = History.__table__()
        from_item = history
        where = ((history.company == company_id)
            & cls._dates(history.date)
            & rule_condition(History, history))
        if context.get('salesperson') or context.get('sales_team'):
            opportunity, _, from_item, scope = cls._opportunities()
            from_item = from_item.join(history,
                condition=history.opportunity == opportunity.id)
            where &= scope
        moves = With(query=from_item.select(
                history.from_stage.as_('from_stage'),
                history.to_stage.as_('to_stage'),
                Count(history.id).as_('moves'),
                Sum(history.duration).as_('duration'),
                Count(history.duration).as_('timed'),
                where=where,
                group_by=[history.from_stage, history.to_stage]))
        entries = moves.select(
            moves.to_stage.as_('stage'),
            Sum(moves.moves).as_('entered'),
            group_by=[moves.to_stage])
        from_position = stage_positions()
        to_position = stage_positions()
        exits = (moves
            .join(from_position,
                condition=from_position.stage == moves.from_stage)
            .join(to_position,
                condition=to_position.stage == moves.to_stage)
            .select(
                moves.from_stage.as_('stage'),
                Sum(Case((to_position.position > from_position.position,
                            moves.moves), else_=0)).as_('advanced'),
                Sum(moves.duration).as_('duration'),
                Sum(moves.timed).as_('timed'),
                group_by=[moves.from_stage]))

        # The opportunities won and lost in the period, by their last stage
        opportunity, _, from_item, where = cls._opportunities()
        closes = from_item.select(
            opportunity.stage.as_('stage'),
            Sum(Case((opportunity.state.in_(WON_STATES), 1), else_=0)
                ).as_('won'),
            Sum(Case((opportunity.state.in_(LOST_STATES), 1), else_=0)
                ).as_('lost'),
            where=where & opportunity.state.in_(CLOSED_STATES)
            & cls._dates(opportunity.end_date),
            group_by=[opportunity.stage])

        stage = Stage.__table__()
        positions = stage_positions()
        # Those won or lost in a stage had reached the stages before it
        reached = Window([stage.company],
            order_by=[positions.position.desc], frame='ROWS',
            start=None, end=0)
        # PostgreSQL sums counts as numeric
        won = cls.won.sql_cast(Sum(Coalesce(closes.won, 0), window=reached))
        lost = Sum(Coalesce(closes.lost, 0), window=reached)
        entered = cls.entered.sql_cast(Coalesce(entries.entered, 0))
        advanced = cls.advanced.sql_cast(Coalesce(exits.advanced, 0))
        seconds = Extract('EPOCH', exits.duration) / exits.timed
        return (stage
            .join(positions, condition=positions.stage == stage.id)
            .join(entries, 'LEFT', condition=entries.stage == stage.id)
            .join(exits, 'LEFT', condition=exits.stage == stage.id)
            .join(closes, 'LEFT', condition=closes.stage == stage.id)
            .select(
                stage.id.as_('id'),
                stage.company.as_('company'),
                stage.id.as_('stage'),
                positions.position.as_('position'),
                entered.as_('entered'),
                advanced.as_('advanced'),
                rate(advanced, entered).as_('advance_rate'),
                won.as_('won'),
                rate(won, won + lost).as_('win_rate'),
                cls.lost.sql_cast(Coalesce(closes.lost, 0)).as_('lost'),
                cls.average_days.sql_cast(Case(
                        (exits.timed > 0,
                            Round(seconds / (24 * 60 * 60), 1)),
                        else_=Null)).as_('average_days'),
                where=stage.company == company_id,
                with_=[moves]))


class _ClosedMixin:
    "The figures of the opportunities won and lost"
    __slots__ = ()

    won = fields.Integer("Won", readonly=True)
    lost = fields.Integer("Lost", readonly=True)
    win_rate = fields.Float(
        "Win Rate", digits=(1, 4), readonly=True,
        help="The opportunities won for each opportunity won or lost.")
    currency = fields.Many2One(
        'currency.currency', "Currency", readonly=True)
    won_amount = Monetary(
        "Won Amount", currency='currency', digits='currency', readonly=True,
        help="In the currency of the company at the rate of the end date.")
    cycle_days = fields.Float(
        "Average Sales Cycle", digits=(16, 1), readonly=True,
        help="The average number of days from the start date "
        "to the end date of the opportunities won or lost.")

    @classmethod
    def _closed_columns(cls, opportunity, amount):
        "Return the SQL columns of one opportunity, to sum"
        won = opportunity.state.in_(WON_STATES)
        closed = opportunity.state.in_(CLOSED_STATES)
        return [
            Case((won, 1), else_=0).as_('won'),
            Case((opportunity.state.in_(LOST_STATES), 1), else_=0
                ).as_('lost'),
            Case((won, amount), else_=0).as_('won_amount'),
            Case((closed, days_between(
                        opportunity.start_date, opportunity.end_date)),
                else_=Null).as_('cycle_days'),
            ]

    @classmethod
    def _closed_totals(cls, rows):
        "Return the SQL aggregates of the rows of _closed_columns"
        won = Sum(rows.won)
        lost = Sum(rows.lost)
        return [
            won.as_('won'),
            lost.as_('lost'),
            rate(won, won + lost).as_('win_rate'),
            cls._money(cls.won_amount, Sum(rows.won_amount)
                ).as_('won_amount'),
            cls._days(cls.cycle_days, rows.cycle_days).as_('cycle_days'),
            Literal(cls._currency()[0]).as_('currency'),
            ]


class Monthly(_MonthMixin, _ClosedMixin, _Report):
    "The opportunities started, won and lost per month and salesperson"
    __name__ = 'crm.sale.pipeline.monthly'

    month = fields.Date("Month", readonly=True)
    created = fields.Integer(
        "Started", readonly=True,
        help="The opportunities whose start date is in the month.")

    @classmethod
    def table_query(cls):
        parts = []
        # An opportunity counts in the month it starts (even row ids) and
        # in the month it closes (odd row ids)
        for closing in [False, True]:
            opportunity, team, from_item, where = cls._opportunities()
            columns = [
                (opportunity.id * 2 + int(closing)).as_('row'),
                opportunity.company.as_('company'),
                opportunity.employee.as_('employee'),
                team.as_('team'),
                ]
            if closing:
                from_item, amount = cls._company_amount(
                    opportunity, from_item, opportunity.end_date)
                date = opportunity.end_date
                where &= opportunity.state.in_(CLOSED_STATES)
                columns += [Literal(0).as_('created')]
                columns += cls._closed_columns(opportunity, amount)
            else:
                date = opportunity.start_date
                columns += [
                    Literal(1).as_('created'),
                    Literal(0).as_('won'),
                    Literal(0).as_('lost'),
                    Literal(0).as_('won_amount'),
                    Literal(None).as_('cycle_days'),
                    ]
            columns.append(cls._month(date).as_('month'))
            parts.append(from_item.select(
                    *columns, where=where & cls._dates(date)))
        rows = Union(*parts, all_=True)
        return rows.select(
            Min(rows.row).as_('id'),
            rows.company, rows.month, rows.employee, rows.team,
            Sum(rows.created).as_('created'),
            *cls._closed_totals(rows),
            group_by=[rows.company, rows.month, rows.employee, rows.team])


class Source(_ClosedMixin, _Report):
    "The outcome of the opportunities per source"
    __name__ = 'crm.sale.pipeline.source'

    source = fields.Many2One('crm.source', "Source", readonly=True)
    number = fields.Integer(
        "Started", readonly=True,
        help="The opportunities whose start date is in the period.")
    in_progress = fields.Integer("In Progress", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order[0:0] = [('source', 'ASC')]

    @classmethod
    def table_query(cls):
        opportunity, _, from_item, where = cls._opportunities()
        from_item, amount = cls._company_amount(
            opportunity, from_item, opportunity.end_date)
        rows = from_item.select(
            opportunity.id,
            opportunity.company,
            opportunity.source,
            opportunity.state,
            *cls._closed_columns(opportunity, amount),
            where=where & cls._dates(opportunity.start_date))
        return rows.select(
            Min(rows.id).as_('id'),
            rows.company, rows.source,
            Count(rows.id).as_('number'),
            Sum(Case((rows.state.in_(OPEN_STATES), 1), else_=0)
                ).as_('in_progress'),
            *cls._closed_totals(rows),
            group_by=[rows.company, rows.source])


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    stage_date = fields.Date(
        "In Stage Since", readonly=True,
        help="The day the opportunity entered its stage.")

    @classmethod
    def __register__(cls, module):
        pool = Pool()
        History = pool.get('crm.sale.stage.history')
        filled = cls.__table_handler__(module).column_exist('stage_date')
        super().__register__(module)
        if not filled:
            History.update_stage_dates()

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('stage_date')
        return super().copy(opportunities, default=default)


class StageHistory(metaclass=PoolMeta):
    __name__ = 'crm.sale.stage.history'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The conversion report reads the moves of a period
        cls._sql_indexes.add(
            Index(t, (t.company, Index.Equality()), (t.date, Index.Range())))

    @classmethod
    def on_modification(cls, mode, moves, field_names=None):
        super().on_modification(mode, moves, field_names=field_names)
        if mode in {'create', 'write'}:
            cls.update_stage_dates({m.opportunity.id for m in moves})

    @classmethod
    def update_stage_dates(cls, opportunity_ids=None):
        """Set the day the opportunities (all by default) entered their
        stage: the day of their last move"""
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        opportunity = Opportunity.__table__()
        history = cls.__table__()
        cursor = Transaction().connection.cursor()
        last = history.select(Max(history.date),
            where=history.opportunity == opportunity.id)
        if opportunity_ids is None:
            cursor.execute(*opportunity.update(
                    [opportunity.stage_date], [last]))
            return
        for sub_ids in grouped_slice(
                opportunity_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*opportunity.update(
                    [opportunity.stage_date], [last],
                    where=fields.SQL_OPERATORS['in'](
                        opportunity.id, list(sub_ids))))
