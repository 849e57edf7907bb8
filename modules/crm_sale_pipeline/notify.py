# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Telling people that a request waits for them: a Tryton notification for
each user and, when the party of the sale or opportunity is a CRM customer
of the company, a task in the CRM activities of their employees."""
import json

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .common import company_employee


def group_users(group):
    "Return the active users who are members of the group"
    pool = Pool()
    User = pool.get('res.user')
    UserGroup = pool.get('res.user-res.group')
    user_group = UserGroup.user_group_all_table()
    cursor = Transaction().connection.cursor()
    cursor.execute(*user_group.select(
            user_group.user, where=user_group.group == group.id))
    with without_check_access():
        return User.search([('id', 'in', [u for u, in cursor])])


def employee_users(employees):
    "Return the users of each employee, whatever their current employee"
    pool = Pool()
    User = pool.get('res.user')
    users = {e: [] for e in employees}
    with without_check_access():
        for user in User.search([
                    ('employees', 'in', [e.id for e in employees]),
                    ]):
            for employee in user.employees:
                if employee in users:
                    users[employee].append(user)
    return users


def notify(users, record, about, message, due_date=None, **values):
    """Notify the users of the record, about a sale or an opportunity, with
    the message translated in the language of each one; their tasks are due
    on the date given"""
    pool = Pool()
    Activity = pool.get('crm.activity')
    Customer = pool.get('crm.customer')
    Notification = pool.get('res.notification')
    customer = []
    # A lead may have no party yet: its people get the notification only
    if about.party:
        with without_check_access():
            customer = Customer.search([
                    ('party', '=', about.party.id),
                    ('company', '=', about.company.id),
                    ], limit=1)
    notifications, tasks = [], []
    for user in users:
        language = user.language.code if user.language else None
        with Transaction().set_context(language=language):
            label = gettext(message, **values)
        notifications.append({
                'user': user.id,
                'label': label,
                'model': record.__name__,
                'records': json.dumps([record.id]),
                })
        employee = company_employee(user, about.company)
        if customer and employee:
            tasks.append({
                    'company': about.company.id,
                    'type': 'task',
                    'customer': customer[0].id,
                    'assignee': employee.id,
                    'subject': label,
                    'document': str(record),
                    'priority': 'high',
                    'due_date': due_date,
                    })
    with without_check_access():
        Notification.create(notifications)
        Activity.create(tasks)


class Activity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['crm.sale.price_approval']
