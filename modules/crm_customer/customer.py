# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from collections import defaultdict

from sql import Column, Literal, Null
from sql.operators import Exists

from trytond import backend
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .calendar_cn import lunar_month_day

CUSTOMER_TYPES = [
    ('individual', "Individual"),
    ('enterprise', "Enterprise"),
    ]
SIZES = [
    (None, ""),
    ('micro', "Micro (under 10 staff)"),
    ('small', "Small (10-99 staff)"),
    ('medium', "Medium (100-999 staff)"),
    ('large', "Large (1000 staff or more)"),
    ]
LIFECYCLE_STAGES = [
    ('prospect', "Prospect"),
    ('new', "New"),
    ('active', "Active"),
    ('loyal', "Loyal"),
    ('at_risk', "At Risk"),
    ('dormant', "Dormant"),
    ('lost', "Lost"),
    ]


class Industry(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'crm.industry'
    name = fields.Char("Name", required=True, translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))


class Source(DeactivableMixin, ModelSQL, ModelView):
    "The channel through which a customer came"
    __name__ = 'crm.source'
    name = fields.Char("Name", required=True, translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))


class Customer(DeactivableMixin, ModelSQL, ModelView):
    "The CRM record of a party for a company"
    __name__ = 'crm.customer'

    name = fields.Function(
        fields.Char("Name"), 'get_rec_name', searcher='search_rec_name')
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    company = fields.Many2One('company.company', "Company", required=True)
    customer_type = fields.Selection(
        CUSTOMER_TYPES, "Type", required=True)
    industry = fields.Many2One('crm.industry', "Industry")
    source = fields.Many2One('crm.source', "Source Channel")
    size = fields.Selection(SIZES, "Size")
    region = fields.Function(
        fields.Many2One('country.subdivision', "Region"),
        'get_region', searcher='search_region')
    owner = fields.Many2One(
        'company.employee', "Owner",
        domain=[('company', '=', Eval('company', -1))],
        help="The salesperson in charge of the customer.")
    team = fields.Many2One(
        'crm.team', "Sales Team",
        domain=[('company', '=', Eval('company', -1))])
    lifecycle_stage = fields.Selection(
        LIFECYCLE_STAGES, "Lifecycle Stage", readonly=True,
        help="Computed every day from the purchases and activities.")
    vip = fields.Boolean("VIP")
    key_account = fields.Boolean("Key Account")
    birthday = fields.Date(
        "Birthday",
        states={
            'invisible': Eval('customer_type') != 'individual',
            })
    birthday_calendar = fields.Selection([
            ('solar', "Gregorian"),
            ('lunar', "Lunar"),
            ], "Birthday Calendar",
        states={
            'invisible': Eval('customer_type') != 'individual',
            'required': Bool(Eval('birthday')),
            },
        help="The calendar in which the customer celebrates the birthday.")
    birthday_key = fields.Integer(
        "Birthday Key", readonly=True,
        help="Month * 100 + day of the birthday in its calendar.")
    phone = fields.Function(fields.Char("Phone"), 'get_party_contact')
    mobile = fields.Function(fields.Char("Mobile"), 'get_party_contact')
    email = fields.Function(fields.Char("E-Mail"), 'get_party_contact')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_company_unique', Unique(t, t.party, t.company),
                'crm_customer.msg_customer_party_company_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.owner, Index.Range())),
                Index(t, (t.team, Index.Range())),
                Index(t, (t.lifecycle_stage, Index.Equality())),
                Index(t, (t.birthday_calendar, Index.Equality()),
                    (t.birthday_key, Index.Equality()),
                    where=t.birthday != Null),
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_customer_type(cls):
        return 'enterprise'

    @classmethod
    def default_lifecycle_stage(cls):
        return 'prospect'

    @classmethod
    def default_owner(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_birthday_calendar(cls):
        return 'solar'

    @classmethod
    def create(cls, vlist):
        customers = super().create(vlist)
        cls._update_birthday_key([c for c in customers if c.birthday])
        return customers

    @classmethod
    def write(cls, *args):
        super().write(*args)
        cls._update_birthday_key(sum((records
                    for records, values in zip(args[::2], args[1::2])
                    if values.keys() & {'birthday', 'birthday_calendar'}),
                []))

    @classmethod
    def _update_birthday_key(cls, customers):
        """Store the month and day of the birthday in its calendar so the
        alert cron finds the coming birthdays with an index"""
        by_key = defaultdict(list)
        for customer in customers:
            key = None
            if customer.birthday:
                if customer.birthday_calendar == 'lunar':
                    month, day = lunar_month_day(customer.birthday)
                else:
                    month, day = customer.birthday.month, customer.birthday.day
                key = month * 100 + day
            if key != customer.birthday_key:
                by_key[key].append(customer)
        for key, key_customers in by_key.items():
            cls.write(key_customers, {'birthday_key': key})

    def get_rec_name(self, name):
        return self.party.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name', *clause[1:])]

    def get_region(self, name):
        for address in self.party.addresses:
            if address.subdivision:
                return address.subdivision.id

    @classmethod
    def search_region(cls, name, clause):
        nested = clause[0][len(name):]
        return [('party.addresses.subdivision' + nested, *clause[1:])]

    def get_party_contact(self, name):
        return getattr(self.party, name)


def forget_cached_records(*models):
    "Drop what the transaction cached of the models' records updated in SQL"
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        for Model in models:
            cache.pop(Model.__name__, None)


def _unique_partners(Model, field_name):
    "Yield the other columns of each unique constraint on the field"
    for _, constraint, _ in Model._sql_constraints:
        if isinstance(constraint, Unique):
            names = [c.name for c in constraint.columns]
            if field_name in names:
                yield [n for n in names if n != field_name]


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def crm_customer_fields_to_merge(cls):
        """Return (model name, field name) of the records that join the
        destination's customer when the source's customer merges into it"""
        return []

    def transition_replace(self):
        state = super().transition_replace()
        self.replace_crm_customers(self.ask.source, self.ask.destination)
        return state

    def replace_crm_customers(self, source, destination):
        """Give each customer of the source to the destination, or merge it
        into the destination's customer of the same company"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        History = pool.get('crm.customer.history')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        customer = Customer.__table__()
        target = Customer.__table__()
        cursor.execute(*customer.join(target, 'LEFT',
                condition=(target.party == destination.id)
                & (target.company == customer.company)).select(
                customer.id, customer.company, target.id,
                where=customer.party == source.id))
        rows = cursor.fetchall()
        if not rows:
            return
        moved = [c for c, _, t in rows if t is None]
        merged = {c: t for c, _, t in rows if t is not None}
        if moved:
            cursor.execute(*customer.update(
                    [customer.party], [destination.id],
                    where=customer.id.in_(moved)))
        if merged:
            # The merged customer stays with the source party, inactive,
            # keeping what would duplicate the destination's records
            cursor.execute(*customer.update(
                    [customer.active], [Literal(False)],
                    where=customer.id.in_(list(merged))))
            for model_name, field_name in self.crm_customer_fields_to_merge():
                self._merge_crm_records(
                    pool.get(model_name), field_name, merged)
        History.record([
                (target_id or customer_id, company, 'party',
                    source.rec_name, destination.rec_name)
                for customer_id, company, target_id in rows], cause='merge')
        forget_cached_records(Customer)
        Customer.on_modification(
            'write', Customer.browse([c for c, _, _ in rows]),
            {'party', 'active'})

    @classmethod
    def _merge_crm_records(cls, Model, field_name, merged):
        """Point the records of the merged customers to their target unless
        a unique constraint forbids it"""
        table = Model.__table__()
        column = Column(table, field_name)
        cursor = Transaction().connection.cursor()
        for source_id, target_id in merged.items():
            where = column == source_id
            for partners in _unique_partners(Model, field_name):
                other = Model.__table__()
                clash = Column(other, field_name) == target_id
                for name in partners:
                    clash &= Column(other, name) == Column(table, name)
                where &= ~Exists(other.select(Literal(1), where=clash))
            cursor.execute(*table.select(table.id, where=where))
            ids = [i for i, in cursor]
            for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
                cursor.execute(*table.update([column], [target_id],
                        where=table.id.in_(list(sub_ids))))
            Model._insert_history(ids)
            forget_cached_records(Model)
            Model.on_modification('write', Model.browse(ids), {field_name})


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def crm_customer_ids(self, party_id):
        "The ids of the customers of the party, active or not"
        pool = Pool()
        Customer = pool.get('crm.customer')
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*customer.select(
                customer.id, where=customer.party == party_id))
        return [i for i, in cursor]

    def to_erase(self, party_id):
        pool = Pool()
        Customer = pool.get('crm.customer')
        return super().to_erase(party_id) + [
            (Customer, [('id', 'in', self.crm_customer_ids(party_id))], True,
                ['birthday', 'birthday_key'], [None, None]),
            ]
