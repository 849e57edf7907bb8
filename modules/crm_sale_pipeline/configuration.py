# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    loss_reason_required = fields.Boolean(
        "Loss Reason Required",
        help="An opportunity can be marked lost only with a loss reason.")
