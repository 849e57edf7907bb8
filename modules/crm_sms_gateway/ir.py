# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('crm.sms.modem|run_gateway', "Run the SMS Gateway"))
        cls.method.selection.append(
            ('crm.sms.message|remind_overdue_invoices',
                "Remind Overdue Invoices by SMS"))
