# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Support requests: a salesperson asks for a presales engineer, a
manager's visit or samples for an opportunity, and a CRM manager grants or
refuses it, seeing the amount of the deal and the tier of the customer."""
import datetime as dt

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .common import company_employee, crm_manager_group, user_in_group
from .notify import group_users, notify

KINDS = [
    ('presales', "Presales Engineer"),
    ('manager_visit', "Manager Visit"),
    ('samples', "Samples"),
    ('other', "Other"),
    ]
PRIORITIES = [
    ('high', "High"),
    ('normal', "Normal"),
    ('low', "Low"),
    ]


class SupportRequestError(UserError):
    pass


def support_priority(amount, tier_rank, high_amount):
    """Return the priority of a request for a deal of the amount with a
    customer of the tier rank (0 for the company's top tier, None without
    a tier): high for the top tier or from the high amount, normal for the
    other tiers, low for the customers without a tier"""
    if tier_rank == 0 or (high_amount is not None and amount is not None
            and amount >= high_amount):
        return 'high'
    if tier_rank is not None:
        return 'normal'
    return 'low'


class SupportRequest(Workflow, ModelSQL, ModelView):
    "Support a salesperson asks for an opportunity"
    __name__ = 'crm.sale.support_request'
    _rec_name = 'description'

    _states = {
        'readonly': Eval('state') != 'draft',
        }
    _states_decision = {
        'readonly': Eval('state') != 'requested',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    opportunity = fields.Many2One(
        'sale.opportunity', "Opportunity", required=True,
        ondelete='CASCADE',
        domain=[('company', '=', Eval('company', -1))],
        states=_states)
    kind = fields.Selection(KINDS, "Kind", required=True, states=_states)
    kind_string = kind.translated('kind')
    description = fields.Char(
        "Description", required=True, states=_states,
        help="What is needed and why.")
    wanted_date = fields.Date(
        "Wanted Date", states=_states,
        help="The day the support is needed.")
    requested_by = fields.Many2One(
        'company.employee', "Requested By", required=True,
        domain=[('company', '=', Eval('company', -1))],
        states=_states)
    requested_user = fields.Many2One(
        'res.user', "Requesting User", readonly=True)
    request_date = fields.DateTime("Request Date", readonly=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = fields.Function(Monetary(
            "Amount", currency='currency', digits='currency',
            help="The estimated revenue of the opportunity."),
        'on_change_with_amount')
    customer_tier = fields.Function(fields.Many2One(
            'crm.tier', "Customer Tier",
            help="The tier of the customer in the company."),
        'get_priority')
    priority = fields.Function(fields.Selection(
            PRIORITIES, "Priority",
            help="High for the customers of the top tier or deals from the "
            "amount set in the CRM configuration, normal for the customers "
            "of another tier, low for the others."),
        'get_priority')
    assigned_to = fields.Many2One(
        'company.employee', "Assigned To",
        domain=[('company', '=', Eval('company', -1))],
        states=_states_decision,
        help="The employee who gives the support; "
        "the manager names them when granting.")
    comment = fields.Text(
        "Comment", states=_states_decision,
        help="The manager's word on the decision; required to refuse.")
    decided_by = fields.Many2One(
        'company.employee', "Decided By", readonly=True)
    decision_date = fields.DateTime("Decision Date", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('requested', "Requested"),
            ('granted', "Granted"),
            ('refused', "Refused"),
            ('done', "Done"),
            ], "State", required=True, readonly=True, sort=False)

    del _states, _states_decision

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.opportunity, Index.Range())),
                Index(
                    t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['requested', 'granted'])),
                })
        cls._order.insert(0, ('wanted_date', 'ASC NULLS LAST'))
        cls._transitions |= {
            ('draft', 'requested'),
            ('requested', 'granted'),
            ('requested', 'refused'),
            ('granted', 'done'),
            }
        cls._buttons.update({
                'request': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'grant': {
                    'invisible': Eval('state') != 'requested',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'refuse': {
                    'invisible': Eval('state') != 'requested',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': Eval('state') != 'granted',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_requested_by(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_kind(cls):
        return 'presales'

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('opportunity', '_parent_opportunity.currency')
    def on_change_with_currency(self, name=None):
        return self.opportunity.currency if self.opportunity else None

    @fields.depends('opportunity', '_parent_opportunity.amount')
    def on_change_with_amount(self, name=None):
        return self.opportunity.amount if self.opportunity else None

    @classmethod
    def get_priority(cls, requests, names):
        """Return the tier of the customers and the priority of the
        requests, from a query per slice of requests"""
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        Customer = pool.get('crm.customer')
        Opportunity = pool.get('sale.opportunity')
        Tier = pool.get('crm.tier')
        request = cls.__table__()
        opportunity = Opportunity.__table__()
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()
        in_ = fields.SQL_OPERATORS['in']
        high_amount = Configuration(1).support_high_amount
        tiers, ranks = {}, {}
        for sub_ids in grouped_slice(
                list(map(int, requests)), backend.MAX_QUERY_PARAMS):
            cursor.execute(*request
                .join(opportunity,
                    condition=request.opportunity == opportunity.id)
                .join(customer, 'LEFT',
                    condition=(customer.party == opportunity.party)
                    & (customer.company == opportunity.company))
                .select(request.id, customer.tier,
                    where=in_(request.id, list(sub_ids))))
            tiers.update(cursor)
        for company in {r.company for r in requests}:
            # The order in which the classification gives the tiers
            company_tiers = Tier.search([('company', '=', company.id)],
                order=[('sequence', 'ASC NULLS LAST'), ('id', 'ASC')])
            ranks.update({t.id: i for i, t in enumerate(company_tiers)})
        result = {n: {} for n in names}
        for request in requests:
            tier = tiers.get(request.id)
            if 'customer_tier' in names:
                result['customer_tier'][request.id] = tier
            if 'priority' in names:
                amount = request.amount
                limit = high_amount
                if (limit is not None and request.currency
                        and request.currency != request.company.currency):
                    limit = None
                result['priority'][request.id] = support_priority(
                    amount, ranks.get(tier), limit)
        return result

    @classmethod
    def copy(cls, requests, default=None):
        default = default.copy() if default is not None else {}
        for name in ['requested_user', 'request_date', 'assigned_to',
                'comment', 'decided_by', 'decision_date']:
            default.setdefault(name)
        return super().copy(requests, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('requested')
    def request(cls, requests):
        pool = Pool()
        Group = pool.get('res.group')
        User = pool.get('res.user')
        user = User(Transaction().user)
        now = dt.datetime.now().replace(microsecond=0)
        cls.write(requests, {
                'requested_user': user.id,
                'request_date': now,
                })
        managers = group_users(Group(crm_manager_group()))
        for request in requests:
            notify(managers, request, request.opportunity,
                'crm_sale_pipeline.msg_support_requested',
                kind=request.kind_string,
                opportunity=request.opportunity.rec_name,
                employee=request.requested_by.rec_name)

    @classmethod
    def _decide(cls, requests, required, error, message):
        """Check that a CRM manager decides and that the field required by
        the decision is filled, record who decided and tell the requesting
        users with the message"""
        pool = Pool()
        User = pool.get('res.user')
        if not user_in_group(crm_manager_group()):
            raise SupportRequestError(gettext(
                    'crm_sale_pipeline.msg_support_manager'))
        for request in requests:
            if not getattr(request, required):
                raise SupportRequestError(gettext(
                        error, request=request.rec_name))
        user = User(Transaction().user)
        now = dt.datetime.now().replace(microsecond=0)
        for request in requests:
            request.decided_by = company_employee(user, request.company)
            request.decision_date = now
        cls.save(requests)
        for request in requests:
            if request.requested_user:
                notify([request.requested_user], request,
                    request.opportunity, message,
                    kind=request.kind_string,
                    opportunity=request.opportunity.rec_name)

    @classmethod
    @ModelView.button
    @Workflow.transition('granted')
    def grant(cls, requests):
        cls._decide(requests, 'assigned_to',
            'crm_sale_pipeline.msg_support_assign',
            'crm_sale_pipeline.msg_support_granted')

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, requests):
        cls._decide(requests, 'comment',
            'crm_sale_pipeline.msg_support_refuse_comment',
            'crm_sale_pipeline.msg_support_refused')

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, requests):
        pass


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    support_high_amount = fields.Numeric(
        "High Priority Support Amount", digits=(16, 2),
        domain=['OR',
            ('support_high_amount', '=', None),
            ('support_high_amount', '>', 0),
            ],
        help="The support requests for deals of this amount or more, "
        "in the company's currency, get high priority.")


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    support_requests = fields.One2Many(
        'crm.sale.support_request', 'opportunity', "Support Requests")

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('support_requests', None)
        return super().copy(opportunities, default=default)


class Activity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['crm.sale.support_request']
