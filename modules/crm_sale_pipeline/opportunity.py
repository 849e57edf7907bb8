# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The deal team and the win/loss details of opportunities."""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

# Tryton's states in which an opportunity can still be marked lost by hand
MANUAL_LOSS_STATES = {'lead', 'opportunity'}


class LossError(UserError):
    pass


class LossReason(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "Why an opportunity was lost"
    __name__ = 'crm.sale.loss_reason'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    competitor_required = fields.Boolean(
        "Competitor Required",
        help="The competitor who won must be given with this reason.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    _states_team = {
        'readonly': Eval('state').in_(['won', 'lost', 'cancelled']),
        }
    _states_loss = {
        'readonly': ~Eval('state').in_(list(MANUAL_LOSS_STATES)),
        'invisible': Eval('state').in_(['won', 'converted']),
        }

    delivery_owner = fields.Many2One(
        'company.employee', "Delivery Owner",
        domain=[('company', '=', Eval('company', -1))],
        states=_states_team,
        help="The employee who follows the delivery of the deal.")
    collection_owner = fields.Many2One(
        'company.employee', "Collection Owner",
        domain=[('company', '=', Eval('company', -1))],
        states=_states_team,
        help="The employee who collects the payments of the deal.")
    source = fields.Many2One(
        'crm.source', "Source", ondelete='RESTRICT',
        states={
            'readonly': Eval('state').in_(['won', 'lost', 'cancelled']),
            },
        help="The channel through which the deal came.")
    loss_reason = fields.Many2One(
        'crm.sale.loss_reason', "Loss Reason", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states=_states_loss)
    lost_to_competitor = fields.Many2One(
        'party.party', "Lost to Competitor", ondelete='RESTRICT',
        states=_states_loss,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})

    del _states_team, _states_loss

    @fields.depends('party', 'company', 'source')
    def on_change_party(self):
        # The customer's channel is the usual source of its deals
        pool = Pool()
        Customer = pool.get('crm.customer')
        super().on_change_party()
        if self.party and self.company and not self.source:
            customers = Customer.search([
                    ('party', '=', self.party.id),
                    ('company', '=', self.company.id),
                    ], limit=1)
            if customers:
                self.source = customers[0].source

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('loss_reason')
        default.setdefault('lost_to_competitor')
        return super().copy(opportunities, default=default)

    @classmethod
    def lost(cls, opportunities):
        # Only a loss marked by hand: the loss that follows cancelled sales
        # is never blocked
        cls.check_loss_details(
            [o for o in opportunities if o.state in MANUAL_LOSS_STATES])
        super().lost(opportunities)

    @classmethod
    def check_loss_details(cls, opportunities):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        if not Configuration(1).loss_reason_required:
            return
        for opportunity in opportunities:
            if not opportunity.loss_reason:
                raise LossError(gettext(
                        'crm_sale_pipeline.msg_loss_reason_required',
                        opportunity=opportunity.rec_name))
            if (opportunity.loss_reason.competitor_required
                    and not opportunity.lost_to_competitor):
                raise LossError(gettext(
                        'crm_sale_pipeline.msg_loss_competitor_required',
                        opportunity=opportunity.rec_name,
                        reason=opportunity.loss_reason.rec_name))
