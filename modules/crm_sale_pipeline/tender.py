# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Tenders: the calls for tenders an opportunity answers with a bid, their
bid bond, the competitors and their prices, the result; and the reminder
of the deadlines of the bids not yet submitted."""
import datetime as dt

from sql import Null

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.crm_customer.activity import (
    company_midnight, company_today, company_zone)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.tools import timezone as tz
from trytond.transaction import Transaction, without_check_access

from .notify import employee_users, notify


class TenderError(UserError):
    pass


class TenderValidationError(ValidationError):
    pass


def reminder_end(company, days):
    """Return the UTC datetime before which a deadline is within the days
    of the reminder, counted in the time zone of the company"""
    return company_midnight(
        company, company_today(company) + dt.timedelta(days=days + 1))


class Tender(Workflow, ModelSQL, ModelView):
    "A call for tenders that an opportunity answers with a bid"
    __name__ = 'crm.sale.tender'
    _rec_name = 'number'

    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    opportunity = fields.Many2One(
        'sale.opportunity', "Opportunity", required=True,
        ondelete='CASCADE', states=_states,
        domain=[('company', '=', Eval('company', -1))])
    number = fields.Char(
        "Tender Number", required=True, states=_states,
        help="The number the buyer gives the call for tenders.")
    buyer = fields.Many2One(
        'party.party', "Buyer", required=True, ondelete='RESTRICT',
        states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    agency = fields.Many2One(
        'party.party', "Tendering Agency", ondelete='RESTRICT',
        states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The agency that runs the tender for the buyer.")
    deadline = fields.DateTime(
        "Deadline", required=True, states=_states,
        help="The last moment to submit the bid.")
    opening = fields.DateTime(
        "Opening", states=_states,
        help="When the bids are opened.")
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_states)
    bid_amount = Monetary(
        "Our Bid", currency='currency', digits='currency', states=_states,
        domain=['OR',
            ('bid_amount', '=', None),
            ('bid_amount', '>=', 0),
            ])
    bid_bond = Monetary(
        "Bid Bond", currency='currency', digits='currency', states=_states,
        domain=['OR',
            ('bid_bond', '=', None),
            ('bid_bond', '>=', 0),
            ],
        help="The guarantee the buyer asks with the bid.")
    bond_paid_date = fields.Date("Bond Paid")
    bond_returned_date = fields.Date("Bond Returned")
    competitors = fields.One2Many(
        'crm.sale.tender.competitor', 'tender', "Competitors",
        states={
            'readonly': ~Eval('state').in_(['draft', 'submitted']),
            })
    result = fields.Text(
        "Result", states={
            'readonly': ~Eval('state').in_(['submitted', 'won', 'lost']),
            })
    reminded = fields.DateTime(
        "Reminded", readonly=True,
        help="When the salesperson was reminded of the deadline.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('submitted', "Submitted"),
            ('won', "Won"),
            ('lost', "Lost"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.opportunity, Index.Range())),
                Index(
                    t, (t.deadline, Index.Range()),
                    where=(t.state == 'draft') & (t.reminded == Null)),
                })
        cls._order.insert(0, ('deadline', 'DESC'))
        cls._transitions |= {
            ('draft', 'submitted'),
            ('submitted', 'won'),
            ('submitted', 'lost'),
            ('draft', 'cancelled'),
            ('submitted', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'win': {
                    'invisible': Eval('state') != 'submitted',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'lose': {
                    'invisible': Eval('state') != 'submitted',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'submitted']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company_id = cls.default_company()
        if company_id is not None and company_id >= 0:
            return Company(company_id).currency.id

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends(
        'opportunity', '_parent_opportunity.party',
        '_parent_opportunity.currency', 'buyer', 'currency')
    def on_change_opportunity(self):
        if self.opportunity:
            if not self.buyer:
                self.buyer = self.opportunity.party
            if self.opportunity.currency:
                self.currency = self.opportunity.currency

    @classmethod
    def validate_fields(cls, tenders, field_names):
        super().validate_fields(tenders, field_names)
        if field_names & {'bond_paid_date', 'bond_returned_date'}:
            for tender in tenders:
                tender.check_bond_dates()
        if 'state' in field_names:
            for tender in tenders:
                tender.check_winners()

    def check_bond_dates(self):
        if not self.bond_returned_date:
            return
        if not self.bond_paid_date:
            raise TenderValidationError(gettext(
                    'crm_sale_pipeline.msg_tender_bond_not_paid',
                    tender=self.rec_name))
        if self.bond_returned_date < self.bond_paid_date:
            raise TenderValidationError(gettext(
                    'crm_sale_pipeline.msg_tender_bond_dates',
                    tender=self.rec_name,
                    returned=self.bond_returned_date,
                    paid=self.bond_paid_date))

    def check_winners(self):
        "Raise when the tender has more than one winner"
        winners = [c.party.rec_name for c in self.competitors if c.winner]
        if len(winners) > 1:
            raise TenderValidationError(gettext(
                    'crm_sale_pipeline.msg_tender_winners',
                    tender=self.rec_name,
                    winners=gettext(
                        'crm_sale_pipeline.msg_list_separator').join(winners)))
        if winners and self.state == 'won':
            raise TenderValidationError(gettext(
                    'crm_sale_pipeline.msg_tender_won_by_competitor',
                    tender=self.rec_name, competitor=winners[0]))

    @classmethod
    def check_modification(cls, mode, tenders, values=None, external=False):
        super().check_modification(
            mode, tenders, values=values, external=external)
        if mode == 'delete':
            for tender in tenders:
                if tender.state not in {'draft', 'cancelled'}:
                    raise AccessError(gettext(
                            'crm_sale_pipeline.msg_tender_delete',
                            tender=tender.rec_name))

    @classmethod
    def copy(cls, tenders, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('bond_paid_date')
        default.setdefault('bond_returned_date')
        default.setdefault('result')
        default.setdefault('reminded')
        return super().copy(tenders, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, tenders):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('submitted')
    def submit(cls, tenders):
        for tender in tenders:
            if tender.bid_amount is None:
                raise TenderError(gettext(
                        'crm_sale_pipeline.msg_tender_submit_bid',
                        tender=tender.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('won')
    def win(cls, tenders):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('lost')
    def lose(cls, tenders):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, tenders):
        pass

    @classmethod
    def remind_deadlines(cls):
        """Remind the salespeople of the tenders not yet submitted whose
        deadline is within the days of the configuration, once a tender"""
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('crm.configuration')
        Opportunity = pool.get('sale.opportunity')
        tender = cls.__table__()
        opportunity = Opportunity.__table__()
        cursor = Transaction().connection.cursor()
        days = Configuration(1).tender_reminder_days
        company_id = Transaction().context.get('company')
        now = dt.datetime.now().replace(microsecond=0)
        ids = []
        for company in (Company.browse([company_id]) if company_id
                else Company.search([])):
            cursor.execute(*tender
                .join(opportunity,
                    condition=tender.opportunity == opportunity.id)
                .select(tender.id,
                    where=(tender.company == company.id)
                    & (tender.state == 'draft')
                    & (tender.reminded == Null)
                    & (tender.deadline >= now)
                    & (tender.deadline < reminder_end(company, days))
                    & (opportunity.employee != Null)))
            ids.extend(i for i, in cursor)
        with without_check_access():
            for sub_ids in grouped_slice(ids, 1000):
                tenders = cls.browse(sub_ids)
                cls._remind(tenders)
                cls.write(tenders, {'reminded': now})

    @classmethod
    def _remind(cls, tenders):
        users = employee_users({t.opportunity.employee for t in tenders})
        for tender in tenders:
            deadline = tender.deadline.replace(tzinfo=tz.UTC).astimezone(
                company_zone(tender.company))
            notify(users[tender.opportunity.employee], tender,
                tender.opportunity, 'crm_sale_pipeline.msg_tender_deadline',
                due_date=deadline.date(),
                tender=tender.rec_name,
                deadline=deadline.strftime('%Y-%m-%d %H:%M'))


class TenderCompetitor(ModelSQL, ModelView):
    "A competitor's bid in a tender"
    __name__ = 'crm.sale.tender.competitor'

    tender = fields.Many2One(
        'crm.sale.tender', "Tender", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Competitor", required=True, ondelete='RESTRICT')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    bid_price = Monetary(
        "Bid Price", currency='currency', digits='currency',
        domain=['OR',
            ('bid_price', '=', None),
            ('bid_price', '>=', 0),
            ])
    winner = fields.Boolean("Winner", help="The competitor won the tender.")
    note = fields.Text("Note")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.tender, Index.Range())))
        cls._order.insert(0, ('bid_price', 'ASC NULLS LAST'))

    @fields.depends('tender', '_parent_tender.currency')
    def on_change_with_currency(self, name=None):
        return self.tender.currency if self.tender else None

    @classmethod
    def validate_fields(cls, competitors, field_names):
        super().validate_fields(competitors, field_names)
        if 'winner' in field_names:
            for tender in {c.tender for c in competitors if c.winner}:
                tender.check_winners()


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    tender_reminder_days = fields.Integer(
        "Tender Reminder Days", required=True,
        domain=[('tender_reminder_days', '>=', 0)],
        help="How many days before the deadline of a tender "
        "the salesperson is reminded to submit the bid.")

    @classmethod
    def default_tender_reminder_days(cls):
        return 3


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    tenders = fields.One2Many(
        'crm.sale.tender', 'opportunity', "Tenders",
        domain=[('company', '=', Eval('company', -1))])

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('tenders', None)
        return super().copy(opportunities, default=default)


class Activity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['crm.sale.tender']


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('crm.sale.tender', 'buyer'),
            ('crm.sale.tender', 'agency'),
            ('crm.sale.tender.competitor', 'party'),
            ]


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('crm.sale.tender|remind_deadlines', "Remind Tender Deadlines"))
