# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Value tiers and lifecycle stages, recomputed in SQL from accounting."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Literal, Null, Window
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.operators import Exists

from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .activity import company_midnight
from .customer import forget_cached_records

SERVICE_LEVELS = [
    ('standard', "Standard"),
    ('priority', "Priority"),
    ('premium', "Premium"),
    ]


class Tier(sequence_ordered(), DeactivableMixin, ModelSQL, ModelView):
    "A value tier and the policy its customers get"
    __name__ = 'crm.tier'

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    cumulative_share = fields.Numeric(
        "Cumulative Share", digits=(1, 4), required=True,
        domain=[
            ('cumulative_share', '>', 0),
            ('cumulative_share', '<=', 1),
            ],
        help="The customers ranked by value whose cumulative share of the "
        "total, before them, is under this ratio belong to the tier "
        "(for example 0.8 for the customers who make the first 80%).")
    minimum_amount = fields.Numeric(
        "Minimum Amount", digits=(16, 2),
        help="The least value over the window a customer needs.")
    payment_term = fields.Many2One(
        'account.invoice.payment_term', "Payment Term",
        help="The payment term new sales of the customers get.")
    service_level = fields.Selection(
        SERVICE_LEVELS, "Service Level", required=True,
        help="The level of service the customers get.")
    description = fields.Text("Description", translate=True)

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_service_level(cls):
        return 'standard'

    @classmethod
    def default_cumulative_share(cls):
        return Decimal(1)


