# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Order execution: how far the sales of an opportunity are shipped,
invoiced and paid, and the deliveries to customers that are late."""
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Count, Sum
from sql.conditionals import Case

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .links import (
    customer_moves, numeric, reference, sale_invoiced_query,
    sale_payments_query)

# The states of the sales that count as ordered
ORDERED_STATES = ['confirmed', 'processing', 'done']


class LateDelivery(ModelSQL, ModelView):
    "A delivery of a sale to its customer that is past its planned date"
    __name__ = 'crm.sale.late_delivery'

    company = fields.Many2One('company.company', "Company")
    sale = fields.Many2One('sale.sale', "Sale")
    customer = fields.Many2One(
        'party.party', "Customer",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    product = fields.Many2One(
        'product.product', "Product",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    quantity = fields.Float("Quantity", digits='unit')
    unit = fields.Many2One('product.uom', "Unit")
    planned_date = fields.Date("Planned Date")
    days_late = fields.Function(
        fields.Integer("Days Late"), 'get_days_late')
    shipment = fields.Many2One('stock.shipment.out', "Shipment")
    opportunity = fields.Many2One('sale.opportunity', "Opportunity")
    delivery_owner = fields.Many2One(
        'company.employee', "Delivery Owner",
        help="The delivery owner of the sale's opportunity.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('planned_date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        """The outgoing moves of sale lines, neither done nor cancelled,
        planned before today in the company's calendar"""
        pool = Pool()
        Date = pool.get('ir.date')
        Move = pool.get('stock.move')
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        Shipment = pool.get('stock.shipment.out')
        sale = Sale.__table__()
        opportunity = Opportunity.__table__()
        moves, move = customer_moves(sale)
        shipment = Case(
            (move.shipment.like(f'{Shipment.__name__},%'),
                Move.shipment.sql_id(move.shipment, Shipment)),
            else_=Null)
        return (moves
            .join(opportunity, 'LEFT',
                condition=sale.origin == reference(
                    Opportunity.__name__, opportunity.id))
            .select(
                move.id.as_('id'),
                sale.company.as_('company'),
                sale.id.as_('sale'),
                sale.party.as_('customer'),
                move.product.as_('product'),
                move.quantity.as_('quantity'),
                move.unit.as_('unit'),
                move.planned_date.as_('planned_date'),
                shipment.as_('shipment'),
                opportunity.id.as_('opportunity'),
                opportunity.delivery_owner.as_('delivery_owner'),
                where=~move.state.in_(['done', 'cancelled'])
                & (move.planned_date < Date.today())))

    def get_days_late(self, name):
        pool = Pool()
        Date = pool.get('ir.date')
        return (Date.today() - self.planned_date).days


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    sale_count = fields.Function(fields.Integer(
            "Sales", help="The sales of the opportunity not cancelled."),
        'get_progress')
    ordered_amount = fields.Function(Monetary(
            "Ordered", currency='currency', digits='currency',
            help="The total, taxes included, of the confirmed sales."),
        'get_progress')
    shipped_ratio = fields.Function(fields.Float(
            "Shipped", digits=(1, 4),
            help="The share of the quantities to deliver to the customer "
            "that are delivered."),
        'get_progress')
    invoiced_amount = fields.Function(Monetary(
            "Invoiced", currency='currency', digits='currency',
            help="What the posted invoices of the sales ask the customer "
            "to pay."),
        'get_progress')
    paid_amount = fields.Function(Monetary(
            "Paid", currency='currency', digits='currency',
            help="What the customer paid on the invoices of the sales."),
        'get_progress')
    late_delivery_count = fields.Function(fields.Integer(
            "Late Deliveries",
            help="The deliveries of the sales past their planned date."),
        'get_progress')

    @classmethod
    def get_progress(cls, opportunities, names):
        """Compute the progress of the sales of the opportunities in a few
        queries per slice, whatever their number"""
        pool = Pool()
        LateDelivery = pool.get('crm.sale.late_delivery')
        Sale = pool.get('sale.sale')
        cursor = Transaction().connection.cursor()
        result = {n: {} for n in names}
        for sub_opportunities in grouped_slice(
                opportunities, backend.MAX_QUERY_PARAMS):
            by_origin = {f'{cls.__name__},{o.id}': o
                for o in sub_opportunities}
            origins = list(by_origin)
            sale = Sale.__table__()
            sales = sale.select(sale.id, where=sale.origin.in_(origins))
            values = defaultdict(dict)

            cursor.execute(*sale.select(sale.origin,
                    Count(sale.id, filter_=sale.state != 'cancelled'),
                    Sum(numeric(sale.total_amount_cache),
                        filter_=sale.state.in_(ORDERED_STATES)),
                    where=sale.origin.in_(origins),
                    group_by=[sale.origin]))
            for origin, count, ordered in cursor:
                values[origin].update(
                    sale_count=count, ordered_amount=ordered)

            for name, query in [
                    ('invoiced_amount', sale_invoiced_query(sales)),
                    ('paid_amount', sale_payments_query(sales)),
                    ]:
                if name not in names:
                    continue
                amount_sale = Sale.__table__()
                cursor.execute(*query
                    .join(amount_sale, condition=query.sale == amount_sale.id)
                    .select(amount_sale.origin, Sum(query.amount),
                        group_by=[amount_sale.origin]))
                for origin, amount in cursor:
                    values[origin][name] = amount

            if 'shipped_ratio' in names:
                for origin, ratio in cls._shipped_ratios(origins):
                    values[origin]['shipped_ratio'] = ratio

            if 'late_delivery_count' in names:
                late = LateDelivery.table_query()
                cursor.execute(*late.select(late.opportunity, Count(late.id),
                        where=late.opportunity.in_(
                            [o.id for o in by_origin.values()]),
                        group_by=[late.opportunity]))
                for opportunity_id, count in cursor:
                    values[f'{cls.__name__},{opportunity_id}'][
                        'late_delivery_count'] = count

            for origin, opportunity in by_origin.items():
                for name in names:
                    value = values[origin].get(name)
                    if name.endswith('_amount'):
                        value = opportunity.currency.round(
                            Decimal(str(value or 0)))
                    elif name.endswith('_count'):
                        value = value or 0
                    result[name][opportunity.id] = value
        return result

    @classmethod
    def _shipped_ratios(cls, origins):
        """Yield the origin of the sales and the share of the quantities
        sent to the customers that are delivered"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        sale = Sale.__table__()
        moves, move = customer_moves(sale)
        cursor = Transaction().connection.cursor()
        cursor.execute(*moves.select(sale.origin,
                Sum(move.internal_quantity, filter_=move.state == 'done'),
                Sum(move.internal_quantity),
                where=sale.origin.in_(origins)
                & (move.state != 'cancelled'),
                group_by=[sale.origin]))
        for origin, done, total in cursor:
            yield origin, (done or 0) / total if total else None
