# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from sql import Literal

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction


class Customer(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    sms_opted_out = fields.Function(fields.Boolean(
            "SMS Opted Out",
            help="One of the customer's numbers asked for no marketing "
            "texts."),
        'get_sms_opted_out')

    @classmethod
    def get_sms_opted_out(cls, customers, name):
        pool = Pool()
        OptOut = pool.get('crm.sms.opt_out')
        Mechanism = pool.get('party.contact_mechanism')
        customer = cls.__table__()
        opt_out = OptOut.__table__()
        mechanism = Mechanism.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, customers), False)
        for sub_ids in grouped_slice(result, 1000):
            cursor.execute(*customer
                .join(mechanism,
                    condition=mechanism.party == customer.party)
                .join(opt_out,
                    condition=(opt_out.company == customer.company)
                    & (opt_out.number == mechanism.value_compact))
                .select(customer.id,
                    where=customer.id.in_(list(sub_ids))
                    & (opt_out.opted_out == Literal(True))
                    & mechanism.type.in_(['mobile', 'phone']),
                    group_by=[customer.id]))
            result.update((i, True) for i, in cursor)
        return result
