# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The history of a customer: who changed its owner, team, party or the
contact details of its party, when, and from what to what."""
import datetime as dt

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

CAUSES = [
    ('edit', "Edited"),
    ('handover', "Handover"),
    ('merge', "Party Merge"),
    ]


class History(ModelSQL, ModelView):
    "A change of a customer's owner, team, party or contact details"
    __name__ = 'crm.customer.history'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    customer = fields.Many2One(
        'crm.customer', "Customer", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    field = fields.Selection('get_fields', "Field", readonly=True)
    cause = fields.Selection(CAUSES, "Cause", readonly=True)
    old_value = fields.Char("Old Value", readonly=True)
    new_value = fields.Char("New Value", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.customer, Index.Range()), (t.date, Index.Range())))
        # The date shows seconds; the creation date, the same for the
        # changes of one save, tells apart two saves of the same second.
        # The changes of one save read in the order of the fields.
        cls._order = [
            ('date', 'DESC'), ('create_date', 'DESC'), ('id', 'ASC')]

    @classmethod
    def get_fields(cls):
        "The customer fields and the kinds of contact mechanism"
        pool = Pool()
        Customer = pool.get('crm.customer')
        ContactMechanism = pool.get('party.contact_mechanism')
        tracked = Customer._history_fields()
        strings = Customer.fields_get(tracked)
        return ([(None, "")]
            + [(name, strings[name]['string']) for name in tracked]
            + ContactMechanism.fields_get(['type'])['type']['selection'])

    @classmethod
    def record(cls, changes, cause=None):
        """Insert the changes, tuples of (customer id, company id, field,
        old value, new value), at once and without access check: who may
        change a customer must leave a trace they cannot write themselves"""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        user = transaction.user
        now = dt.datetime.now()
        if cause is None:
            cause = transaction.context.get('crm_history_cause', 'edit')
        for sub_changes in grouped_slice(
                changes, backend.MAX_QUERY_PARAMS // 10):
            cursor.execute(*table.insert(
                    [table.create_uid, table.create_date, table.company,
                        table.customer, table.date, table.user, table.field,
                        table.cause, table.old_value, table.new_value],
                    [[user, now, company, customer, now, user, field, cause,
                            old, new]
                        for customer, company, field, old, new
                        in sub_changes]))


def _value_strings(Model, field_name, values):
    "The text the history shows for values of the field"
    field = Model._fields[field_name]
    if field._type == 'many2one':
        Target = Pool().get(field.model_name)
        ids = {v for v in values if v is not None}
        names = {r.id: r.rec_name for r in Target.browse(list(ids))}
        return {v: names.get(v) for v in values}
    return {v: None if v is None else str(v) for v in values}


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    history = fields.One2Many(
        'crm.customer.history', 'customer', "History", readonly=True)

    @classmethod
    def _history_fields(cls):
        "The fields whose changes the history records"
        return ['party', 'owner', 'team']

    @classmethod
    def copy(cls, customers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('history')
        return super().copy(customers, default=default)

    @classmethod
    def _tracked_values(cls, ids, names):
        "Return {id: (company id, value of each name)} read in SQL"
        customer = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*customer.select(
                    customer.id, customer.company,
                    *(getattr(customer, n) for n in names),
                    where=customer.id.in_(list(sub_ids))))
            for id_, company, *values in cursor:
                result[id_] = (company, *values)
        return result

    @classmethod
    def write(cls, *args):
        pool = Pool()
        History = pool.get('crm.customer.history')
        tracked = cls._history_fields()
        ids = {c.id for records, values in zip(args[::2], args[1::2])
            if values.keys() & set(tracked) for c in records}
        before = cls._tracked_values(ids, tracked)
        super().write(*args)
        if not ids:
            return
        after = cls._tracked_values(ids, tracked)
        changes = []
        for i, name in enumerate(tracked, 1):
            changed = {id_: (before[id_][i], after[id_][i])
                for id_ in ids if before[id_][i] != after[id_][i]}
            if not changed:
                continue
            strings = _value_strings(
                cls, name, {v for pair in changed.values() for v in pair})
            changes.extend(
                (id_, after[id_][0], name, strings[old], strings[new])
                for id_, (old, new) in changed.items())
        History.record(sorted(changes))


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def _customer_contacts(cls, ids):
        """Return {(mechanism id, customer id): (company id, type, value)}
        for the mechanisms whose party is a customer"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        mechanism = cls.__table__()
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*mechanism.join(customer,
                    condition=customer.party == mechanism.party).select(
                    mechanism.id, customer.id, customer.company,
                    mechanism.type, mechanism.value,
                    where=mechanism.id.in_(list(sub_ids))))
            for mechanism_id, customer_id, *values in cursor:
                result[mechanism_id, customer_id] = tuple(values)
        return result

    @classmethod
    def _record_contact_changes(cls, before, after):
        pool = Pool()
        History = pool.get('crm.customer.history')
        changes = []
        for key in sorted(before.keys() | after.keys()):
            company, type_, old = before.get(key, (None, None, None))
            company, type_, new = after.get(key, (company, type_, None))
            if old != new:
                changes.append((key[1], company, type_, old, new))
        History.record(changes)

    @classmethod
    def create(cls, vlist):
        # The value formatted while it is saved is no change of its own
        with Transaction().set_context(_crm_contact_recording=True):
            mechanisms = super().create(vlist)
        cls._record_contact_changes(
            {}, cls._customer_contacts(list(map(int, mechanisms))))
        return mechanisms

    @classmethod
    def write(cls, *args):
        if Transaction().context.get('_crm_contact_recording'):
            super().write(*args)
            return
        ids = {m.id for records, values in zip(args[::2], args[1::2])
            if values.keys() & {'type', 'value'} for m in records}
        before = cls._customer_contacts(ids)
        with Transaction().set_context(_crm_contact_recording=True):
            super().write(*args)
        cls._record_contact_changes(before, cls._customer_contacts(ids))

    @classmethod
    def delete(cls, mechanisms):
        before = cls._customer_contacts(list(map(int, mechanisms)))
        super().delete(mechanisms)
        cls._record_contact_changes(before, {})


class PartyReplace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def crm_customer_fields_to_merge(cls):
        return super().crm_customer_fields_to_merge() + [
            ('crm.customer.history', 'customer'),
            ]


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        History = pool.get('crm.customer.history')
        # The old contact details are what erasure must remove
        return super().to_erase(party_id) + [
            (History, [('customer', 'in', self.crm_customer_ids(party_id))],
                False, ['old_value', 'new_value'], [None, None]),
            ]
