# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import hashlib
import json
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

# The states in which a lead, or the opportunity it became, is still worked
# on: not yet converted into quotations, nor won, lost or cancelled
OPEN_STATES = ['lead', 'opportunity']


def user_in_group(group):
    """Tell if the user of the transaction is a member of the group (a
    res.group record or id); the root user of scripts and crons is"""
    pool = Pool()
    User = pool.get('res.user')
    if Transaction().user == 0:
        return True
    return int(group) in User.get_groups()


def crm_manager_group():
    "Return the id of the CRM manager group"
    ModelData = Pool().get('ir.model.data')
    return ModelData.get_id('crm_customer', 'group_crm_manager')


def rate_date(sale):
    """Return the date of the rate that converts the amounts of the sale
    and of its company"""
    Date = Pool().get('ir.date')
    with Transaction().set_context(company=sale.company.id):
        return sale.sale_date or Date.today()


def company_employee(user, company):
    "Return the employee of the user in the company or None"
    if user.employee and user.employee.company == company:
        return user.employee
    for employee in user.employees:
        if employee.company == company:
            return employee


def _canonical(value):
    "Return an amount whatever its scale, or the value as it is"
    if isinstance(value, Decimal):
        return str(value.normalize())
    return value


def lines_fingerprint(currency_id, lines, *terms):
    """Return the fingerprint of the priced lines of a quotation: each line
    a (product id, quantity, unit id, unit price) tuple, in any order; and
    of the further terms given, ids or amounts"""
    canonical = sorted(
        [product or 0, repr(float(quantity or 0)), unit or 0,
            _canonical(Decimal(unit_price or 0))]
        for product, quantity, unit, unit_price in lines)
    data = json.dumps(
        [currency_id, canonical, *map(_canonical, terms)],
        separators=(',', ':'))
    return hashlib.sha256(data.encode()).hexdigest()
