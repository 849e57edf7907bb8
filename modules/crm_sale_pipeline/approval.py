# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""What the requests on a quotation share (price approvals, contract
reviews): who asked and when, the fingerprint of the terms the request is
for, and the decision of a member of the approving group, rejections with
their reason."""
import datetime as dt

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .common import company_employee, user_in_group
from .notify import notify


class ApprovalMixin:
    """A request on a quotation that a member of a group approves or
    rejects; the messages of the subclass are named after its prefix and
    its errors are of its error class"""
    __slots__ = ()
    _message_prefix = None
    _error = UserError

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    sale = fields.Many2One(
        'sale.sale', "Sale", required=True, readonly=True,
        ondelete='CASCADE',
        domain=[('company', '=', Eval('company', -1))])
    requested_by = fields.Many2One(
        'company.employee', "Requested By", readonly=True)
    requested_user = fields.Many2One(
        'res.user', "Requesting User", readonly=True)
    request_date = fields.DateTime("Request Date", readonly=True)
    fingerprint = fields.Char(
        "Fingerprint", readonly=True, required=True,
        help="Identifies the terms of the quotation the request is for.")
    comment = fields.Text(
        "Comment", states={
            'readonly': Eval('state') != 'requested',
            })
    decided_by = fields.Many2One(
        'company.employee', "Decided By", readonly=True)
    decision_date = fields.DateTime("Decision Date", readonly=True)
    state = fields.Selection([
            ('requested', "Requested"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ('superseded', "Superseded"),
            ], "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.sale, Index.Range()), (t.fingerprint,
                        Index.Equality())),
                Index(
                    t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'requested'),
                })
        cls._order.insert(0, ('request_date', 'DESC'))
        cls._transitions |= {
            ('requested', 'approved'),
            ('requested', 'rejected'),
            ('requested', 'superseded'),
            }
        cls._buttons.update({
                'approve': {
                    'invisible': Eval('state') != 'requested',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'requested',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'requested'

    @classmethod
    def request_values(cls, sale, fingerprint):
        "Return the values of a new request on the sale by the user"
        pool = Pool()
        User = pool.get('res.user')
        user = User(Transaction().user)
        return {
            'company': sale.company,
            'sale': sale,
            'requested_by': company_employee(user, sale.company),
            'requested_user': user,
            'request_date': dt.datetime.now().replace(microsecond=0),
            'fingerprint': fingerprint,
            }

    def get_approving_group(self):
        "Return the group whose members decide on the request"
        raise NotImplementedError

    def get_message_values(self):
        "Return the values the messages about the request show"
        return {'sale': self.sale.rec_name}

    @classmethod
    def copy(cls, requests, default=None):
        # A copy is a new request, never a decision
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'requested')
        default.setdefault('decided_by')
        default.setdefault('decision_date')
        return super().copy(requests, default=default)

    @classmethod
    def _decide(cls, requests, state):
        pool = Pool()
        User = pool.get('res.user')
        user = User(Transaction().user)
        now = dt.datetime.now().replace(microsecond=0)
        for request in requests:
            group = request.get_approving_group()
            if not user_in_group(group):
                raise cls._error(gettext(
                        cls._message_prefix + 'group',
                        group=group.rec_name,
                        **request.get_message_values()))
            request.decided_by = company_employee(user, request.company)
            request.decision_date = now
        cls.save(requests)
        for request in requests:
            if request.requested_user:
                notify([request.requested_user], request, request.sale,
                    cls._message_prefix + state,
                    **request.get_message_values())

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, requests):
        cls._decide(requests, 'approved')

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, requests):
        for request in requests:
            if not request.comment:
                raise cls._error(gettext(
                        cls._message_prefix + 'reject_comment',
                        **request.get_message_values()))
        cls._decide(requests, 'rejected')

    @classmethod
    @Workflow.transition('superseded')
    def supersede(cls, requests):
        pass
