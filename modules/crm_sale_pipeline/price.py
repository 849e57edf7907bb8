# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Price approval: price floors by product or category, and the approval a
quotation below them needs before it is confirmed. An approval holds only
for the lines it approved, recognised by their fingerprint."""
from collections import namedtuple
from decimal import Decimal

from sql import Null

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from .approval import ApprovalMixin
from .common import crm_manager_group, lines_fingerprint, rate_date
from .notify import group_users, notify

# What makes a quotation need approval: a line under its floor, or the
# discount of the whole quotation over the limit
Reason = namedtuple(
    'Reason', ['kind', 'line', 'product', 'quantity', 'unit', 'value',
        'limit'])


class PriceApprovalError(UserError):
    pass


class PriceFloorValidationError(ValidationError):
    pass


def line_floor(list_price, cost_price, rules):
    """Return the lowest unit price the rules allow, or None without a
    limit; each rule is a (max_discount, min_margin) pair of fractions,
    applied to the list price and over the cost price"""
    floors = []
    for max_discount, min_margin in rules:
        if max_discount is not None and list_price:
            floors.append(list_price * (1 - max_discount))
        if min_margin is not None and cost_price:
            floors.append(cost_price * (1 + min_margin))
    return max(floors) if floors else None


class PriceFloor(sequence_ordered(), ModelSQL, ModelView):
    "The lowest price a product or category is sold at without approval"
    __name__ = 'crm.sale.price_floor'

    company = fields.Many2One('company.company', "Company", required=True)
    product = fields.Many2One(
        'product.product', "Product", ondelete='CASCADE',
        states={
            'required': ~Eval('category'),
            'invisible': Bool(Eval('category')),
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="A rule of the product replaces the rules of its categories.")
    category = fields.Many2One(
        'product.category', "Category", ondelete='CASCADE',
        states={
            'required': ~Eval('product'),
            'invisible': Bool(Eval('product')),
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The rule applies to the products of the category "
        "and of its sub-categories.")
    max_discount = fields.Numeric(
        "Maximum Discount", digits=(1, 4),
        domain=['OR',
            ('max_discount', '=', None),
            [('max_discount', '>=', 0), ('max_discount', '<=', 1)],
            ],
        help="The largest discount from the list price.")
    min_margin = fields.Numeric(
        "Minimum Margin", digits=(16, 4),
        domain=['OR',
            ('min_margin', '=', None),
            ('min_margin', '>=', 0),
            ],
        help="The smallest margin over the cost price, "
        "as a fraction of the cost price.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.company, Index.Range())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def validate_fields(cls, floors, field_names):
        super().validate_fields(floors, field_names)
        for floor in floors:
            if floor.max_discount is None and floor.min_margin is None:
                raise PriceFloorValidationError(gettext(
                        'crm_sale_pipeline.msg_price_floor_empty',
                        floor=floor.rec_name))

    def get_rec_name(self, name):
        return (self.product or self.category).rec_name

    @classmethod
    def rules(cls, company_id):
        """Return the rules of the company as two dictionaries, by product
        id and by category id, of lists of (max_discount, min_margin)"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.product, table.category, table.max_discount,
                table.min_margin,
                where=table.company == company_id))
        by_product, by_category = {}, {}
        for product, category, max_discount, min_margin in cursor:
            rule = (_decimal(max_discount), _decimal(min_margin))
            if product:
                by_product.setdefault(product, []).append(rule)
            else:
                by_category.setdefault(category, []).append(rule)
        return by_product, by_category


def _decimal(value):
    # SQLite may return numbers as float
    return Decimal(str(value)) if value is not None else None


class PriceApproval(ApprovalMixin, Workflow, ModelSQL, ModelView):
    "A request to confirm a quotation at prices under the floors"
    __name__ = 'crm.sale.price_approval'
    _message_prefix = 'crm_sale_pipeline.msg_price_approval_'
    _error = PriceApprovalError

    approving_group = fields.Many2One(
        'res.group', "Approving Group", required=True, readonly=True)
    reasons = fields.One2Many(
        'crm.sale.price_approval.reason', 'approval', "Reasons",
        readonly=True)

    def get_rec_name(self, name):
        return self.sale.rec_name

    def get_approving_group(self):
        return self.approving_group


