# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The references customers have in the systems outside Tryton."""
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction


class ExternalSystem(DeactivableMixin, ModelSQL, ModelView):
    "A system outside Tryton that knows customers by its own codes"
    __name__ = 'crm.external.system'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char(
        "Code", required=True,
        help="The short name the import script is given.")
    description = fields.Text("Description")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'crm_customer.msg_external_system_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))


class ExternalId(ModelSQL, ModelView):
    "The code of a customer in an external system"
    __name__ = 'crm.customer.external_id'

    customer = fields.Many2One(
        'crm.customer', "Customer", required=True, ondelete='CASCADE',
        domain=[('company', '=', Eval('company', -1))])
    company = fields.Many2One('company.company', "Company", required=True)
    system = fields.Many2One(
        'crm.external.system', "System", required=True, ondelete='RESTRICT')
    code = fields.Char("Code", required=True)

    @classmethod
    def __setup__(cls):
        cls.code.search_unaccented = False
        super().__setup__()
        cls.__access__.add('customer')
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_system_code_unique',
                Unique(t, t.company, t.system, t.code),
                'crm_customer.msg_external_id_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.code, Index.Similarity(begin=True))),
                Index(t, (t.customer, Index.Range())),
                })
        cls._order.insert(0, ('system', 'ASC'))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @fields.depends('customer', '_parent_customer.company')
    def on_change_customer(self):
        if self.customer:
            self.company = self.customer.company

    def get_rec_name(self, name):
        return f'{self.system.rec_name}: {self.code}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return ['OR',
            ('code', *clause[1:]),
            ('system.rec_name', *clause[1:]),
            ]


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    external_ids = fields.One2Many(
        'crm.customer.external_id', 'customer', "External IDs",
        domain=[('company', '=', Eval('company', -1))],
        help="The codes of the customer in the systems outside Tryton; "
        "an import with the same code updates the customer.")

    @classmethod
    def copy(cls, customers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('external_ids')
        return super().copy(customers, default=default)


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def crm_customer_fields_to_merge(cls):
        return super().crm_customer_fields_to_merge() + [
            ('crm.customer.external_id', 'customer'),
            ]
