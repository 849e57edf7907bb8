# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Pipeline stages: an ordered list per company that runs alongside the
states of Tryton's opportunities, with the checks to do before leaving a
stage and a history of every move."""
import datetime as dt

from sql.aggregate import Max

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.modules.crm_customer.activity import company_today
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .common import company_employee, crm_manager_group, user_in_group

# The states of Tryton's opportunities in which the stage can change
OPEN_STATES = ['lead', 'opportunity', 'converted']


class StageMoveError(UserError):
    pass


class Stage(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "A step of the sales pipeline"
    __name__ = 'crm.sale.stage'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    probability = fields.Float(
        "Win Probability", digits=(1, 4), required=True,
        domain=[
            ('probability', '>=', 0),
            ('probability', '<=', 1),
            ],
        help="The conversion probability an opportunity gets "
        "when it enters the stage.")
    target_days = fields.Integer(
        "Target Duration",
        domain=['OR',
            ('target_days', '=', None),
            ('target_days', '>', 0),
            ],
        help="The number of days an opportunity should stay in the stage.")
    checks = fields.One2Many(
        'crm.sale.stage.check', 'stage', "Required Checks",
        help="What must be done before an opportunity leaves the stage.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_probability(cls):
        return 0.5

    @classmethod
    def ordered(cls, company, current=None):
        """Return the active stages of the company in pipeline order, with
        the current stage even when it is no longer active"""
        domain = [('company', '=', company.id)]
        if current:
            domain = ['OR', domain + [('active', '=', True)],
                ('id', '=', current.id)]
        else:
            domain.append(('active', '=', True))
        return cls.search(domain)

    @classmethod
    def first(cls, company_id):
        stages = cls.search([('company', '=', company_id)], limit=1)
        return stages[0].id if stages else None


class StageCheck(sequence_ordered(), ModelSQL, ModelView):
    "Something to do before an opportunity leaves a stage"
    __name__ = 'crm.sale.stage.check'

    stage = fields.Many2One(
        'crm.sale.stage', "Stage", required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True, translate=True)


class OpportunityStageCheck(ModelSQL):
    "A check an opportunity has done"
    __name__ = 'sale.opportunity-crm.sale.stage.check'

    opportunity = fields.Many2One(
        'sale.opportunity', "Opportunity", required=True, ondelete='CASCADE')
    check = fields.Many2One(
        'crm.sale.stage.check', "Check", required=True, ondelete='CASCADE')


class StageHistory(ModelSQL, ModelView):
    "A move of an opportunity from one stage to another"
    __name__ = 'crm.sale.stage.history'

    opportunity = fields.Many2One(
        'sale.opportunity', "Opportunity", required=True, readonly=True,
        ondelete='CASCADE')
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    from_stage = fields.Many2One(
        'crm.sale.stage', "From Stage", readonly=True, ondelete='RESTRICT')
    to_stage = fields.Many2One(
        'crm.sale.stage', "To Stage", required=True, readonly=True,
        ondelete='RESTRICT')
    user = fields.Many2One('res.user', "User", readonly=True)
    employee = fields.Many2One('company.employee', "Employee", readonly=True)
    datetime = fields.DateTime("Date and Time", required=True, readonly=True)
    date = fields.Date(
        "Date", required=True, readonly=True,
        help="The day of the move in the time zone of the company.")
    duration = fields.TimeDelta(
        "Time in Previous Stage", readonly=True,
        help="How long the opportunity stayed in the stage it left.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(
                    t,
                    (t.opportunity, Index.Range()),
                    (t.datetime, Index.Range(order='DESC'))),
                Index(t, (t.to_stage, Index.Range()), (t.date, Index.Range())),
                })
        cls._order = [('datetime', 'DESC'), ('id', 'DESC')]

    @classmethod
    def last_moves(cls, opportunity_ids):
        "Return the datetime of the last move per opportunity id"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.opportunity, Max(table.datetime),
                where=table.opportunity.in_(opportunity_ids),
                group_by=[table.opportunity]))
        result = {}
        for opportunity_id, last in cursor:
            # SQLite returns aggregated timestamps as text
            if isinstance(last, str):
                last = dt.datetime.fromisoformat(last)
            result[opportunity_id] = last
        return result

    @classmethod
    def record(cls, opportunities, to_stage, from_stages):
        """Store the moves of the opportunities to the stage;
        from_stages maps each opportunity id to the stage it left"""
        pool = Pool()
        User = pool.get('res.user')
        now = dt.datetime.now().replace(microsecond=0)
        user = User(Transaction().user)
        last_moves = cls.last_moves([o.id for o in opportunities])
        values = []
        for opportunity in opportunities:
            company = opportunity.company
            since = last_moves.get(opportunity.id, opportunity.create_date)
            employee = company_employee(user, company)
            values.append({
                    'opportunity': opportunity.id,
                    'company': company.id,
                    'from_stage': from_stages.get(opportunity.id),
                    'to_stage': to_stage.id,
                    'user': user.id,
                    'employee': employee.id if employee else None,
                    'datetime': now,
                    'date': company_today(company),
                    'duration': max(now - since, dt.timedelta())
                    if from_stages.get(opportunity.id) else None,
                    })
        with without_check_access():
            cls.create(values)


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    stage = fields.Many2One(
        'crm.sale.stage', "Stage", readonly=True, ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        help="Where the opportunity stands in the sales pipeline.\n"
        "Use \"Move to Stage\" or \"Next Stage\" to change it.")
    stage_checks = fields.Many2Many(
        'sale.opportunity-crm.sale.stage.check', 'opportunity', 'check',
        "Checks Done",
        domain=[('stage', '=', Eval('stage', -1))],
        states={
            'readonly': ~Eval('state').in_(OPEN_STATES),
            'invisible': ~Eval('stage'),
            },
        help="The checks of the stage that are done.")
    stage_history = fields.One2Many(
        'crm.sale.stage.history', 'opportunity', "Stage History",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.stage, Index.Range())))
        cls._buttons.update({
                'next_stage': {
                    'invisible': (~Eval('state').in_(OPEN_STATES)
                        | ~Eval('stage')),
                    'icon': 'tryton-forward',
                    'depends': ['state', 'stage'],
                    },
                'move_stage': {
                    'invisible': ~Eval('state').in_(OPEN_STATES),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_stage(cls):
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        company_id = cls.default_company()
        if company_id is not None:
            return Stage.first(company_id)

    @classmethod
    def default_conversion_probability(cls):
        # A new opportunity enters the first stage with its probability
        return cls._first_stage_probability(
            cls.default_company(), super().default_conversion_probability())

    @classmethod
    def _first_stage_probability(cls, company_id, probability):
        """Return the probability of the first stage of the company, or the
        probability given when the company has no stage"""
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        stage_id = Stage.first(company_id) if company_id is not None else None
        return Stage(stage_id).probability if stage_id else probability

    @classmethod
    def copy(cls, opportunities, default=None):
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        default = default.copy() if default is not None else {}
        default.setdefault('stage', lambda data: Stage.first(data['company']))
        default.setdefault(
            'conversion_probability',
            lambda data: cls._first_stage_probability(
                data['company'], data['conversion_probability']))
        default.setdefault('stage_checks', None)
        default.setdefault('stage_history', None)
        return super().copy(opportunities, default=default)

    @classmethod
    def check_modification(
            cls, mode, opportunities, values=None, external=False):
        super().check_modification(
            mode, opportunities, values=values, external=external)
        if (mode == 'write' and 'stage' in values
                and not Transaction().context.get('_crm_stage_move')):
            raise AccessError(gettext(
                    'crm_sale_pipeline.msg_opportunity_stage_write'))

    @classmethod
    def on_modification(cls, mode, opportunities, field_names=None):
        pool = Pool()
        History = pool.get('crm.sale.stage.history')
        super().on_modification(mode, opportunities, field_names=field_names)
        if mode == 'create':
            # The first stage is a move too: its time is counted from here
            for stage, group in _group_by_stage(opportunities).items():
                History.record(group, stage, {})

    def check_stage_move(self, stage, manager):
        "Raise StageMoveError when the opportunity cannot move to the stage"
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        names = {
            'opportunity': self.rec_name,
            'stage': stage.rec_name,
            }
        if self.state not in OPEN_STATES:
            raise StageMoveError(gettext(
                    'crm_sale_pipeline.msg_stage_move_state', **names))
        if stage.company != self.company:
            raise StageMoveError(gettext(
                    'crm_sale_pipeline.msg_stage_move_company', **names))
        if stage == self.stage:
            raise StageMoveError(gettext(
                    'crm_sale_pipeline.msg_stage_move_same', **names))
        stages = Stage.ordered(self.company, self.stage)
        if stage not in stages:
            raise StageMoveError(gettext(
                    'crm_sale_pipeline.msg_stage_move_inactive', **names))
        current = stages.index(self.stage) if self.stage else -1
        target = stages.index(stage)
        if target < current and not manager:
            raise StageMoveError(gettext(
                    'crm_sale_pipeline.msg_stage_move_back', **names))
        if target > current + 1 and not manager:
            raise StageMoveError(gettext(
                    'crm_sale_pipeline.msg_stage_move_skip', **names,
                    next=stages[current + 1].rec_name))
        if target > current and self.stage:
            missing = set(self.stage.checks) - set(self.stage_checks)
            if missing:
                raise StageMoveError(gettext(
                        'crm_sale_pipeline.msg_stage_move_checks',
                        **names, current=self.stage.rec_name,
                        checks=', '.join(
                            c.rec_name for c in self.stage.checks
                            if c in missing)))

    @classmethod
    def move_to_stage(cls, opportunities, stage):
        """Move the opportunities to the stage, with its probability, and
        record the moves; nothing moves if one of them cannot"""
        pool = Pool()
        History = pool.get('crm.sale.stage.history')
        manager = user_in_group(crm_manager_group())
        for opportunity in opportunities:
            opportunity.check_stage_move(stage, manager)
        from_stages = {
            o.id: o.stage.id for o in opportunities if o.stage}
        checks = [c.id for o in opportunities for c in o.stage_checks]
        with Transaction().set_context(_crm_stage_move=True):
            cls.write(list(opportunities), {
                    'stage': stage.id,
                    'conversion_probability': stage.probability,
                    'stage_checks': [('remove', checks)],
                    })
        History.record(opportunities, stage, from_stages)

    @classmethod
    @ModelView.button
    def next_stage(cls, opportunities):
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        by_next = {}
        for opportunity in opportunities:
            stages = Stage.ordered(opportunity.company, opportunity.stage)
            position = stages.index(opportunity.stage)
            if position + 1 >= len(stages):
                raise StageMoveError(gettext(
                        'crm_sale_pipeline.msg_stage_last',
                        opportunity=opportunity.rec_name,
                        stage=opportunity.stage.rec_name))
            by_next.setdefault(stages[position + 1], []).append(opportunity)
        for stage, group in by_next.items():
            cls.move_to_stage(group, stage)

    @classmethod
    @ModelView.button_action('crm_sale_pipeline.wizard_move_stage')
    def move_stage(cls, opportunities):
        pass


def _group_by_stage(opportunities):
    groups = {}
    for opportunity in opportunities:
        if opportunity.stage:
            groups.setdefault(opportunity.stage, []).append(opportunity)
    return groups


class MoveStageStart(ModelView):
    "Move opportunities to a stage"
    __name__ = 'sale.opportunity.move_stage.start'

    company = fields.Many2One('company.company', "Company", readonly=True)
    stage = fields.Many2One(
        'crm.sale.stage', "Stage", required=True,
        domain=[('company', '=', Eval('company', -1))])
    probability = fields.Float(
        "Win Probability", digits=(1, 4), readonly=True,
        states={'invisible': ~Bool(Eval('stage'))})

    @fields.depends('stage')
    def on_change_with_probability(self):
        if self.stage:
            return self.stage.probability


class MoveStage(Wizard):
    "Move opportunities to a stage"
    __name__ = 'sale.opportunity.move_stage'

    start = StateView(
        'sale.opportunity.move_stage.start',
        'crm_sale_pipeline.opportunity_move_stage_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Move", 'move', 'tryton-ok', default=True),
            ])
    move = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Stage = pool.get('crm.sale.stage')
        record = self.records[0]
        values = {'company': record.company.id}
        stages = Stage.ordered(record.company, record.stage)
        position = stages.index(record.stage) if record.stage else -1
        if position + 1 < len(stages):
            values['stage'] = stages[position + 1].id
        return values

    def transition_move(self):
        self.model.move_to_stage(self.records, self.start.stage)
        return 'end'