class PriceApprovalReason(ModelSQL, ModelView):
    "Why a quotation needs a price approval"
    __name__ = 'crm.sale.price_approval.reason'

    approval = fields.Many2One(
        'crm.sale.price_approval', "Approval", required=True,
        ondelete='CASCADE')
    kind = fields.Selection([
            ('line', "Line Price under the Floor"),
            ('total', "Total Discount over the Limit"),
            ], "Kind", required=True)
    line = fields.Many2One('sale.line', "Line", ondelete='SET NULL')
    product = fields.Many2One('product.product', "Product")
    quantity = fields.Float("Quantity")
    unit = fields.Many2One('product.uom', "Unit")
    value = fields.Numeric(
        "Price or Discount", digits=(16, 4),
        help="The unit price of the line or the discount of the quotation.")
    limit = fields.Numeric(
        "Floor or Limit", digits=(16, 4),
        help="The lowest unit price allowed for the line "
        "or the largest discount allowed for the quotation.")


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    price_approval_group = fields.Many2One(
        'res.group', "Price Approving Group", required=True,
        help="The members of the group approve the quotations "
        "under the price floors.")
    max_quotation_discount = fields.Numeric(
        "Maximum Quotation Discount", digits=(1, 4),
        domain=['OR',
            ('max_quotation_discount', '=', None),
            [('max_quotation_discount', '>=', 0),
                ('max_quotation_discount', '<=', 1)],
            ],
        help="The largest discount from the list prices a whole quotation "
        "gets without approval.")

    @classmethod
    def default_price_approval_group(cls):
        try:
            return crm_manager_group()
        except KeyError:
            return None


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    price_approvals = fields.One2Many(
        'crm.sale.price_approval', 'sale', "Price Approvals", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'request_price_approval': {
                    'invisible': ~Eval('state').in_(['draft', 'quotation']),
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('price_approvals', None)
        return super().copy(sales, default=default)

    def _priced_lines(self):
        "Return the (id, product, quantity, unit, unit price) of the lines"
        pool = Pool()
        Line = pool.get('sale.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.select(
                line.id, line.product, line.quantity, line.unit,
                line.unit_price,
                where=(line.sale == self.id) & (line.type == 'line'),
                order_by=[line.id]))
        return [(i, p, q, u, _decimal(up)) for i, p, q, u, up in cursor]

    def price_fingerprint(self, lines=None):
        if lines is None:
            lines = self._priced_lines()
        return lines_fingerprint(
            self.currency.id, [line[1:] for line in lines])

    def price_approval_reasons(self, lines=None):
        """Return the reasons why the quotation needs a price approval, in
        a few queries whatever its number of lines"""
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        Currency = pool.get('currency.currency')
        Uom = pool.get('product.uom')
        if lines is None:
            lines = self._priced_lines()
        company = self.company
        PriceFloor = pool.get('crm.sale.price_floor')
        by_product, by_category = PriceFloor.rules(company.id)
        max_total = Configuration(1).max_quotation_discount
        if not (by_product or by_category or max_total is not None):
            return []
        products = _product_prices(
            company.id, {l[1] for l in lines if l[1]}, bool(by_category))
        if self.currency != company.currency:
            with Transaction().set_context(date=rate_date(self)):
                rate = Currency.compute(
                    company.currency, Decimal(1), self.currency, round=False)
        else:
            rate = Decimal(1)
        uoms = {u.id: u for u in Uom.browse(
                {l[3] for l in lines if l[3]}
                | {p.default_uom for p in products.values()})}

        def in_line_unit(price, product, unit):
            if price is None or not unit:
                return price
            return Uom.compute_price(
                uoms[product.default_uom], price, uoms[unit]) * rate

        reasons = []
        listed = sold = Decimal(0)
        for line_id, product_id, quantity, unit, unit_price in lines:
            product = products.get(product_id)
            # Returns are not sales under a floor
            if (not product or unit_price is None
                    or not quantity or quantity <= 0):
                continue
            list_price = in_line_unit(product.list_price, product, unit)
            if list_price:
                listed += list_price * Decimal(str(quantity))
                sold += unit_price * Decimal(str(quantity))
            rules = by_product.get(product_id) or [
                r for c in product.categories for r in by_category.get(c, [])]
            floor = line_floor(
                list_price, in_line_unit(product.cost_price, product, unit),
                rules)
            if floor is not None and unit_price < floor:
                reasons.append(Reason('line', line_id, product_id, quantity,
                        unit, unit_price, floor))
        if max_total is not None and listed:
            discount = 1 - sold / listed
            if discount > max_total:
                reasons.append(Reason(
                        'total', None, None, None, None, discount, max_total))
        return reasons

    def approved_prices(self, fingerprint):
        "Tell if an approval holds for the lines of the fingerprint"
        return any(a.state == 'approved' and a.fingerprint == fingerprint
            for a in self.price_approvals)

    def check_price_approval(self):
        lines = self._priced_lines()
        reasons = self.price_approval_reasons(lines)
        if reasons and not self.approved_prices(
                self.price_fingerprint(lines)):
            raise PriceApprovalError(gettext(
                    'crm_sale_pipeline.msg_sale_price_approval_required',
                    sale=self.rec_name))

    @classmethod
    def confirm(cls, sales):
        # In the transition, not the view: no client nor script confirms
        # a sale at prices that were not approved
        for sale in sales:
            if sale.state == 'quotation':
                sale.check_price_approval()
        super().confirm(sales)

    @classmethod
    @ModelView.button
    def request_price_approval(cls, sales):
        pool = Pool()
        Approval = pool.get('crm.sale.price_approval')
        Configuration = pool.get('crm.configuration')
        group = Configuration(1).price_approval_group
        approvals, superseded = [], []
        for sale in sales:
            lines = sale._priced_lines()
            reasons = sale.price_approval_reasons(lines)
            if not reasons:
                raise PriceApprovalError(gettext(
                        'crm_sale_pipeline.msg_sale_price_approval_needless',
                        sale=sale.rec_name))
            fingerprint = sale.price_fingerprint(lines)
            pending = [a for a in sale.price_approvals
                if a.state == 'requested']
            if any(a.fingerprint == fingerprint for a in pending):
                continue
            superseded.extend(pending)
            approvals.append(Approval(
                    **Approval.request_values(sale, fingerprint),
                    approving_group=group,
                    reasons=[r._asdict() for r in reasons],
                    ))
        with without_check_access():
            Approval.supersede(superseded)
            Approval.save(approvals)
        for approval in approvals:
            notify(group_users(approval.approving_group), approval,
                approval.sale,
                'crm_sale_pipeline.msg_price_approval_requested',
                sale=approval.sale.rec_name)


ProductPrices = namedtuple(
    'ProductPrices', ['default_uom', 'list_price', 'cost_price',
        'categories'])


def _product_prices(company_id, product_ids, with_categories):
    """Return per product id its default unit, list and cost prices in the
    company and, when asked, the ids of its categories and their parents"""
    pool = Pool()
    Category = pool.get('product.category')
    CostPrice = pool.get('product.cost_price')
    ListPrice = pool.get('product.list_price')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    TemplateCategory = pool.get('product.template-product.category')
    product = Product.__table__()
    template = Template.__table__()
    product_list = ListPrice.__table__()
    template_list = ListPrice.__table__()
    cost = CostPrice.__table__()
    cursor = Transaction().connection.cursor()
    if not product_ids:
        return {}
    cursor.execute(*product
        .join(template, condition=product.template == template.id)
        .join(product_list, 'LEFT',
            condition=(product_list.product == product.id)
            & (product_list.company == company_id))
        .join(template_list, 'LEFT',
            condition=(template_list.template == template.id)
            & (template_list.product == Null)
            & (template_list.company == company_id))
        .join(cost, 'LEFT',
            condition=(cost.product == product.id)
            & (cost.company == company_id))
        .select(
            product.id, product.template, template.default_uom,
            product_list.list_price, template_list.list_price,
            cost.cost_price,
            where=product.id.in_(list(product_ids))))
    rows = cursor.fetchall()
    categories = {}
    if with_categories:
        template_category = TemplateCategory.__table__()
        category = Category.__table__()
        cursor.execute(*template_category.select(
                template_category.template, template_category.category,
                where=template_category.template.in_(
                    list({r[1] for r in rows}))))
        direct = {}
        for template_id, category_id in cursor:
            direct.setdefault(template_id, []).append(category_id)
        cursor.execute(*category.select(category.id, category.parent))
        parents = dict(cursor)
        for template_id, category_ids in direct.items():
            found = set()
            for category_id in category_ids:
                while category_id and category_id not in found:
                    found.add(category_id)
                    category_id = parents.get(category_id)
            categories[template_id] = found
    result = {}
    for (product_id, template_id, default_uom, product_price, template_price,
            cost_price) in rows:
        list_price = product_price if product_price is not None else (
            template_price)
        result[product_id] = ProductPrices(
            default_uom, _decimal(list_price), _decimal(cost_price),
            categories.get(template_id, set()))
    return result
