# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The organisation of key accounts, read from the party relationships:
the parent company and subsidiaries of a customer and the employer of its
contact persons."""
from collections import defaultdict

from sql import Column

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

# The parties read their company dependent values in the customer's company
_COMPANY = {
    'company': Eval('company', -1),
    }


def relation_type_id(name):
    "Return the id of a relation type the module defines"
    return Pool().get('ir.model.data').get_id('crm_customer', name)


def related_parties(party_ids, type_name):
    """Return for each party the parties it has an active relation of the
    type with, in both directions of the relations"""
    pool = Pool()
    RelationAll = pool.get('party.relation.all')
    relation = RelationAll.__table__()
    cursor = Transaction().connection.cursor()
    active = RelationAll.domain_active(
        ('active', '=', True), {None: (relation, None)})
    from_ = Column(relation, 'from_')
    type_id = relation_type_id(type_name)
    cursor.execute(*relation.select(
            from_, relation.to,
            where=fields.SQL_OPERATORS['in'](from_, list(party_ids))
            & (relation.type == type_id)
            & active,
            order_by=[from_, relation.to]))
    result = defaultdict(list)
    for party_id, related_id in cursor:
        result[party_id].append(related_id)
    return result


class RelationType(metaclass=PoolMeta):
    __name__ = 'party.relation.type'

    @classmethod
    def on_modification(cls, mode, types, field_names=None):
        super().on_modification(mode, types, field_names=field_names)
        # A relation reads both ways: the reverse of the reverse is the type
        if mode == 'delete' or (
                field_names is not None and 'reverse' not in field_names):
            return
        to_write = {}
        for type_ in types:
            if type_.reverse and not type_.reverse.reverse:
                to_write.setdefault(type_.reverse, type_)
        for reverse, type_ in to_write.items():
            cls.write([reverse], {'reverse': type_.id})


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    parent_organisation = fields.Function(
        fields.Many2One('party.party', "Parent Organisation",
            context=_COMPANY, depends={'company'},
            help="The organisation the customer is a subsidiary of."),
        'get_organisation')
    subsidiaries = fields.Function(
        fields.Many2Many('party.party', None, None, "Subsidiaries",
            context=_COMPANY, depends={'company'},
            help="The organisations the customer is the parent of."),
        'get_organisation')

    @classmethod
    def get_organisation(cls, customers, names):
        party_ids = {c.party.id for c in customers}
        result = {}
        if 'parent_organisation' in names:
            parents = related_parties(
                party_ids, 'relation_type_subsidiary_of')
            result['parent_organisation'] = {
                c.id: next(iter(parents[c.party.id]), None)
                for c in customers}
        if 'subsidiaries' in names:
            children = related_parties(party_ids, 'relation_type_parent_of')
            result['subsidiaries'] = {
                c.id: children[c.party.id] for c in customers}
        return result


class Contact(metaclass=PoolMeta):
    __name__ = 'crm.customer.contact'

    employer = fields.Function(
        fields.Many2One('party.party', "Employer",
            context=_COMPANY, depends={'company'},
            help="The organisation the person is an employee of."),
        'get_employer')

    @classmethod
    def get_employer(cls, contacts, name):
        employers = related_parties(
            {c.party.id for c in contacts}, 'relation_type_employee_of')
        return {
            c.id: next(iter(employers[c.party.id]), None) for c in contacts}
