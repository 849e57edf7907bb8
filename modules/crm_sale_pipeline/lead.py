# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Lead scoring and assignment: rules that give a lead points for its
source, the industry, size and region of its customer and the customer's
recent activities; and rules that give a lead without salesperson to an
employee by territory, source, industry or score, or in turn among the
members of a team."""
import datetime as dt
from collections import defaultdict, namedtuple

from sql import Literal, Null, Window
from sql.aggregate import Count, Sum
from sql.conditionals import Case
from sql.functions import RowNumber

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.exceptions import ValidationError
from trytond.modules.crm_customer.customer import SIZES
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .common import OPEN_STATES
from .notify import employee_users, notify

GRADES = [
    (None, ""),
    ('hot', "Hot"),
    ('warm', "Warm"),
    ('cold', "Cold"),
    ]

# What the rules read of an opportunity, from lead_facts_query
LeadFacts = namedtuple('LeadFacts', [
        'id', 'company', 'source', 'customer', 'industry', 'size', 'region',
        'country', 'score'])

# The opportunities scored or matched per query: their ids appear twice in
# the facts query
SLICE = backend.MAX_QUERY_PARAMS // 2


class LeadRuleError(ValidationError):
    pass


class LeadAssignmentError(UserError):
    pass


def lead_grade(score, warm, hot):
    "Return the grade of the score under the warm and hot thresholds"
    if score is None:
        return None
    if score >= hot:
        return 'hot'
    if score >= warm:
        return 'warm'
    return 'cold'


def next_member(member_ids, last_id):
    """Return the member who follows the last one assigned, in the order of
    their ids and starting over after the highest: each member gets a lead
    in turn, even when members joined or left the team since"""
    members = sorted(member_ids)
    if not members:
        return None
    if last_id is not None:
        for member in members:
            if member > last_id:
                return member
    return members[0]


def lead_facts_query(opportunity_ids):
    """Return the query of what the rules read of the opportunities of the
    ids: company, source and score; the active CRM record of the party in
    the company with its industry and size; the region and country of the
    party, those of its first address with a subdivision (the customer's
    region) or else of its first address with a country"""
    pool = Pool()
    Address = pool.get('party.address')
    Customer = pool.get('crm.customer')
    Opportunity = pool.get('sale.opportunity')
    opportunity = Opportunity.__table__()
    customer = Customer.__table__()
    address = Address.__table__()
    parties = Opportunity.__table__()
    in_ = fields.SQL_OPERATORS['in']

    # The order of party.addresses: sequence with empty ones first, then id
    order = [
        Case((address.subdivision == Null, 1), else_=0),
        Case((address.sequence == Null, 0), else_=1),
        address.sequence,
        address.id,
        ]
    ranked = address.select(
        address.party.as_('party'),
        address.subdivision.as_('subdivision'),
        address.country.as_('country'),
        RowNumber(window=Window([address.party], order_by=order)).as_('rank'),
        where=(address.active == Literal(True))
        & ((address.subdivision != Null) | (address.country != Null))
        & address.party.in_(parties.select(
                parties.party,
                where=in_(parties.id, opportunity_ids))))
    return (opportunity
        .join(customer, 'LEFT',
            condition=(customer.party == opportunity.party)
            & (customer.company == opportunity.company)
            & (customer.active == Literal(True)))
        .join(ranked, 'LEFT',
            condition=(ranked.party == opportunity.party)
            & (ranked.rank == 1))
        .select(
            opportunity.id.as_('id'),
            opportunity.company.as_('company'),
            opportunity.source.as_('source'),
            customer.id.as_('customer'),
            customer.industry.as_('industry'),
            customer.size.as_('size'),
            ranked.subdivision.as_('region'),
            ranked.country.as_('country'),
            opportunity.lead_score.as_('score'),
            where=in_(opportunity.id, opportunity_ids)))


def lead_facts(opportunity_ids):
    "Return the LeadFacts of the opportunities of the ids, a query a slice"
    cursor = Transaction().connection.cursor()
    result = []
    for sub_ids in grouped_slice(opportunity_ids, SLICE):
        cursor.execute(*lead_facts_query(list(sub_ids)))
        result.extend(LeadFacts(*row) for row in cursor)
    return result


def lead_scores(opportunity_ids, now=None):
    """Return the score of each opportunity of the ids: the points of the
    active scoring rules of its company that it meets, added up, computed
    by one query a slice"""
    pool = Pool()
    Activity = pool.get('crm.activity')
    Rule = pool.get('crm.sale.lead.scoring_rule')
    rule = Rule.__table__()
    activity = Activity.__table__()
    cursor = Transaction().connection.cursor()
    if now is None:
        now = dt.datetime.now().replace(microsecond=0)

    # Each rule counts the activities since its own cutoff
    cursor.execute(*rule.select(
            rule.id, rule.activity_days,
            where=(rule.activity_count != Null)
            & (rule.activity_days != Null)))
    cutoffs = [(rule.id == i, now - dt.timedelta(days=d))
        for i, d in cursor]
    recent = ((rule.activity_count != Null)
        & (activity.state == 'done')
        & (activity.start <= now))
    if cutoffs:
        recent &= activity.start >= Case(*cutoffs)

    scores = {}
    for sub_ids in grouped_slice(opportunity_ids, SLICE):
        sub_ids = list(sub_ids)
        facts = lead_facts_query(sub_ids)
        condition = ((rule.company == facts.company)
            & (rule.active == Literal(True)))
        for name in ['source', 'industry', 'size', 'region']:
            criterion = getattr(rule, name)
            condition &= (criterion == Null) | (
                criterion == getattr(facts, name))
        matched = (facts
            .join(rule, condition=condition)
            .join(activity, 'LEFT',
                condition=recent & (activity.customer == facts.customer))
            .select(
                facts.id.as_('opportunity'),
                rule.points.as_('points'),
                group_by=[facts.id, rule.id, rule.points,
                    rule.activity_count],
                having=(rule.activity_count == Null)
                | (Count(activity.id) >= rule.activity_count)))
        cursor.execute(*matched.select(
                matched.opportunity, Sum(matched.points),
                group_by=[matched.opportunity]))
        scores.update(dict.fromkeys(sub_ids, 0))
        # SQLite may sum into a float
        scores.update((o, int(p)) for o, p in cursor)
    return scores


class ScoringRule(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "Points a lead gets when it meets the criteria"
    __name__ = 'crm.sale.lead.scoring_rule'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    source = fields.Many2One(
        'crm.source', "Source", ondelete='CASCADE',
        help="The channel through which the lead came.")
    industry = fields.Many2One(
        'crm.industry', "Industry", ondelete='CASCADE',
        help="The industry of the customer.")
    size = fields.Selection(SIZES, "Size", help="The size of the customer.")
    region = fields.Many2One(
        'country.subdivision', "Region", ondelete='CASCADE',
        help="The region of the customer.")
    activity_count = fields.Integer(
        "Activities",
        domain=['OR',
            ('activity_count', '=', None),
            ('activity_count', '>', 0),
            ],
        help="The number of activities done with the customer "
        "within the days that the lead must have at least.")
    activity_days = fields.Integer(
        "Activity Days",
        domain=['OR',
            ('activity_days', '=', None),
            ('activity_days', '>', 0),
            ],
        states={
            'required': Eval('activity_count', None) != None,  # noqa: E711
            'invisible': Eval('activity_count', None) == None,  # noqa: E711
            },
        help="How many days back the activities are counted.")
    points = fields.Integer(
        "Points", required=True,
        help="The points added to the score of the lead, "
        "or taken away when negative.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.company, Index.Range())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        if field_names and not (
                field_names & {'activity_count', 'activity_days'}):
            return
        for rule in rules:
            if (rule.activity_count is None) != (rule.activity_days is None):
                raise LeadRuleError(gettext(
                        'crm_sale_pipeline.msg_scoring_rule_activity',
                        rule=rule.rec_name))


class AssignmentRule(
        DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "Who gets the leads that meet the criteria"
    __name__ = 'crm.sale.lead.assignment_rule'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    country = fields.Many2One(
        'country.country', "Country", ondelete='CASCADE',
        help="The country of the customer.")
    region = fields.Many2One(
        'country.subdivision', "Region", ondelete='CASCADE',
        domain=[
            If(Eval('country'),
                ('country', '=', Eval('country', -1)),
                ()),
            ],
        help="The region of the customer.")
    source = fields.Many2One(
        'crm.source', "Source", ondelete='CASCADE',
        help="The channel through which the lead came.")
    industry = fields.Many2One(
        'crm.industry', "Industry", ondelete='CASCADE',
        help="The industry of the customer.")
    minimum_score = fields.Integer(
        "Minimum Score", help="The lowest score of the leads of the rule.")
    method = fields.Selection([
            ('employee', "Employee"),
            ('round_robin', "Round-Robin in Team"),
            ], "Assign To", required=True,
        help="Give the leads to one employee, "
        "or to the members of a team in turn.")
    employee = fields.Many2One(
        'company.employee', "Employee", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'required': Eval('method') == 'employee',
            'invisible': Eval('method') != 'employee',
            })
    team = fields.Many2One(
        'crm.team', "Team", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'required': Eval('method') == 'round_robin',
            'invisible': Eval('method') != 'round_robin',
            },
        help="Its active members get the leads in turn.")
    last_member = fields.Many2One(
        'company.employee', "Last Assigned Member", readonly=True,
        ondelete='SET NULL',
        states={
            'invisible': Eval('method') != 'round_robin',
            },
        help="The member who got the last lead; the next one goes to the "
        "member after.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.company, Index.Range())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_method(cls):
        return 'round_robin'

    @fields.depends('region', 'country')
    def on_change_region(self):
        if self.region:
            self.country = self.region.country

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        if field_names and not (field_names & {'method', 'team'}):
            return
        for rule in rules:
            if (rule.method == 'round_robin' and rule.team
                    and not rule.team.members):
                raise LeadRuleError(gettext(
                        'crm_sale_pipeline.msg_assignment_rule_team_members',
                        rule=rule.rec_name, team=rule.team.rec_name))

    @classmethod
    def copy(cls, rules, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('last_member')
        return super().copy(rules, default=default)

    def meets(self, facts):
        "Tell if the lead of the LeadFacts meets the criteria of the rule"
        for name in ['country', 'region', 'source', 'industry']:
            criterion = getattr(self, name)
            if criterion and criterion.id != getattr(facts, name):
                return False
        return (self.company.id == facts.company
            and (self.minimum_score is None
                or (facts.score or 0) >= self.minimum_score))

    def candidates(self):
        "Return the ids of the active employees who can get the leads"
        if self.method == 'employee':
            employees = [self.employee]
        elif self.team.active:
            employees = self.team.members
        else:
            employees = []
        return [e.id for e in employees if e.active]

    @classmethod
    @without_check_access
    def match(cls, leads):
        """Return for each lead the first active rule of its company that it
        meets and whose employees can get it, with their ids; or None.
        Whoever creates the lead, the rules apply: they are read as root"""
        companies = {lead.company.id for lead in leads}
        rules = cls.search([('company', 'in', list(companies))])
        candidates = {}
        facts = {f.id: f for f in lead_facts([lead.id for lead in leads])}
        result = {}
        for lead in leads:
            result[lead] = None
            for rule in rules:
                if not rule.meets(facts[lead.id]):
                    continue
                if rule not in candidates:
                    candidates[rule] = rule.candidates()
                if candidates[rule]:
                    result[lead] = (rule, candidates[rule])
                    break
        return result

    @classmethod
    @without_check_access
    def assign(cls, matches):
        """Give each lead to the employee of its rule or, for round-robin
        rules, to the next member of the team; tell the employees"""
        pool = Pool()
        Employee = pool.get('company.employee')
        Opportunity = pool.get('sale.opportunity')
        # Concurrent assignments by a rule take turns: the rows of the
        # round-robin rules are locked (SELECT ... FOR UPDATE NOWAIT on
        # PostgreSQL, as Model.lock() does), and a transaction that meets
        # the lock, or a row another one changed since it started, fails
        # and is run again, reading the member the other one chose.
        # Model.lock() would start every assigning transaction over and
        # burn an opportunity number each time.
        round_robin = sorted(
            {r for r, _ in matches.values() if r.method == 'round_robin'},
            key=lambda r: r.id)
        if round_robin:
            transaction = Transaction()
            transaction.database.lock_records(
                transaction.connection, cls._table,
                [r.id for r in round_robin])

        assigned = defaultdict(list)
        for lead in sorted(matches, key=lambda lead: lead.id):
            rule, employees = matches[lead]
            if rule.method == 'round_robin':
                employee = next_member(
                    employees,
                    rule.last_member.id if rule.last_member else None)
                rule.last_member = Employee(employee)
            else:
                employee, = employees
            assigned[(employee, rule)].append(lead)
        Opportunity.write(*[a
                for (employee, rule), leads in assigned.items()
                for a in (leads, {
                        'employee': employee,
                        'assignment_rule': rule.id,
                        })])
        cls.save(round_robin)

        users = employee_users(Employee.browse({e for e, _ in assigned}))
        for (employee, rule), leads in assigned.items():
            for lead in leads:
                notify(users[Employee(employee)], lead, lead,
                    'crm_sale_pipeline.msg_lead_assigned',
                    lead=lead.rec_name, rule=rule.rec_name)


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    lead_warm_score = fields.Integer(
        "Warm Lead Score", required=True,
        help="Leads with this score or more are warm.")
    lead_hot_score = fields.Integer(
        "Hot Lead Score", required=True,
        help="Leads with this score or more are hot.")

    @classmethod
    def default_lead_warm_score(cls):
        return 30

    @classmethod
    def default_lead_hot_score(cls):
        return 60

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        if field_names and not (
                field_names & {'lead_warm_score', 'lead_hot_score'}):
            return
        for configuration in configurations:
            if configuration.lead_hot_score <= configuration.lead_warm_score:
                raise LeadRuleError(gettext(
                        'crm_sale_pipeline.msg_lead_grade_thresholds',
                        warm=configuration.lead_warm_score,
                        hot=configuration.lead_hot_score))


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    lead_score = fields.Integer(
        "Lead Score", readonly=True,
        help="The points of the scoring rules the lead meets.")
    lead_grade = fields.Function(
        fields.Selection(GRADES, "Lead Grade", sort=False),
        'get_lead_grade', searcher='search_lead_grade')
    assignment_rule = fields.Many2One(
        'crm.sale.lead.assignment_rule', "Assignment Rule", readonly=True,
        ondelete='SET NULL',
        help="The rule that gave the lead to its employee.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.lead_score, Index.Range(order='DESC'))))
        cls._buttons.update({
                'score': {
                    'invisible': ~Eval('state').in_(OPEN_STATES),
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'assign': {
                    'invisible': ((Eval('state') != 'lead')
                        | Eval('employee')),
                    'icon': 'tryton-forward',
                    'depends': ['state', 'employee'],
                    },
                })

    @classmethod
    def default_lead_score(cls):
        return 0

    @classmethod
    def get_lead_grade(cls, opportunities, name):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        configuration = Configuration(1)
        return {o.id: lead_grade(o.lead_score,
                configuration.lead_warm_score, configuration.lead_hot_score)
            for o in opportunities}

    @classmethod
    def search_lead_grade(cls, name, clause):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        configuration = Configuration(1)
        warm = configuration.lead_warm_score
        hot = configuration.lead_hot_score
        _, operator, value = clause
        domains = {
            None: [('lead_score', '=', None)],
            'hot': [('lead_score', '>=', hot)],
            'warm': [('lead_score', '>=', warm), ('lead_score', '<', hot)],
            'cold': [('lead_score', '<', warm)],
            }
        grades = set(value) if operator.endswith('in') else {value}
        if operator.startswith('!') or operator.startswith('not'):
            grades = domains.keys() - grades
        grades &= domains.keys()
        if not grades:
            return [('id', '=', None)]
        return ['OR', *(domains[g] for g in grades)]

    @staticmethod
    def order_lead_grade(tables):
        table, _ = tables[None]
        return [table.lead_score]

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('assignment_rule')
        return super().copy(opportunities, default=default)

    @classmethod
    def on_modification(cls, mode, opportunities, field_names=None):
        super().on_modification(mode, opportunities, field_names=field_names)
        if mode == 'create':
            # However a lead comes (client, import, script, text message),
            # it is scored and, without salesperson, assigned
            cls.score_leads(opportunities)
            cls.assign_leads([o for o in opportunities
                    if o.state == 'lead' and not o.employee])

    @classmethod
    def score_leads(cls, opportunities):
        "Store the score of the opportunities where it changed"
        scores = lead_scores([o.id for o in opportunities])
        changed = defaultdict(list)
        for opportunity in opportunities:
            if opportunity.lead_score != scores[opportunity.id]:
                changed[scores[opportunity.id]].append(opportunity)
        if changed:
            with without_check_access():
                cls.write(*[a for score, records in changed.items()
                        for a in (records, {'lead_score': score})])

    @classmethod
    def assign_leads(cls, leads, required=False):
        """Give the leads to the employees of the assignment rules; when
        required, a lead no rule gives raises an error and none is given"""
        pool = Pool()
        Rule = pool.get('crm.sale.lead.assignment_rule')
        if not leads:
            return
        matches = Rule.match(leads)
        unmatched = [lead for lead, m in matches.items() if m is None]
        if required and unmatched:
            raise LeadAssignmentError(gettext(
                    'crm_sale_pipeline.msg_lead_assign_no_rule',
                    leads=', '.join(lead.rec_name for lead in unmatched)))
        matches = {lead: m for lead, m in matches.items() if m is not None}
        if matches:
            Rule.assign(matches)

    @classmethod
    @ModelView.button
    def score(cls, opportunities):
        cls.score_leads(
            [o for o in opportunities if o.state in OPEN_STATES])

    @classmethod
    @ModelView.button
    def assign(cls, opportunities):
        cls.assign_leads(
            [o for o in opportunities
                if o.state == 'lead' and not o.employee],
            required=True)

    @classmethod
    def score_open_leads(cls):
        """Score again the open leads and opportunities: the activities
        with their customers change every day"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        where = table.state.in_(OPEN_STATES)
        company_id = Transaction().context.get('company')
        if company_id:
            where &= table.company == company_id
        cursor.execute(*table.select(table.id, where=where))
        ids = [i for i, in cursor]
        with without_check_access():
            for sub_ids in grouped_slice(ids, SLICE):
                cls.score_leads(cls.browse(sub_ids))


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('sale.opportunity|score_open_leads', "Score Open Leads"))
