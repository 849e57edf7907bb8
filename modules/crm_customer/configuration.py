# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from trytond.cache import Cache
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pyson import Eval


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'crm.configuration'

    phone_country = fields.Many2One(
        'country.country', "Default Phone Country",
        help="The country used to read phone numbers written "
        "without an international prefix.")
    lifecycle_new_days = fields.Integer(
        "New Customer Days", required=True,
        domain=[('lifecycle_new_days', '>', 0)],
        help="A customer whose first purchase is more recent is new.")
    lifecycle_loyal_window_days = fields.Integer(
        "Loyalty Window Days", required=True,
        domain=[('lifecycle_loyal_window_days', '>', 0)])
    lifecycle_loyal_purchases = fields.Integer(
        "Loyal Purchases", required=True,
        domain=[('lifecycle_loyal_purchases', '>', 0)],
        help="The number of purchases within the loyalty window "
        "that makes a customer loyal.")
    lifecycle_at_risk_days = fields.Integer(
        "At Risk Days", required=True,
        domain=[('lifecycle_at_risk_days', '>', 0)],
        help="Days without purchase after which a customer is at risk.")
    lifecycle_dormant_days = fields.Integer(
        "Dormant Days", required=True,
        domain=[('lifecycle_dormant_days', '>', Eval('lifecycle_at_risk_days', 0))],
        help="Days without purchase nor activity "
        "after which a customer is dormant.")
    lifecycle_lost_days = fields.Integer(
        "Lost Days", required=True,
        domain=[('lifecycle_lost_days', '>', Eval('lifecycle_dormant_days', 0))],
        help="Days without purchase nor activity "
        "after which a customer is lost.")

    _phone_country_cache = Cache(
        'crm.configuration.phone_country_code', context=False)

    @classmethod
    def create(cls, vlist):
        cls._phone_country_cache.clear()
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        cls._phone_country_cache.clear()
        super().write(*args)

    @classmethod
    def default_lifecycle_new_days(cls):
        return 90

    @classmethod
    def default_lifecycle_loyal_window_days(cls):
        return 365

    @classmethod
    def default_lifecycle_loyal_purchases(cls):
        return 6

    @classmethod
    def default_lifecycle_at_risk_days(cls):
        return 120

    @classmethod
    def default_lifecycle_dormant_days(cls):
        return 365

    @classmethod
    def default_lifecycle_lost_days(cls):
        return 730

    @classmethod
    def phone_country_code(cls):
        "Return the code of the default phone country or None"
        code = cls._phone_country_cache.get(None, -1)
        if code == -1:
            configuration = cls(1)
            code = (configuration.phone_country.code
                if configuration.phone_country else None)
            cls._phone_country_cache.set(None, code)
        return code
