# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Warn when a party shares a mobile number, an e-mail or a tax identifier
with another party: it is likely the same customer recorded twice."""
import hashlib
from collections import defaultdict

from sql import Column, Literal
from sql.functions import Lower

from trytond import backend
from trytond.exceptions import UserWarning
from trytond.i18n import gettext
from trytond.model import Index
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

PHONE_TYPES = ['phone', 'mobile']


class DuplicateWarning(UserWarning):
    pass


def find_duplicates(Model, ids, condition, key, display, same=()):
    """Return {(id, party id, display value, key value): other party ids}
    for the active records among ids whose key value an active record of
    another party shares (and the columns named in same).
    condition and key build an SQL expression from a table; an index on the
    key expression makes the lookup of each record cheap."""
    table = Model.__table__()
    other = Model.__table__()
    cursor = Transaction().connection.cursor()
    match = ((key(other) == key(table))
        & (other.party != table.party)
        & (other.active == Literal(True))
        & condition(other))
    for name in same:
        match &= Column(other, name) == Column(table, name)
    result = defaultdict(set)
    for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
        cursor.execute(*table.join(other, condition=match).select(
                table.id, table.party, Column(table, display), key(table),
                other.party,
                where=table.id.in_(list(sub_ids))
                & (table.active == Literal(True))
                & condition(table)))
        for id_, party, value, key_value, other_party in cursor:
            result[id_, party, value, key_value].add(other_party)
    return result


def parties_by_contact(phones=(), emails=()):
    """Return {value: ids of the parties} for the phone numbers (E.164) and
    e-mails (lower case) given, found among the active contact mechanisms
    with the keys the duplicate warnings compare"""
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    table = Mechanism.__table__()
    cursor = Transaction().connection.cursor()
    result = defaultdict(set)
    for condition, key, values in [
            (_is_phone, _phone_key, phones),
            (_is_email, _email_key, emails)]:
        for sub_values in grouped_slice(
                sorted(set(values)), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(key(table), table.party,
                    where=key(table).in_(list(sub_values))
                    & (table.active == Literal(True))
                    & condition(table)))
            for value, party in cursor:
                result[value].add(party)
    return result


def warn_duplicates(kind, duplicates):
    """Raise a warning for the first duplicate not accepted yet.
    Its key comes from the value and the other parties, so accepting it
    leaves the warnings about other values or parties in place."""
    pool = Pool()
    Party = pool.get('party.party')
    Warning = pool.get('res.user.warning')
    for (_, party_id, value, key_value), other_ids in sorted(
            duplicates.items()):
        others = Party.browse(sorted(other_ids))
        digest = hashlib.sha256(key_value.encode('utf-8')).hexdigest()[:16]
        key = Warning.format(f'crm_customer.duplicate_{kind}.{digest}', others)
        if Warning.check(key):
            raise DuplicateWarning(key, gettext(
                    f'crm_customer.msg_duplicate_{kind}',
                    value=value,
                    party=Party(party_id).rec_name,
                    others=', '.join(p.rec_name for p in others)))


def _is_phone(table):
    return table.type.in_(PHONE_TYPES)


def _is_email(table):
    return table.type == 'email'


def _phone_key(table):
    # value_compact holds the E.164 form of the numbers that parse
    return table.value_compact


def _email_key(table):
    return Lower(table.value_compact)


def _is_tax_identifier(table):
    Party = Pool().get('party.party')
    return table.type.in_(Party.tax_identifier_types())


def _code_key(table):
    return table.code_compact


class _CheckDuplicatesMixin:
    "Check the duplicates of the records created or changed"
    __slots__ = ()
    _duplicate_fields = set()

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode == 'create' or (
                mode == 'write' and field_names & cls._duplicate_fields):
            cls.check_duplicates(records)


class ContactMechanism(_CheckDuplicatesMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t,
                (Lower(t.value_compact), Index.Equality(cardinality='high')),
                where=t.type == 'email'))

    _duplicate_fields = {'type', 'value', 'value_compact', 'party', 'active'}

    @classmethod
    def check_duplicates(cls, mechanisms):
        ids = list(map(int, mechanisms))
        warn_duplicates('phone', find_duplicates(
                cls, ids, _is_phone, _phone_key, 'value'))
        warn_duplicates('email', find_duplicates(
                cls, ids, _is_email, _email_key, 'value'))


class Identifier(_CheckDuplicatesMixin, metaclass=PoolMeta):
    __name__ = 'party.identifier'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.code_compact, Index.Equality(cardinality='high'))))

    _duplicate_fields = {'type', 'code', 'code_compact', 'party', 'active'}

    @classmethod
    def check_duplicates(cls, identifiers):
        warn_duplicates('tax_identifier', find_duplicates(
                cls, list(map(int, identifiers)), _is_tax_identifier,
                _code_key, 'code', same=['type']))


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    # In create and write rather than on_modification: the customers that
    # party.replace moves in SQL raise no warning
    @classmethod
    def create(cls, vlist):
        customers = super().create(vlist)
        cls.check_party_duplicates(customers)
        return customers

    @classmethod
    def write(cls, *args):
        super().write(*args)
        cls.check_party_duplicates([c for records, values
                in zip(args[::2], args[1::2]) if 'party' in values
                for c in records])

    @classmethod
    def check_party_duplicates(cls, customers):
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        Identifier = pool.get('party.identifier')
        party_ids = list({c.party.id for c in customers})
        if party_ids:
            ContactMechanism.check_duplicates(ContactMechanism.search(
                    [('party', 'in', party_ids)]))
            Identifier.check_duplicates(Identifier.search(
                    [('party', 'in', party_ids)]))
