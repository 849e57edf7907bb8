# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Key accounts: the people who decide at the customer, the organisation
the customer belongs to and the needs it expressed."""
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import ValidationError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .activity import company_today

ROLES = [
    ('decision_maker', "Decision Maker"),
    ('influencer', "Influencer"),
    ('user', "User"),
    ('purchasing', "Purchasing"),
    ('finance', "Finance"),
    ('technical', "Technical"),
    ('gatekeeper', "Gatekeeper"),
    ]
ATTITUDES = [
    (None, ""),
    ('supporter', "Supporter"),
    ('neutral', "Neutral"),
    ('opponent', "Opponent"),
    ]
INFLUENCE_LEVELS = [
    (None, ""),
    ('low', "Low"),
    ('medium', "Medium"),
    ('high', "High"),
    ]
# The states that close a need and the icons of their buttons
NEED_CLOSINGS = [
    ('won', 'tryton-ok'),
    ('lost', 'tryton-cancel'),
    ('dropped', 'tryton-delete'),
    ]


class ContactValidationError(ValidationError):
    pass


class CustomerRecordMixin:
    """A record about a customer, in the customer's company so that the
    company rules apply to it"""
    __slots__ = ()

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    customer = fields.Many2One(
        'crm.customer', "Customer", required=True, ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.customer, Index.Range())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @fields.depends('customer', '_parent_customer.company')
    def on_change_customer(self):
        if self.customer:
            self.company = self.customer.company

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Customer = pool.get('crm.customer')
        values = super().preprocess_values(mode, values)
        if values.get('customer') is not None:
            values['company'] = Customer(values['customer']).company.id
        return values


class Contact(CustomerRecordMixin, ModelSQL, ModelView):
    "A person of the customer's side and the part they play in buying"
    __name__ = 'crm.customer.contact'

    party = fields.Many2One(
        'party.party', "Person", required=True, ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The contact person.")
    role = fields.Selection(ROLES, "Role", required=True)
    job_title = fields.Char("Job Title")
    attitude = fields.Selection(
        ATTITUDES, "Attitude",
        help="How the person stands towards the company.")
    influence = fields.Selection(
        INFLUENCE_LEVELS, "Influence Level", sort=False,
        help="How much the person weighs in the buying decisions.")
    notes = fields.Text("Notes")
    mobile = fields.Function(fields.Char("Mobile"), 'get_party_contact')
    email = fields.Function(fields.Char("E-Mail"), 'get_party_contact')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('customer_party_role_unique',
                Unique(t, t.customer, t.party, t.role),
                'crm_customer.msg_customer_contact_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.party, Index.Range())))

    @classmethod
    def default_role(cls):
        return 'decision_maker'

    def get_rec_name(self, name):
        return self.party.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name', *clause[1:])]

    def get_party_contact(self, name):
        return getattr(self.party, name)

    @classmethod
    def validate_fields(cls, contacts, field_names):
        super().validate_fields(contacts, field_names)
        if field_names and not (field_names & {'customer', 'party'}):
            return
        for contact in contacts:
            if contact.party == contact.customer.party:
                raise ContactValidationError(gettext(
                        'crm_customer.msg_customer_contact_self',
                        customer=contact.customer.rec_name))


def _close_button(state):
    "Return the button method that closes needs in the state"
    def close(cls, needs):
        cls._close(needs)
    # The button and its access rules are known by the method's name
    close.__name__ = state
    return classmethod(ModelView.button(Workflow.transition(state)(close)))


class Need(CustomerRecordMixin, Workflow, ModelSQL, ModelView):
    "What a customer needs: budget, products, quantity and timing"
    __name__ = 'crm.customer.need'
    _rec_name = 'description'

    _states = {
        'readonly': Eval('state') != 'open',
        }

    description = fields.Char("Description", required=True, states=_states)
    owner = fields.Many2One(
        'company.employee', "Owner", states=_states,
        domain=[('company', '=', Eval('company', -1))],
        help="The employee who follows the need up.")
    budget = Monetary(
        "Budget", currency='currency', digits='currency', states=_states,
        domain=['OR',
            ('budget', '=', None),
            ('budget', '>=', 0),
            ])
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_states)
    products = fields.Many2Many(
        'crm.customer.need-product.product', 'need', 'product',
        "Products of Interest", states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    quantity = fields.Float(
        "Quantity", digits='unit', states=_states,
        domain=['OR',
            ('quantity', '=', None),
            ('quantity', '>', 0),
            ])
    unit = fields.Many2One('product.uom', "Unit", states=_states)
    expected_date = fields.Date(
        "Expected Date", states=_states,
        help="When the customer expects to buy.")
    notes = fields.Text("Notes")
    closing_date = fields.Date("Closing Date", readonly=True)
    state = fields.Selection([
            ('open', "Open"),
            ('won', "Won"),
            ('lost', "Lost"),
            ('dropped', "Dropped"),
            ], "State", required=True, readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.state, Index.Equality()),
                where=t.state == 'open'))
        cls._order[0:0] = [('expected_date', 'ASC NULLS LAST')]
        for closed, icon in NEED_CLOSINGS:
            cls._transitions |= {('open', closed), (closed, 'open')}
            cls._buttons[closed] = {
                'invisible': Eval('state') != 'open',
                'icon': icon,
                'depends': ['state'],
                }
        cls._buttons['reopen'] = {
            'invisible': Eval('state') == 'open',
            'icon': 'tryton-undo',
            'depends': ['state'],
            }

    @classmethod
    def default_state(cls):
        return 'open'

    @classmethod
    def default_owner(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company_id = cls.default_company()
        if company_id is not None and company_id >= 0:
            return Company(company_id).currency.id

    @fields.depends('customer', 'owner', '_parent_customer.owner')
    def on_change_customer(self):
        super().on_change_customer()
        if self.customer and not self.owner:
            self.owner = self.customer.owner

    @fields.depends('products', 'unit')
    def on_change_products(self):
        if self.products and not self.unit:
            self.unit = self.products[0].default_uom

    @classmethod
    def copy(cls, needs, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('closing_date')
        return super().copy(needs, default=default)

    @classmethod
    def _close(cls, needs):
        by_company = defaultdict(list)
        for need in needs:
            by_company[need.company].append(need)
        for company, company_needs in by_company.items():
            cls.write(company_needs, {'closing_date': company_today(company)})

    won = _close_button('won')
    lost = _close_button('lost')
    dropped = _close_button('dropped')

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, needs):
        cls.write(needs, {'closing_date': None})


class NeedProduct(ModelSQL):
    __name__ = 'crm.customer.need-product.product'

    need = fields.Many2One(
        'crm.customer.need', "Need", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    contacts = fields.One2Many(
        'crm.customer.contact', 'customer', "Contact Persons",
        help="The people of the customer and their part in buying.")
    needs = fields.One2Many('crm.customer.need', 'customer', "Needs")

    @classmethod
    def copy(cls, customers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('contacts')
        default.setdefault('needs')
        return super().copy(customers, default=default)

    @classmethod
    def view_attributes(cls):
        # Key account pages for the key accounts and the enterprises
        invisible = ((Eval('customer_type') != 'enterprise')
            & ~Eval('key_account', False))
        return super().view_attributes() + [
            (f'/form/notebook/page[@id="{page}"]', 'states',
                {'invisible': invisible})
            for page in ['contacts', 'needs', 'organisation']]


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('crm.customer.contact', 'party'),
            ]

    @classmethod
    def crm_customer_fields_to_merge(cls):
        return super().crm_customer_fields_to_merge() + [
            ('crm.customer.contact', 'customer'),
            ('crm.customer.need', 'customer'),
            ]


class Handover(metaclass=PoolMeta):
    __name__ = 'crm.customer.handover'

    @classmethod
    def documents_to_hand_over(cls):
        return super().documents_to_hand_over() + [
            ('crm.customer.need', 'owner', 'customer',
                [('state', '=', 'open')]),
            ]


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Contact = pool.get('crm.customer.contact')
        Need = pool.get('crm.customer.need')
        customer_ids = self.crm_customer_ids(party_id)
        # What was noted about people is personal data
        return super().to_erase(party_id) + [
            (Contact, ['OR',
                    ('party', '=', party_id),
                    ('customer', 'in', customer_ids),
                    ], True,
                ['job_title', 'notes'],
                [None, None]),
            (Need, [('customer', 'in', customer_ids)], True,
                ['notes'],
                [None]),
            ]