class CustomerClassification(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    tier = fields.Many2One(
        'crm.tier', "Tier", readonly=True,
        help="The manual tier if any, else the computed one.")
    computed_tier = fields.Many2One(
        'crm.tier', "Computed Tier", readonly=True)
    manual_tier = fields.Many2One(
        'crm.tier', "Manual Tier",
        domain=[('company', '=', Eval('company', -1))],
        help="Overrides the computed tier.")
    manual_tier_reason = fields.Text(
        "Override Reason",
        states={
            'required': Bool(Eval('manual_tier')),
            'invisible': ~Eval('manual_tier'),
            })
    manual_tier_user = fields.Many2One(
        'res.user', "Overridden By", readonly=True,
        states={'invisible': ~Eval('manual_tier')})
    manual_tier_date = fields.DateTime(
        "Overridden On", readonly=True,
        states={'invisible': ~Eval('manual_tier')})
    tier_amount = fields.Numeric(
        "Value over the Window", digits=(16, 2), readonly=True)
    tier_share = fields.Numeric(
        "Cumulative Share", digits=(1, 4), readonly=True,
        help="The share of the total value of the customers ranked "
        "before this one.")
    first_purchase_date = fields.Date("First Purchase", readonly=True)
    last_purchase_date = fields.Date("Last Purchase", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'update_classification_button': {
                    'icon': 'tryton-refresh',
                    },
                })

    @classmethod
    def create(cls, vlist):
        vlist = [cls._with_manual_tier_audit(v) for v in vlist]
        for values in vlist:
            values.setdefault('tier', values.get('manual_tier'))
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        args = list(args)
        for i in range(1, len(args), 2):
            args[i] = cls._with_manual_tier_audit(args[i])
        super().write(*args)
        if any('manual_tier' in v for v in args[1::2]):
            customers = sum(args[::2], [])
            cls._update_effective_tier(customers)

    @classmethod
    def _with_manual_tier_audit(cls, values):
        "Record who overrode the tier and when"
        if 'manual_tier' not in values:
            return values
        values = values.copy()
        if values['manual_tier']:
            values['manual_tier_user'] = Transaction().user
            values['manual_tier_date'] = dt.datetime.now()
        else:
            values.update(
                manual_tier_user=None, manual_tier_date=None,
                manual_tier_reason=None)
        return values

    @classmethod
    def copy(cls, customers, default=None):
        default = default.copy() if default is not None else {}
        for name in ['tier', 'computed_tier', 'manual_tier',
                'manual_tier_reason', 'manual_tier_user', 'manual_tier_date',
                'tier_amount', 'tier_share', 'first_purchase_date',
                'last_purchase_date']:
            default.setdefault(name)
        return super().copy(customers, default=default)

    @classmethod
    @ModelView.button
    def update_classification_button(cls, customers):
        companies = {c.company for c in customers}
        for company in companies:
            cls.update_classification(company)

    @classmethod
    def cron_update_classification(cls):
        "Recompute tiers and lifecycle stages of every customer"
        pool = Pool()
        Company = pool.get('company.company')
        company_id = Transaction().context.get('company')
        companies = [Company(company_id)] if company_id else Company.search([])
        for company in companies:
            cls.update_classification(company)

    @classmethod
    def update_classification(cls, company):
        "Recompute the tiers and lifecycle stages of the company's customers"
        with Transaction().set_context(company=company.id):
            cls._update_computed_tier(company)
            cls._update_effective_tier(company=company)
            cls._update_lifecycle(company)
        forget_cached_records(cls)

    @classmethod
    def _posted_invoice_amounts(cls, company, date_from=None):
        """Return a query of the company's posted customer invoices with their
        party, date, untaxed amount and margin at the current cost price"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        CostPrice = pool.get('product.cost_price')
        invoice = Invoice.__table__()
        line = Line.__table__()
        cost_price = CostPrice.__table__()
        where = ((invoice.company == company.id)
            & (invoice.type == 'out')
            & invoice.state.in_(['posted', 'paid'])
            & (line.type == 'line'))
        if date_from:
            where &= invoice.invoice_date >= date_from
        quantity = Coalesce(line.quantity, 0)
        amount = quantity * Coalesce(line.unit_price, 0)
        cost = quantity * Coalesce(cost_price.cost_price, 0)
        return (invoice
            .join(line, condition=line.invoice == invoice.id)
            .join(cost_price, 'LEFT',
                condition=(cost_price.product == line.product)
                & (cost_price.company == invoice.company))
            .select(
                invoice.party.as_('party'),
                invoice.invoice_date.as_('date'),
                Sum(amount).as_('amount'),
                Sum(amount - cost).as_('margin'),
                where=where,
                group_by=[invoice.id, invoice.party, invoice.invoice_date]))

    @classmethod
    def _update_computed_tier(cls, company):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        Tier = pool.get('crm.tier')
        Date = pool.get('ir.date')
        configuration = Configuration(1)
        cursor = Transaction().connection.cursor()
        customer = cls.__table__()

        date_from = Date.today() - relativedelta(
            months=configuration.tier_window_months)
        invoices = cls._posted_invoice_amounts(company, date_from)
        value = Sum(getattr(invoices, configuration.tier_measure))
        per_party = invoices.select(
            invoices.party, value.as_('value'),
            group_by=[invoices.party],
            having=value > 0)
        ranking = Window([], order_by=[per_party.value.desc, per_party.party],
            frame='ROWS', start=None, end=0)
        ranked = per_party.select(
            per_party.party, per_party.value,
            # 1.0 keeps SQLite from dividing integers
            ((Sum(per_party.value, window=ranking) - per_party.value) * 1.0
                / Sum(per_party.value, window=Window([]))).as_('share'))

        tiers = Tier.search([('company', '=', company.id)], order=[
                ('sequence', 'ASC NULLS LAST'), ('id', 'ASC')])
        conditions = []
        for tier in tiers:
            # float parameters: SQLite compares a Decimal as text
            condition = ranked.share < float(tier.cumulative_share)
            if tier.minimum_amount:
                condition &= ranked.value >= float(tier.minimum_amount)
            conditions.append((condition, tier.id))
        computed = Case(*conditions, else_=Null) if conditions else Null

        cursor.execute(*customer.update(
                [customer.computed_tier, customer.tier_amount,
                    customer.tier_share],
                [computed, ranked.value, ranked.share],
                from_=[ranked],
                where=(customer.party == ranked.party)
                & (customer.company == company.id)))
        cursor.execute(*customer.update(
                [customer.computed_tier, customer.tier_amount,
                    customer.tier_share],
                [Null, Null, Null],
                where=(customer.company == company.id)
                & ~customer.party.in_(per_party.select(per_party.party))
                & ((customer.computed_tier != Null)
                    | (customer.tier_amount != Null))))

    @classmethod
    def _update_effective_tier(cls, customers=None, company=None):
        """Set the tier to the manual one or else the computed one and apply
        the policy of the new tier to the customers whose tier changed"""
        cursor = Transaction().connection.cursor()
        customer = cls.__table__()
        effective = Coalesce(customer.manual_tier, customer.computed_tier)
        changed = ((customer.tier != effective)
            | ((customer.tier == Null) != (effective == Null)))
        if company:
            scopes = [customer.company == company.id]
        else:
            scopes = [customer.id.in_([c.id for c in sub])
                for sub in grouped_slice(customers, 1000)]
        changed_ids = []
        for scope in scopes:
            cursor.execute(*customer.select(
                    customer.id, where=scope & changed))
            changed_ids.extend(r for r, in cursor)
            cursor.execute(*customer.update(
                    [customer.tier], [effective], where=scope & changed))
        if changed_ids:
            forget_cached_records(cls)
            cls._apply_tier_policy(changed_ids)

    @classmethod
    def _apply_tier_policy(cls, customer_ids):
        """Apply to the customers of the ids the policy of their new tier;
        they may be all the customers: read them in SQL or by slices"""

    @classmethod
    def _update_lifecycle(cls, company):
        pool = Pool()
        Activity = pool.get('crm.activity')
        Configuration = pool.get('crm.configuration')
        Date = pool.get('ir.date')
        configuration = Configuration(1)
        cursor = Transaction().connection.cursor()
        customer = cls.__table__()
        today = Date.today()

        def days_ago(days):
            return today - dt.timedelta(days=days)

        invoices = cls._posted_invoice_amounts(company)
        purchases = invoices.select(
            invoices.party,
            Min(invoices.date).as_('first'),
            Max(invoices.date).as_('last'),
            Count(Case((invoices.date >= days_ago(
                                configuration.lifecycle_loyal_window_days),
                        Literal(1)))).as_('recent'),
            where=invoices.amount > 0,
            group_by=[invoices.party])
        activity = Activity.__table__()

        def silent_since(days):
            "No purchase nor done activity since so many days"
            since = days_ago(days)
            return (purchases.last < since) & ~Exists(activity.select(
                    Literal(1),
                    where=(activity.customer == customer.id)
                    & (activity.state == 'done')
                    & (activity.start >= company_midnight(company, since))))
        stage = Case(
            (silent_since(configuration.lifecycle_lost_days), 'lost'),
            (silent_since(configuration.lifecycle_dormant_days), 'dormant'),
            (purchases.last < days_ago(configuration.lifecycle_at_risk_days),
                'at_risk'),
            (purchases.first >= days_ago(configuration.lifecycle_new_days),
                'new'),
            (purchases.recent >= configuration.lifecycle_loyal_purchases,
                'loyal'),
            else_='active')
        cursor.execute(*customer.update(
                [customer.first_purchase_date, customer.last_purchase_date,
                    customer.lifecycle_stage],
                [purchases.first, purchases.last, stage],
                from_=[purchases],
                where=(customer.party == purchases.party)
                & (customer.company == company.id)))
        cursor.execute(*customer.update(
                [customer.first_purchase_date, customer.last_purchase_date,
                    customer.lifecycle_stage],
                [Null, Null, 'prospect'],
                where=(customer.company == company.id)
                & ~customer.party.in_(purchases.select(purchases.party))
                & ((customer.lifecycle_stage != 'prospect')
                    | (customer.last_purchase_date != Null))))


class ConfigurationClassification(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    tier_window_months = fields.Integer(
        "Tier Window Months", required=True,
        domain=[('tier_window_months', '>', 0)],
        help="The number of months of invoices that rank customers.")
    tier_measure = fields.Selection([
            ('amount', "Revenue"),
            ('margin', "Margin"),
            ], "Tier Measure", required=True,
        help="What ranks customers into tiers.")

    @classmethod
    def default_tier_window_months(cls):
        return 12

    @classmethod
    def default_tier_measure(cls):
        return 'amount'


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    @fields.depends('party', 'company')
    def _crm_customer(self):
        pool = Pool()
        Customer = pool.get('crm.customer')
        if self.party and self.company:
            # The policy applies whoever types the sale
            with without_check_access():
                customers = Customer.search([
                        ('party', '=', self.party.id),
                        ('company', '=', self.company.id),
                        ], limit=1)
            if customers:
                return customers[0]

    @fields.depends(methods=['_crm_customer'])
    def on_change_party(self):
        super().on_change_party()
        customer = self._crm_customer()
        if customer and customer.tier:
            self._apply_tier_policy(customer.tier)

    def _apply_tier_policy(self, tier):
        if tier.payment_term:
            self.payment_term = tier.payment_term


class TierCreditLimit(metaclass=PoolMeta):
    __name__ = 'crm.tier'

    credit_limit_amount = fields.Numeric(
        "Credit Limit", digits=(16, 2),
        help="The credit limit given to the customers entering the tier.")


class CustomerCreditLimit(metaclass=PoolMeta):
    __name__ = 'crm.customer'

    @classmethod
    def _apply_tier_policy(cls, customer_ids):
        pool = Pool()
        Party = pool.get('party.party')
        Tier = pool.get('crm.tier')
        super()._apply_tier_policy(customer_ids)
        customer = cls.__table__()
        tier = Tier.__table__()
        cursor = Transaction().connection.cursor()
        by_tier = defaultdict(list)
        for sub_ids in grouped_slice(customer_ids, 1000):
            cursor.execute(*customer
                .join(tier, condition=customer.tier == tier.id)
                .select(customer.tier, customer.party,
                    where=customer.id.in_(list(sub_ids))
                    & (tier.credit_limit_amount != Null)))
            for tier_id, party_id in cursor:
                by_tier[tier_id].append(party_id)
        for tier_id, party_ids in by_tier.items():
            new_tier = Tier(tier_id)
            with Transaction().set_context(company=new_tier.company.id):
                # Browsing costs the square of the records browsed at once
                for sub_ids in grouped_slice(party_ids, 100):
                    Party.write(Party.browse(sub_ids),
                        {'credit_limit_amount': new_tier.credit_limit_amount})


class TierPriceList(metaclass=PoolMeta):
    __name__ = 'crm.tier'

    sale_price_list = fields.Many2One(
        'product.price_list', "Sale Price List",
        domain=[('company', 'in', [Eval('company', -1), None])],
        help="The price list new sales of the customers use.")


class SalePriceList(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    def _apply_tier_policy(self, tier):
        super()._apply_tier_policy(tier)
        if tier.sale_price_list:
            self.price_list = tier.sale_price_list
